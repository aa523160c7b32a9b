// Ed25519 against RFC 8032 §7.1, and the node key file's creation, loading and refusals.
import Crypto
import Foundation
import KilnLedger
import Testing

@Suite("Ed25519 and the node key")
struct SignerTests {
    /// RFC 8032 §7.1 test vectors: (name, secret key, public key, message, signature), all hex.
    static let rfc8032: [(String, String, String, String, String)] = [
        ("TEST 1",
         "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("TEST 2",
         "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
         "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("TEST 3",
         "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
         "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ("TEST SHA(abc)",
         "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
         "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
         "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    @Test("RFC 8032 §7.1 vectors: public key, signature and verification", arguments: rfc8032)
    func rfc8032Vectors(name: String, secret: String, publicKey: String, message: String, signature: String) throws {
        let signer = try Ed25519Signer(seed: Hex.decode(secret) ?? [])
        let messageBytes = Hex.decode(message) ?? []
        let signatureBytes = Hex.decode(signature) ?? []
        #expect(Hex.encode(signer.publicKey) == publicKey, "\(name)")
        #if !canImport(CryptoKit)
        // BoringSSL (Linux) signs deterministically as RFC 8032 specifies; CryptoKit randomises.
        #expect(Hex.encode(try signer.sign(messageBytes)) == signature, "\(name)")
        #endif
        #expect(Ed25519.verify(signature: signatureBytes, message: messageBytes, publicKey: signer.publicKey))
        #expect(Ed25519.verify(signature: try signer.sign(messageBytes), message: messageBytes, publicKey: signer.publicKey))
        var tampered = signatureBytes
        tampered[10] ^= 0x40
        #expect(!Ed25519.verify(signature: tampered, message: messageBytes, publicKey: signer.publicKey))
        #expect(!Ed25519.verify(signature: signatureBytes, message: messageBytes + [0], publicKey: signer.publicKey))
        #expect(!Ed25519.verify(signature: Array(signatureBytes.dropLast()), message: messageBytes, publicKey: signer.publicKey))
        #expect(!Ed25519.verify(signature: signatureBytes, message: messageBytes, publicKey: Ed25519Signer().publicKey))
    }

    @Test("A seed of the wrong length is a typed error")
    func badSeed() {
        #expect(throws: LedgerError.invalidKeyLength(31)) { try Ed25519Signer(seed: [UInt8](repeating: 1, count: 31)) }
    }

    // MARK: - NodeKey

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-nodekey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func mode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("loadOrCreate creates a 32-byte 0600 key once and loads the same key afterwards")
    func createThenLoad() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("sub/dir/" + NodeKey.fileName)
        let created = try NodeKey.loadOrCreate(at: url)
        #expect(try Self.mode(url) == 0o600)
        #expect(try Data(contentsOf: url).count == 32)
        let loaded = try NodeKey.load(at: url)
        #expect(loaded.publicKey == created.publicKey)
        #expect(try NodeKey.loadOrCreate(at: url).publicKey == created.publicKey)
        // The file holds the raw RFC 8032 seed.
        #expect(try Ed25519Signer(seed: Array(Data(contentsOf: url))).publicKey == created.publicKey)
    }

    @Test("load refuses a missing, wrong-sized or group-readable key and never replaces it")
    func refusals() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(NodeKey.fileName)
        #expect(throws: LedgerError.keyFileMissing(path: url.path)) { try NodeKey.load(at: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))

        try Data(repeating: 7, count: 33).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        #expect(throws: LedgerError.keyFileWrongSize(path: url.path, size: 33)) { try NodeKey.load(at: url) }
        #expect(throws: LedgerError.keyFileWrongSize(path: url.path, size: 33)) { try NodeKey.loadOrCreate(at: url) }
        #expect(try Data(contentsOf: url).count == 33)

        try Data(repeating: 7, count: 32).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)
        #expect(throws: LedgerError.keyFileInsecure(path: url.path, mode: 0o640)) { try NodeKey.load(at: url) }
        #expect(throws: LedgerError.keyFileInsecure(path: url.path, mode: 0o640)) { try NodeKey.loadOrCreate(at: url) }

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        #expect(try NodeKey.load(at: url).publicKey == Ed25519Signer(seed: [UInt8](repeating: 7, count: 32)).publicKey)

        let folder = directory.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        #expect(throws: LedgerError.self) { try NodeKey.load(at: folder) }
    }

    @Test("Error messages are sentences that name the file")
    func messages() {
        let error = LedgerError.keyFileInsecure(path: "/d/k", mode: 0o644)
        #expect(error.message.contains("/d/k") && error.message.contains("644") && error.message.hasSuffix("."))
        #expect(LedgerError.keyFileMissing(path: "/d/k").message.contains("never recreated"))
    }
}
