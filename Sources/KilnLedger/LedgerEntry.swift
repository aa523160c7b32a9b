// One ledger entry: its exact JSON shape, its JCS bytes and its hash (issue 4, "Formats").
import Crypto
import Foundation

/// One event on the ledger: `{"seq","time","kind","payload","prev_hash"}`, hashed as SHA-256 of its JCS bytes.
///
/// The stored form is the JCS bytes themselves; `init(canonicalBytes:)` accepts only bytes that are
/// exactly their own canonical form, so a verifier that re-hashes stored bytes and one that re-serialises
/// the parsed entry can never disagree.
public struct LedgerEntry: Sendable, Equatable {
    /// Position in the chain, from 0, without gaps.
    public let seq: Int
    /// When the entry was appended, in Unix milliseconds.
    public let time: Int
    /// What happened; one of `LedgerEntry.Kind`'s constants.
    public let kind: String
    /// Ids and hashes describing the event (never raw data); always a JSON object.
    public let payload: CanonicalJSON
    /// The previous entry's hash (32 bytes); `genesisPrevHash` for seq 0.
    public let prevHash: [UInt8]

    /// The `prev_hash` of the first entry: 32 zero bytes (64 zeros in hex).
    public static let genesisPrevHash = [UInt8](repeating: 0, count: 32)

    /// The field names, exactly as they appear in the JSON.
    public static let fieldNames: Set<String> = ["seq", "time", "kind", "payload", "prev_hash"]

    /// Well-known values of `kind`.
    public enum Kind {
        /// A Datanet was created.
        public static let datanetCreated = "datanet.created"
        /// A submission was accepted into a Datanet.
        public static let submissionAccepted = "submission.accepted"
        /// A submission was rejected by a curator.
        public static let submissionRejected = "submission.rejected"
        /// The automatic checks rejected items of one request (one entry for all of them).
        public static let submissionsRejected = "submissions.rejected"
        /// A Datanet version was published.
        public static let versionPublished = "version.published"
        /// A training run finished.
        public static let runFinished = "run.finished"
        /// Attribution scores were recorded.
        public static let attribution = "attribution"
        /// A reward was split among contributors.
        public static let rewardSplit = "reward.split"
        /// Every kind above.
        public static let all: [String] = [datanetCreated, submissionAccepted, submissionRejected, submissionsRejected, versionPublished,
                                           runFinished, attribution, rewardSplit]
    }

    /// A validated entry.
    ///
    /// `seq` and `time` must be in 0 … 2^53 − 1 (integers a double and every JSON reader hold exactly),
    /// `kind` non-empty, `payload` an object whose numbers are finite, and `prevHash` 32 bytes.
    /// - Throws: `LedgerError.invalidEntryField` naming the first bad field.
    public init(seq: Int, time: Int, kind: String, payload: CanonicalJSON, prevHash: [UInt8]) throws(LedgerError) {
        let maxSafe = Int(CanonicalJSON.maxSafeInteger)
        guard (0...maxSafe).contains(seq) else { throw .invalidEntryField(field: "seq", reason: "must be in 0…2^53−1") }
        guard (0...maxSafe).contains(time) else { throw .invalidEntryField(field: "time", reason: "must be in 0…2^53−1") }
        guard !kind.isEmpty else { throw .invalidEntryField(field: "kind", reason: "must not be empty") }
        guard case .object = payload else { throw .invalidEntryField(field: "payload", reason: "must be an object") }
        guard payload.isFinite else {
            throw .invalidEntryField(field: "payload", reason: "holds NaN or Infinity, which JSON cannot represent")
        }
        guard prevHash.count == 32 else {
            throw .invalidEntryField(field: "prev_hash", reason: "must be 32 bytes, not \(prevHash.count)")
        }
        self.seq = seq
        self.time = time
        self.kind = kind
        self.payload = payload
        self.prevHash = prevHash
    }

    /// Parses stored entry bytes, requiring that they are canonical and have exactly the five fields.
    /// - Throws: a JSON `LedgerError` if unparseable, `.notCanonical(seq:)` if re-serialising changes the
    ///   bytes, `.unexpectedEntryField` / `.invalidEntryField` for a wrong field set or type.
    public init(canonicalBytes: some Collection<UInt8>) throws(LedgerError) {
        let bytes = Array(canonicalBytes)
        let json = try CanonicalJSON.parse(bytes)
        guard case .object(let members) = json else {
            throw .invalidEntryField(field: "entry", reason: "must be a JSON object")
        }
        // Canonical form first: a stored payload that is not in canonical form is a break (issue 4).
        guard json.canonicalBytes == bytes else { throw .notCanonical(seq: members["seq"]?.intValue) }
        if let extra = members.keys.sorted().first(where: { !Self.fieldNames.contains($0) }) {
            throw .unexpectedEntryField(extra)
        }
        guard let seq = members["seq"]?.intValue else {
            throw .invalidEntryField(field: "seq", reason: "missing or not an integer")
        }
        guard let time = members["time"]?.intValue else {
            throw .invalidEntryField(field: "time", reason: "missing or not an integer")
        }
        guard let kind = members["kind"]?.stringValue else {
            throw .invalidEntryField(field: "kind", reason: "missing or not a string")
        }
        guard let payload = members["payload"] else { throw .invalidEntryField(field: "payload", reason: "missing") }
        guard let prevHex = members["prev_hash"]?.stringValue else {
            throw .invalidEntryField(field: "prev_hash", reason: "missing or not a string")
        }
        let prevHash: [UInt8]
        do {
            prevHash = try Hex.decodeCanonical(prevHex, count: 32, field: "prev_hash")
        } catch {
            throw .invalidEntryField(field: "prev_hash", reason: "must be 64 lowercase hex digits")
        }
        try self.init(seq: seq, time: time, kind: kind, payload: payload, prevHash: prevHash)
    }

    // MARK: - Canonical form and hash

    /// The entry as a JSON object with the exact field names of the format.
    public var json: CanonicalJSON {
        .object([
            "seq": .number(Double(seq)),
            "time": .number(Double(time)),
            "kind": .string(kind),
            "payload": payload,
            "prev_hash": .string(Hex.encode(prevHash)),
        ])
    }

    /// The RFC 8785 bytes of `json`: what is stored, hashed and (via the hash) signed.
    public var canonicalBytes: [UInt8] { json.canonicalBytes }

    /// SHA-256 of `canonicalBytes` (32 bytes); the next entry's `prev_hash` and this entry's Merkle leaf input.
    public var hash: [UInt8] { Array(SHA256.hash(data: canonicalBytes)) }

    /// `hash` in lowercase hex.
    public var hashHex: String { Hex.encode(hash) }

    /// Signs the 32 raw bytes of `hash` (issue 4: `signature = Ed25519(node key, hash)`).
    /// - Throws: whatever the signer throws.
    public func signature(by signer: some LedgerSigner) throws -> [UInt8] {
        try signer.sign(hash)
    }

    /// The entry that follows this one, linked by `prev_hash`.
    /// - Throws: `LedgerError.invalidEntryField` as `init(seq:time:kind:payload:prevHash:)` does.
    public func next(time: Int, kind: String, payload: CanonicalJSON) throws(LedgerError) -> LedgerEntry {
        try LedgerEntry(seq: seq + 1, time: time, kind: kind, payload: payload, prevHash: hash)
    }

    /// The first entry of a chain (seq 0, zero `prev_hash`).
    /// - Throws: `LedgerError.invalidEntryField` as `init(seq:time:kind:payload:prevHash:)` does.
    public static func genesis(time: Int, kind: String, payload: CanonicalJSON) throws(LedgerError) -> LedgerEntry {
        try LedgerEntry(seq: 0, time: time, kind: kind, payload: payload, prevHash: genesisPrevHash)
    }
}
