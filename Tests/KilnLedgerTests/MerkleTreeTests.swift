// RFC 6962 Merkle tree hashes against roots computed independently with Python's hashlib.
import Foundation
import KilnLedger
import Testing

@Suite("RFC 6962 Merkle tree hash")
struct MerkleTreeTests {
    /// Roots over leaf inputs `[0x00], [0x01], …` for n leaves, from a recursive Python MTH
    /// (hashlib.sha256, split at the largest power of two below n) run once and pasted here.
    static let pythonRoots: [(Int, String)] = [
        (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (1, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        (2, "a20bf9a7cc2dc8a08f5f415a71b19f6ac427bab54d24eec868b5d3103449953a"),
        (3, "3b6cccd7e3e023ff393006f030315ee7ad9eb111b022b41fba7e5b7a3973f688"),
        (5, "b855b42d6c30f5b087e05266783fbd6e394f7b926013ccaa67700a8b0c5a596f"),
        (7, "3560191803028444b232018ac047fdb561c09c23a7a6876c85e08b5e4d48e9f3"),
        (8, "ef7f49b620f6c7ea9b963a214da34b5021c6ded8ed57734380a311ab726aa907"),
        (13, "df5ee130e5a247600d190c31074458de3c0dc58f0b0d8a6a2b3dd4fd7e569501"),
    ]

    @Test("Roots match Python's RFC 6962 MTH for 0 to 13 leaves", arguments: pythonRoots)
    func rootsMatchPython(count: Int, expected: String) {
        let leaves = (0..<count).map { [UInt8($0)] }
        #expect(MerkleTree.root(leaves: leaves).map { String(format: "%02x", $0) }.joined() == expected)
    }

    @Test("Leaf and node hashes use the 0x00 and 0x01 domain prefixes")
    func domainSeparation() {
        // A one-leaf tree is SHA-256(0x00 || input); hashing the input alone must differ.
        #expect(MerkleTree.leafHash([1]) != MerkleTree.nodeHash([], [1]))
        #expect(MerkleTree.root(leaves: [[0]]).count == 32)
    }
}
