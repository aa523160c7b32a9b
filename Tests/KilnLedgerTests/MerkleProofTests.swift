// RFC 9162 §2.1.3 / §2.1.4 proofs against Certificate Transparency's published vectors and an independent
// Python implementation (reference/merkle_reference.py, hashlib only), plus exhaustive self-consistency.
import Crypto
import Foundation
import KilnLedger
import Testing

@Suite("RFC 9162 Merkle proofs")
struct MerkleProofTests {
    // MARK: - Certificate Transparency reference vectors

    /// The eight leaf inputs of CT's reference tests (RFC 6962 test data, as in transparency-dev/merkle
    /// `testonly` and certificate-transparency-go), and their published roots for sizes 1…8.
    static let ctInputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"].map { Hex.decode($0) ?? [] }
    static let ctRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    @Test("MerkleLog roots match CT's published roots for sizes 1…8")
    func ctRootsMatch() throws {
        let log = try MerkleLog(leafHashes: Self.ctInputs.map { MerkleTree.leafHash($0) })
        for size in 1...8 { #expect(Hex.encode(try log.root(size: size)) == Self.ctRoots[size - 1], "size \(size)") }
    }

    @Test("CT's published inclusion and consistency proofs")
    func ctProofs() throws {
        let log = try MerkleLog(leafHashes: Self.ctInputs.map { MerkleTree.leafHash($0) })
        #expect(try log.inclusionProof(index: 0, size: 8).map { Hex.encode($0) } == [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
        #expect(try log.inclusionProof(index: 5, size: 8).map { Hex.encode($0) } == [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        #expect(try log.consistencyProof(first: 6, second: 8).map { Hex.encode($0) } == [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        #expect(try log.consistencyProof(first: 2, second: 5).map { Hex.encode($0) } == [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ])
        #expect(try log.consistencyProof(first: 1, second: 8) == log.inclusionProof(index: 0, size: 8))
    }

    // MARK: - Vectors from reference/merkle_reference.py

    /// Leaf i has input SHA-256("leaf i") (an entry hash stand-in), as `kiln ledger dump-proofs` uses.
    static func leafHashes(_ count: Int) -> [[UInt8]] {
        (0..<count).map { MerkleTree.leafHash(Array(SHA256.hash(data: Array("leaf \($0)".utf8)))) }
    }

    /// `python3 reference/merkle_reference.py` output: (size, root).
    static let pythonRoots: [(Int, String)] = [
        (1, "31d82f8c2c1211c119bc7352c5688f177e9b25b5162483c5b571fa3eece8b3a3"),
        (2, "34959128c8eb35cc38a329af9116b54ef78c6b044d0687478eab65e4b70078bb"),
        (3, "06e2e1946f3b546e28fec6b7d571e36753bbe5350e820315f0cb6945ec3ead03"),
        (7, "57dcab2f563f05fd1b21790b36878b1b650d42da41bfa232214fe921f9074927"),
        (8, "700406c14c95838d3bfb99be7fc508927d8c4549fd1fa1c9b527ab29aa48478e"),
        (13, "89c90bf1951a52a8993f2a8f4cc17852d9464acb9946a0f19a08ef3cde89a924"),
        (300, "6e256039c4a7614377775160e7bcad05a118939141a08d36f127633259794766"),
    ]

    /// (index, size, audit path) from the same run.
    static let pythonInclusion: [(Int, Int, [String])] = [
        (0, 1, []),
        (0, 2, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6"]),
        (1, 2, ["31d82f8c2c1211c119bc7352c5688f177e9b25b5162483c5b571fa3eece8b3a3"]),
        (2, 3, ["34959128c8eb35cc38a329af9116b54ef78c6b044d0687478eab65e4b70078bb"]),
        (0, 7, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6", "bd6f21503a978888f26e40bc3a5a0d2d9fdd118e5de036c76a04b302abe55dee", "af4f7df729470f0be2473bfbc1e45312fd83f79306f14391e6b3014309787048"]),
        (3, 7, ["1836dab6ed1e36096bea656bb07764e1e03a64aeadbb7033da8a59c2de9ee78a", "34959128c8eb35cc38a329af9116b54ef78c6b044d0687478eab65e4b70078bb", "af4f7df729470f0be2473bfbc1e45312fd83f79306f14391e6b3014309787048"]),
        (6, 7, ["5a746a11c9005e931fb9d96a959e1ffb403664719a57b365cc7d548c9293a0dd", "148466cbc58d477034e1ad9582c65a11d2c372f97c189927fa22f9f0dc0593eb"]),
        (5, 8, ["039df592b68e96465c0e6633b2f87ca739048786ff87303a99a73d22cb3031c6", "ed64c9bae9923abb1898beceefbf901a8d820fd0317c3037f8c1f7c1679c627d", "148466cbc58d477034e1ad9582c65a11d2c372f97c189927fa22f9f0dc0593eb"]),
        (9, 13, ["30fb0b48576350398ed430a9ca07672effdf3419415f3bfcf624652bab3183ff", "eedcac9cb4c3bd164d816cbf059fe398f91558d8162991c3b7875671e02fca59", "b264818210ea001d6cc324098df8d31b821ac56ab9711eab48b8263b85416579", "700406c14c95838d3bfb99be7fc508927d8c4549fd1fa1c9b527ab29aa48478e"]),
        (12, 13, ["f416e0b9e858e5cd7f87efe1bc9479781bab99a4b487a348f308a0ab9a7e0bc2", "700406c14c95838d3bfb99be7fc508927d8c4549fd1fa1c9b527ab29aa48478e"]),
        (0, 300, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6", "bd6f21503a978888f26e40bc3a5a0d2d9fdd118e5de036c76a04b302abe55dee", "e3d9b39269aa0dfb240bb55c8dbfd94ea9a36f2b1cdfc245ccaa7f336af36246", "72381b38347e09d1113c84d4e1f72a197b776af1de2cd8858c41d425effce609", "5c6d003460173a083f57dc2eca94adc6479ec92587c91cb33f9185838986f111", "4ca3b634de495713a2d69dd0b93d57d71569445ffd48fdfe2f67f8c3077494ab", "413afb10954950f06f576ac6516a57fd601659563cea76f24d71036f34542204", "36fe142c91e08b7289bdb9be86deccae8c4c6a2c45c4c5c37585b1837969eb94", "627bb478edfb0b4017ab4c46889cf43bd421dc5f7922b776f82a33ec2100e8e8"]),
        (255, 300, ["b4cc7d6d9a7ab83d49a4fe8eb3a66fcfdf73b2bee29f80e7a7e3b8bef9c92d46", "244d48563256a34d24f94ecfe04a66722737b8a422ef3c38641f41e72c5c7f61", "8b069c5f469c130de47eb0f278ff5fc996ec501d7a48e435255de28f29ad8e91", "3049ffd529b36566223b4188dd551349c30bd27a7ab4f254b347826e57a77eeb", "90766372a7701c8844dc7743106f1ce0884a1500a6512212a9471d23bf19dfbb", "edeecb3dbde320288a064dd87bba6250ea45f0a3b65552a9c7aec94e7c5ce0e6", "8de65a835e0c77a633d13bc914fe089ffad332c5da77644076d4f2ecdcfc6e7b", "015ccab80b2750fa8f2bf0a8fcd264bf3b5f74b1c3f98a8167d272342d3f9da6", "627bb478edfb0b4017ab4c46889cf43bd421dc5f7922b776f82a33ec2100e8e8"]),
        (256, 300, ["89a4b87aa8d385b184d6b241243cadbb26e4ab6a82b7fb87b4107186a19832f4", "2062ceed100e82ff167e334ac6d064e5ae202cab421702e932481182fd988a98", "28ce92f08b08b2fed16ff38de9fa69c316b7629349c083214c128c3d83d6ff37", "977f4a489b5a1d5abef52c097304f2e01a657ba0dab4e51c42c3525c41e0a5ba", "6ea39c516f81dd957100ea223c1eb73f16482214999ba5e238c34e9d4927ef72", "4b3f3aeffe8a1ea6d92d367a0590e152a78f6489b52e7499f41346a7ed0a0961", "151cff8c32b511863456fde3b99ce6c56ba9386ca90e631021afb91a5d495ffc"]),
        (299, 300, ["8c48b62a123d68f865f0e7d8ac6fb61d8bb38a23bd6850bff67f203c237188fe", "48749c1411ebd8cd753d33f5cf9d743a78529adc317be6e52a75c9030e7efc74", "079aec984fe89cffef4d1663d89a8cafd79ea1a0f5d3629904af136d30aeac04", "cb3d9ae92615f3c5e4de7c9f2bb21d8e57e822927344730f3df6eef8546cc434", "151cff8c32b511863456fde3b99ce6c56ba9386ca90e631021afb91a5d495ffc"]),
    ]

    /// (first, second, consistency proof) from the same run.
    static let pythonConsistency: [(Int, Int, [String])] = [
        (1, 1, []),
        (1, 2, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6"]),
        (1, 3, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6", "1836dab6ed1e36096bea656bb07764e1e03a64aeadbb7033da8a59c2de9ee78a"]),
        (2, 3, ["1836dab6ed1e36096bea656bb07764e1e03a64aeadbb7033da8a59c2de9ee78a"]),
        (3, 7, ["1836dab6ed1e36096bea656bb07764e1e03a64aeadbb7033da8a59c2de9ee78a", "f99610c7caae17dd087cbdeb434fdf71e0ce721b243c90c1167f7a482425cd03", "34959128c8eb35cc38a329af9116b54ef78c6b044d0687478eab65e4b70078bb", "af4f7df729470f0be2473bfbc1e45312fd83f79306f14391e6b3014309787048"]),
        (4, 7, ["af4f7df729470f0be2473bfbc1e45312fd83f79306f14391e6b3014309787048"]),
        (6, 8, ["5a746a11c9005e931fb9d96a959e1ffb403664719a57b365cc7d548c9293a0dd", "ed64c9bae9923abb1898beceefbf901a8d820fd0317c3037f8c1f7c1679c627d", "148466cbc58d477034e1ad9582c65a11d2c372f97c189927fa22f9f0dc0593eb"]),
        (7, 13, ["e8745960918ae9ee5b61277ef81fc4759efa47d9b3c89edd14225a4b01724f40", "0420b10a9648f91125523ad9bcfe5203fd2eb2c8c28d446e85679abc9f8057c2", "5a746a11c9005e931fb9d96a959e1ffb403664719a57b365cc7d548c9293a0dd", "148466cbc58d477034e1ad9582c65a11d2c372f97c189927fa22f9f0dc0593eb", "586cf864900d3b7c3dc79760adf3a726772516651c81e3b06fea0e1825e0cd95"]),
        (8, 13, ["586cf864900d3b7c3dc79760adf3a726772516651c81e3b06fea0e1825e0cd95"]),
        (1, 300, ["267e67be1781861227f1de43addb637374da8002da0ae295b1038cbe340ac8b6", "bd6f21503a978888f26e40bc3a5a0d2d9fdd118e5de036c76a04b302abe55dee", "e3d9b39269aa0dfb240bb55c8dbfd94ea9a36f2b1cdfc245ccaa7f336af36246", "72381b38347e09d1113c84d4e1f72a197b776af1de2cd8858c41d425effce609", "5c6d003460173a083f57dc2eca94adc6479ec92587c91cb33f9185838986f111", "4ca3b634de495713a2d69dd0b93d57d71569445ffd48fdfe2f67f8c3077494ab", "413afb10954950f06f576ac6516a57fd601659563cea76f24d71036f34542204", "36fe142c91e08b7289bdb9be86deccae8c4c6a2c45c4c5c37585b1837969eb94", "627bb478edfb0b4017ab4c46889cf43bd421dc5f7922b776f82a33ec2100e8e8"]),
        (100, 300, ["337ef81a809f8bb25e3c4d1b3eba20e224ab64de85567efd8287ce7e5b43369f", "1305fc868628e66382b8c740cdf2089f3aa0fd848165f51cd22975804c11a347", "3806eb1148157b54e8e1676fff25a2eab79030ddfc7078686a8776d5c95a68fd", "b60a8770f01abb738a2ed88f0123d5bfbe54be71aafe6270978d6c2d66f83649", "9952d2984ad7215691a3eb608a1d5360c1b627d2d75bcd361b95b12a0ad39847", "377fe71cca169b8071fe3d9868c61ab4c4fcbb2a838c08f1634660b7e80203f9", "36fe142c91e08b7289bdb9be86deccae8c4c6a2c45c4c5c37585b1837969eb94", "627bb478edfb0b4017ab4c46889cf43bd421dc5f7922b776f82a33ec2100e8e8"]),
        (256, 300, ["627bb478edfb0b4017ab4c46889cf43bd421dc5f7922b776f82a33ec2100e8e8"]),
        (299, 300, ["8c48b62a123d68f865f0e7d8ac6fb61d8bb38a23bd6850bff67f203c237188fe", "e108ed59f689f728ac11968245562f689a80e1f58d9b3fccc313b5441fc660ec", "48749c1411ebd8cd753d33f5cf9d743a78529adc317be6e52a75c9030e7efc74", "079aec984fe89cffef4d1663d89a8cafd79ea1a0f5d3629904af136d30aeac04", "cb3d9ae92615f3c5e4de7c9f2bb21d8e57e822927344730f3df6eef8546cc434", "151cff8c32b511863456fde3b99ce6c56ba9386ca90e631021afb91a5d495ffc"]),
    ]

    @Test("Roots match the Python reference", arguments: pythonRoots)
    func rootsMatchPython(size: Int, expected: String) throws {
        let leaves = Self.leafHashes(size)
        #expect(Hex.encode(try MerkleLog(leafHashes: leaves).root(size: size)) == expected)
        #expect(Hex.encode(MerkleTree.root(leafHashes: leaves)) == expected)
    }

    @Test("Inclusion proofs match the Python reference", arguments: pythonInclusion)
    func inclusionMatchesPython(index: Int, size: Int, expected: [String]) throws {
        let leaves = Self.leafHashes(size)
        let log = try MerkleLog(leafHashes: Self.leafHashes(300))
        #expect(try log.inclusionProof(index: index, size: size).map { Hex.encode($0) } == expected)
        #expect(try MerkleTree.inclusionProof(index: index, leafHashes: leaves).map { Hex.encode($0) } == expected)
    }

    @Test("Consistency proofs match the Python reference", arguments: pythonConsistency)
    func consistencyMatchesPython(first: Int, second: Int, expected: [String]) throws {
        let log = try MerkleLog(leafHashes: Self.leafHashes(300))
        #expect(try log.consistencyProof(first: first, second: second).map { Hex.encode($0) } == expected)
        let leaves = Self.leafHashes(second)
        #expect(try MerkleTree.consistencyProof(first: first, leafHashes: leaves).map { Hex.encode($0) } == expected)
    }
}
