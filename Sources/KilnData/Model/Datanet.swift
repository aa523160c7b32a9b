// A Datanet: a curated collection people contribute to, with the rules its items must meet.
import Foundation
import KilnAPI

/// What a Datanet collects.
public enum DatanetKind: String, Sendable, Codable, CaseIterable {
    case text
    case image
    case audio
}

/// The shape of a text item: one `text` field, an instruction/response pair, or a conversation.
public enum TextSchema: String, Sendable, Codable, CaseIterable {
    case plain
    case instruction
    case chat
}

/// A Datanet as stored and as the API shows it.
public struct Datanet: Sendable, Equatable {
    /// The database id.
    public var id: Int
    /// The URL name, unique on the node.
    public var slug: String
    /// The display title.
    public var title: String
    /// What the Datanet is for, in the curators' words.
    public var description: String
    /// Text, image or audio.
    public var kind: DatanetKind
    /// For text Datanets, the item shape; media Datanets use `plain`.
    public var schema: TextSchema
    /// What items must meet to be accepted.
    public var rules: DatanetRules
    /// The licence contributions are made under (an SPDX id such as `CC-BY-4.0`).
    public var license: String
    /// Who made it.
    public var createdBy: Int
    /// When it was made, Unix milliseconds.
    public var createdAt: Int
    /// Seen by its curators and admins alone; for everyone else it does not exist.
    public var isPrivate = false
}

/// The rules every submission to a Datanet is checked against.
public struct DatanetRules: Sendable, Equatable, Codable {
    /// Accepted formats by sniffed content: `txt`/`jsonl` for text, `png`/`jpeg`/`webp`/`gif`, `wav`/`flac`/`mp3`/`ogg`.
    public var formats: [String]
    /// The most bytes one item may have.
    public var maxItemBytes: Int
    /// The most pending plus accepted items one contributor may add per UTC day.
    public var dailyLimit: Int
    /// Bounds on a text item's length in Unicode code points.
    public var minChars: Int?
    public var maxChars: Int?
    /// Bounds on an image's width × height.
    public var minPixels: Int?
    public var maxPixels: Int?
    /// Bounds on an audio item's duration.
    public var minSeconds: Double?
    public var maxSeconds: Double?
    /// The share of a version's items held out for validation, in percent.
    public var validationPercent: Int

    /// The rules a new Datanet of `kind` gets for every field the creator leaves out.
    public static func defaults(for kind: DatanetKind) -> DatanetRules {
        switch kind {
        case .text:
            DatanetRules(formats: ["txt", "jsonl"], maxItemBytes: 100_000, dailyLimit: 100, minChars: 1, maxChars: 20_000,
                         validationPercent: 10)
        case .image:
            DatanetRules(formats: ["png", "jpeg", "webp", "gif"], maxItemBytes: 10_000_000, dailyLimit: 100,
                         minPixels: 64, maxPixels: 40_000_000, validationPercent: 10)
        case .audio:
            DatanetRules(formats: ["wav", "flac", "mp3", "ogg"], maxItemBytes: 25_000_000, dailyLimit: 100,
                         minSeconds: 0.5, maxSeconds: 600, validationPercent: 10)
        }
    }

    /// Creates rules; absent bounds mean "no bound".
    public init(formats: [String], maxItemBytes: Int, dailyLimit: Int, minChars: Int? = nil, maxChars: Int? = nil,
                minPixels: Int? = nil, maxPixels: Int? = nil, minSeconds: Double? = nil, maxSeconds: Double? = nil,
                validationPercent: Int = 10) {
        self.formats = formats
        self.maxItemBytes = maxItemBytes
        self.dailyLimit = dailyLimit
        self.minChars = minChars
        self.maxChars = maxChars
        self.minPixels = minPixels
        self.maxPixels = maxPixels
        self.minSeconds = minSeconds
        self.maxSeconds = maxSeconds
        self.validationPercent = validationPercent
    }

    /// The rules as the API's JSON shape: every field present, bounds that are absent left out.
    public var body: RulesBody {
        RulesBody(formats: formats, maxItemBytes: maxItemBytes, dailyLimit: dailyLimit, minChars: minChars, maxChars: maxChars,
                  minPixels: minPixels, maxPixels: maxPixels, minSeconds: minSeconds, maxSeconds: maxSeconds,
                  validationPercent: validationPercent)
    }

    /// `given` over `defaults`: a bound given on one side replaces the default pair, so a creator's max is not fought by a default min.
    public init(_ given: RulesBody, over defaults: DatanetRules) {
        self = defaults
        if let formats = given.formats { self.formats = formats }
        if let maxItemBytes = given.maxItemBytes { self.maxItemBytes = maxItemBytes }
        if let dailyLimit = given.dailyLimit { self.dailyLimit = dailyLimit }
        if given.minChars != nil || given.maxChars != nil { (minChars, maxChars) = (given.minChars, given.maxChars) }
        if given.minPixels != nil || given.maxPixels != nil { (minPixels, maxPixels) = (given.minPixels, given.maxPixels) }
        if given.minSeconds != nil || given.maxSeconds != nil { (minSeconds, maxSeconds) = (given.minSeconds, given.maxSeconds) }
        if let validationPercent = given.validationPercent { self.validationPercent = validationPercent }
    }

    /// Encodes as the API's JSON shape (it is also how the rules are stored).
    public func encode(to encoder: any Encoder) throws {
        try body.encode(to: encoder)
    }

    /// Decodes a stored rule set (trusted, already validated); unknown fields are refused.
    public init(from decoder: any Decoder) throws {
        let given = try RulesBody.strict(from: decoder)
        guard let formats = given.formats, let maxItemBytes = given.maxItemBytes, let dailyLimit = given.dailyLimit else {
            throw DataError.badRequest(code: "missing_field", message: "Stored rules need formats, max_item_bytes and daily_limit.")
        }
        self.init(formats: formats, maxItemBytes: maxItemBytes, dailyLimit: dailyLimit, minChars: given.minChars, maxChars: given.maxChars,
                  minPixels: given.minPixels, maxPixels: given.maxPixels, minSeconds: given.minSeconds, maxSeconds: given.maxSeconds,
                  validationPercent: given.validationPercent ?? 10)
    }

    /// The formats each kind may list.
    public static func knownFormats(for kind: DatanetKind) -> Set<String> {
        switch kind {
        case .text: ["txt", "jsonl"]
        case .image: ["png", "jpeg", "webp", "gif"]
        case .audio: ["wav", "flac", "mp3", "ogg"]
        }
    }

    /// Checks the rules make sense for `kind` and stay within this node's `limits`.
    /// - Throws: `DataError.badRequest` naming the first rule that does not.
    public func validate(for kind: DatanetKind, limits: UploadLimits = UploadLimits()) throws {
        func fail(_ message: String) throws -> Never { throw DataError.badRequest(code: "invalid_rules", message: message) }
        let known = Self.knownFormats(for: kind)
        if formats.isEmpty { try fail("rules.formats must list at least one format.") }
        for format in formats where !known.contains(format) {
            try fail("rules.formats: \"\(format)\" is not a \(kind.rawValue) format; use \(known.sorted().joined(separator: ", ")).")
        }
        if Set(formats).count != formats.count { try fail("rules.formats lists a format twice.") }
        let itemCeiling = limits.maxItemBytes(for: kind)
        if maxItemBytes < 1 || maxItemBytes > itemCeiling {
            try fail("rules.max_item_bytes must be between 1 and \(itemCeiling), this node's limit for \(kind.rawValue) items.")
        }
        if dailyLimit < 1 || dailyLimit > 1_000_000 { try fail("rules.daily_limit must be between 1 and 1000000.") }
        if !(0...50).contains(validationPercent) { try fail("rules.validation_percent must be between 0 and 50.") }
        try Self.checkBounds("chars", minChars, maxChars, applies: kind == .text, kind: kind)
        try Self.checkBounds("pixels", minPixels, maxPixels, applies: kind == .image, kind: kind)
        try Self.checkBounds("seconds", minSeconds, maxSeconds, applies: kind == .audio, kind: kind)
    }

    private static func checkBounds<T: Comparable & Numeric>(_ name: String, _ low: T?, _ high: T?, applies: Bool,
                                                            kind: DatanetKind) throws {
        if !applies && (low != nil || high != nil) {
            throw DataError.badRequest(code: "invalid_rules", message: "rules.min_\(name)/max_\(name) do not apply to \(kind.rawValue) Datanets.")
        }
        if let low, low < 0 { throw DataError.badRequest(code: "invalid_rules", message: "rules.min_\(name) must not be negative.") }
        if let high, high <= 0 { throw DataError.badRequest(code: "invalid_rules", message: "rules.max_\(name) must be positive.") }
        if let low, let high, low > high {
            throw DataError.badRequest(code: "invalid_rules", message: "rules.min_\(name) is larger than rules.max_\(name).")
        }
    }
}
