// The one error type of KilnLedger: every way parsing, proving, signing or key handling can fail.
import Foundation

/// Why a ledger operation failed; each case carries the context needed to find the offending input.
public enum LedgerError: Error, Equatable, Sendable {
    // MARK: - JSON (RFC 8259 parsing, RFC 8785 serialisation)

    /// The JSON text is malformed at `offset` (a byte offset into the input).
    case invalidJSON(offset: Int, reason: String)
    /// The input is not valid UTF-8 at `offset` (RFC 8259 §8.1 requires UTF-8).
    case invalidUTF8(offset: Int)
    /// A `\uD800`–`\uDFFF` escape at `offset` is not part of a valid surrogate pair.
    case loneSurrogate(offset: Int)
    /// An object repeats `key` (RFC 8785 §3.1 requires unique names).
    case duplicateKey(String, offset: Int)
    /// Arrays and objects nest deeper than `limit` at `offset`.
    case nestingTooDeep(limit: Int, offset: Int)
    /// A number literal at `offset` does not fit an IEEE 754 double (it would be ±Infinity).
    case numberOutOfRange(offset: Int)
    /// A NaN or ±Infinity cannot be serialised (RFC 8785 §3.2.2.3).
    case nonFiniteNumber

    // MARK: - Entries

    /// The stored entry bytes parse but are not their own JCS form; `seq` when it could be read.
    case notCanonical(seq: Int?)
    /// An entry's field `field` is missing, of the wrong type, or out of range.
    case invalidEntryField(field: String, reason: String)
    /// An entry has a member that is not one of seq, time, kind, payload, prev_hash.
    case unexpectedEntryField(String)

    // MARK: - Merkle proofs (RFC 9162 §2.1)

    /// A leaf index is not below the tree size it is proven against.
    case indexOutOfRange(index: Int, size: Int)
    /// A tree size is larger than the number of leaves the log holds (or negative).
    case sizeOutOfRange(size: Int, count: Int)
    /// A consistency proof was asked for with first = 0 or first > second (RFC 9162 §2.1.4 needs 0 < first ≤ second).
    case invalidConsistencyRange(first: Int, second: Int)
    /// A leaf or node hash is not 32 bytes.
    case invalidHashLength(Int)

    // MARK: - Keys and signatures

    /// A hex string (named by `field`) is not an even-length string of hex digits, or has the wrong length.
    case invalidHex(field: String)
    /// An Ed25519 key is not 32 bytes.
    case invalidKeyLength(Int)
    /// Signing failed inside the crypto library.
    case signingFailed(String)
    /// The node key file does not exist.
    case keyFileMissing(path: String)
    /// The node key file exists but cannot be read (errno text in `reason`).
    case keyFileUnreadable(path: String, reason: String)
    /// The node key file is not exactly 32 bytes.
    case keyFileWrongSize(path: String, size: Int)
    /// The node key file is readable or writable by group or others (`mode` is the permission bits).
    case keyFileInsecure(path: String, mode: Int)
    /// The node key file could not be created (errno text in `reason`).
    case keyFileCreateFailed(path: String, reason: String)
    /// The node key file holds a different key from the one the ledger was signed with.
    case keyMismatch(path: String, expected: String, found: String)

    /// A sentence for people.
    public var message: String {
        switch self {
        case .invalidJSON(let offset, let reason): "Invalid JSON at byte \(offset): \(reason)."
        case .invalidUTF8(let offset): "Invalid UTF-8 at byte \(offset)."
        case .loneSurrogate(let offset): "Unpaired UTF-16 surrogate escape at byte \(offset)."
        case .duplicateKey(let key, let offset): "Duplicate object key \"\(key)\" at byte \(offset)."
        case .nestingTooDeep(let limit, let offset): "JSON nests deeper than \(limit) levels at byte \(offset)."
        case .numberOutOfRange(let offset): "The number at byte \(offset) is too large for a double."
        case .nonFiniteNumber: "NaN and Infinity cannot be written as canonical JSON (RFC 8785 §3.2.2.3)."
        case .notCanonical(let seq):
            if let seq { "Entry \(seq) is not stored in its canonical (RFC 8785) form." }
            else { "The entry is not stored in its canonical (RFC 8785) form." }
        case .invalidEntryField(let field, let reason): "Entry field \"\(field)\" is invalid: \(reason)."
        case .unexpectedEntryField(let field): "Entry has an unexpected field \"\(field)\"."
        case .indexOutOfRange(let index, let size): "Leaf index \(index) is not below tree size \(size)."
        case .sizeOutOfRange(let size, let count): "Tree size \(size) is outside the log's 0…\(count) leaves."
        case .invalidConsistencyRange(let first, let second):
            "A consistency proof needs 0 < first ≤ second; got first \(first), second \(second)."
        case .invalidHashLength(let length): "A hash must be 32 bytes, not \(length)."
        case .invalidHex(let field): "\(field) is not valid hex of the expected length."
        case .invalidKeyLength(let length): "An Ed25519 key must be 32 bytes, not \(length)."
        case .signingFailed(let reason): "Signing failed: \(reason)."
        case .keyFileMissing(let path): "The node key file \(path) does not exist; restore it from backup (it is never recreated silently)."
        case .keyFileUnreadable(let path, let reason): "The node key file \(path) cannot be read: \(reason)."
        case .keyFileWrongSize(let path, let size): "The node key file \(path) holds \(size) bytes, not a 32-byte Ed25519 seed."
        case .keyFileInsecure(let path, let mode):
            "The node key file \(path) has mode \(String(mode, radix: 8)); it must not be accessible to group or others (chmod 600)."
        case .keyFileCreateFailed(let path, let reason): "The node key file \(path) could not be created: \(reason)."
        case .keyMismatch(let path, let expected, let found):
            "The node key file \(path) holds public key \(found), but this ledger is signed with \(expected); restore the original key file."
        }
    }
}

extension LedgerError: CustomStringConvertible {
    /// The same sentence as `message`, so `print(error)` reads well.
    public var description: String { message }
}
