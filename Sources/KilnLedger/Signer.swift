// Ed25519 (RFC 8032, pure variant) signing and verification for entries and tree heads.
//
// The signer is a protocol so the server and tests can inject a key (STYLE.md: "clock, RNG and signer are
// injected"); NodeKey.swift persists the one real node key.
import Crypto
import Foundation

/// Something that signs ledger messages with an Ed25519 key.
public protocol LedgerSigner: Sendable {
    /// The 32-byte Ed25519 public key (RFC 8032 §5.1.5 encoding).
    var publicKey: [UInt8] { get }
    /// The 64-byte Ed25519 signature of `message`.
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

/// An Ed25519 signer backed by swift-crypto's `Curve25519.Signing.PrivateKey`.
///
/// On Linux (BoringSSL) signatures are the deterministic RFC 8032 ones; Apple's CryptoKit adds randomness,
/// so there two signatures of one message differ, though both verify.
public struct Ed25519Signer: LedgerSigner {
    private let key: Curve25519.Signing.PrivateKey

    /// A signer with a fresh random key.
    public init() {
        key = Curve25519.Signing.PrivateKey()
    }

    /// A signer from a 32-byte RFC 8032 private key (the seed).
    /// - Throws: `LedgerError.invalidKeyLength` unless `seed` is 32 bytes.
    public init(seed: [UInt8]) throws(LedgerError) {
        guard seed.count == 32 else { throw .invalidKeyLength(seed.count) }
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw .invalidKeyLength(seed.count)
        }
    }

    /// The 32-byte seed, for `NodeKey` to store; not public so the secret leaves this module only as a file.
    var seed: [UInt8] { Array(key.rawRepresentation) }

    /// The 32-byte public key.
    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    /// The public key in lowercase hex, as `GET /api/ledger/key` returns it.
    public var publicKeyHex: String { Hex.encode(publicKey) }

    /// The 64-byte signature of `message`.
    /// - Throws: `LedgerError.signingFailed` if the crypto library fails.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        do {
            return Array(try key.signature(for: message))
        } catch {
            throw LedgerError.signingFailed(String(describing: error))
        }
    }
}

/// Ed25519 signature verification.
public enum Ed25519 {
    /// Whether `signature` (64 bytes) is a valid Ed25519 signature of `message` under `publicKey` (32 bytes).
    ///
    /// Returns false, never throws, for keys or signatures of the wrong length or that fail to decode.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
