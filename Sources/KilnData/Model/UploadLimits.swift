// The node's own caps on what a request or an item may bring in, set by the operator and above every Datanet's rules.

/// Server settings that bound request bodies and items, so no Datanet rule or client can make the node buffer more.
///
/// A Datanet's `max_item_bytes` must stay within `maxItemBytes(for:)` when it is created; if an operator later lowers a
/// limit, the lower of the two applies at submit time.
public struct UploadLimits: Sendable, Equatable {
    /// The most bytes one text item may have (default 1 MiB).
    public var maxTextItemBytes: Int
    /// The most bytes one image or audio file may have (default 64 MiB).
    public var maxMediaItemBytes: Int
    /// The most bytes of one JSON or JSON Lines request body (default 16 MiB).
    public var maxJSONRequestBytes: Int
    /// The most bytes of one multipart/form-data request body (default 80 MiB).
    public var maxMultipartBytes: Int
    /// The most items of one contributor the automatic checks may reject in one Datanet per UTC day (default 200).
    public var maxAutoRejectionsPerDay: Int
    /// The most bytes of live (pending or accepted) items one contributor may keep on the node (default 10 GiB).
    public var userQuotaBytes: Int

    /// The largest value any of the limits may be set to (1 GiB): beyond it one request could hold a node's memory.
    public static let ceiling = 1 << 30

    /// Creates limits; the defaults suit a node on a small machine.
    public init(maxTextItemBytes: Int = 1 << 20, maxMediaItemBytes: Int = 64 << 20, maxJSONRequestBytes: Int = 16 << 20,
                maxMultipartBytes: Int = 80 << 20, maxAutoRejectionsPerDay: Int = 200, userQuotaBytes: Int = 10 << 30) {
        self.maxTextItemBytes = maxTextItemBytes
        self.maxMediaItemBytes = maxMediaItemBytes
        self.maxJSONRequestBytes = maxJSONRequestBytes
        self.maxMultipartBytes = maxMultipartBytes
        self.maxAutoRejectionsPerDay = maxAutoRejectionsPerDay
        self.userQuotaBytes = userQuotaBytes
    }

    /// Checks every byte cap lies in 1 KiB...1 GiB, the rejection cap in 1...10^6 and the quota in 1 KiB...1 PiB.
    /// - Throws: `DataError.badRequest` naming the first that does not.
    public func validate() throws {
        guard (1...1_000_000).contains(maxAutoRejectionsPerDay) else {
            throw DataError.badRequest(code: "invalid_limit", message: "The automatic rejections per day must be between 1 and 1000000.")
        }
        guard (1024...(1 << 50)).contains(userQuotaBytes) else {
            throw DataError.badRequest(code: "invalid_limit", message: "The per-user quota must be between 1024 and \(1 << 50) bytes.")
        }
        let named = [("max text item bytes", maxTextItemBytes), ("max media item bytes", maxMediaItemBytes),
                     ("max JSON request bytes", maxJSONRequestBytes), ("max multipart bytes", maxMultipartBytes)]
        for (name, value) in named where !(1024...Self.ceiling).contains(value) {
            throw DataError.badRequest(code: "invalid_limit", message: "The \(name) must be between 1024 and \(Self.ceiling).")
        }
    }

    /// The most bytes an item of a Datanet of `kind` may ever have on this node.
    public func maxItemBytes(for kind: DatanetKind) -> Int {
        kind == .text ? maxTextItemBytes : maxMediaItemBytes
    }

    /// The item cap that applies to a Datanet of `kind` with `rules` now: its rule, never above this node's limit.
    public func itemBytes(_ rules: DatanetRules, kind: DatanetKind) -> Int {
        min(max(1, rules.maxItemBytes), maxItemBytes(for: kind))
    }

    /// The most raw bytes one text item may take inside JSON: escapes can spend six bytes on one character.
    public func jsonItemBytes(_ rules: DatanetRules, kind: DatanetKind) -> Int {
        min(itemBytes(rules, kind: kind) * 6 + 16 * 1024, maxJSONRequestBytes)
    }
}
