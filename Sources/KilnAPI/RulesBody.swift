// The JSON of a Datanet's rules, defined once for the server and the CLI: Swift names in code, snake_case on the wire.

/// A Datanet's rules as JSON carries them. Every field is optional: a create request gives only the ones it sets,
/// and an answer gives every one that applies to the Datanet's kind.
public struct RulesBody: Codable, Sendable, Equatable {
    /// Accepted formats by sniffed content (`txt`, `jsonl`, `png`, `jpeg`, `webp`, `gif`, `wav`, `flac`, `mp3`, `ogg`).
    public var formats: [String]?
    /// The most bytes one item may have.
    public var maxItemBytes: Int?
    /// The most pending plus accepted items one contributor may add per UTC day.
    public var dailyLimit: Int?
    /// Bounds on a text item's length in Unicode code points.
    public var minChars: Int?
    public var maxChars: Int?
    /// Bounds on an image's width × height.
    public var minPixels: Int?
    public var maxPixels: Int?
    /// Bounds on an audio item's duration in seconds.
    public var minSeconds: Double?
    public var maxSeconds: Double?
    /// The share of a version's items held out for validation, in percent.
    public var validationPercent: Int?

    /// The wire names; a decoder that refuses unknown fields lists `allCases`.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case formats
        case maxItemBytes = "max_item_bytes"
        case dailyLimit = "daily_limit"
        case minChars = "min_chars"
        case maxChars = "max_chars"
        case minPixels = "min_pixels"
        case maxPixels = "max_pixels"
        case minSeconds = "min_seconds"
        case maxSeconds = "max_seconds"
        case validationPercent = "validation_percent"
    }

    /// Rules with the given fields set and the rest absent.
    public init(formats: [String]? = nil, maxItemBytes: Int? = nil, dailyLimit: Int? = nil, minChars: Int? = nil, maxChars: Int? = nil,
                minPixels: Int? = nil, maxPixels: Int? = nil, minSeconds: Double? = nil, maxSeconds: Double? = nil,
                validationPercent: Int? = nil) {
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

    /// Whether no field is set.
    public var isEmpty: Bool { self == RulesBody() }
}

/// The rule for a Datanet's slug, the name in its URLs; the server and the CLI check the same one.
public enum DatanetSlug {
    /// The rule in words, for error messages and help.
    public static let rule = "2 to 48 lowercase letters, digits or '-', not starting or ending with '-'"

    /// Whether `slug` follows the rule.
    public static func isValid(_ slug: String) -> Bool {
        let bytes = slug.utf8
        return (2...48).contains(bytes.count) && slug.first != "-" && slug.last != "-"
            && bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D }
    }
}
