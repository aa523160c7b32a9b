// The automatic checks that need no database: size, format, decoding and bounds.
import Crypto
import Foundation
import KilnStore

/// An item as it arrived, before any check.
public enum IncomingItem: Sendable {
    /// A text item decoded from JSON; `repairedUTF8` marks text whose invalid UTF-8 bytes were replaced.
    case text(TextItem, format: String, repairedUTF8: Bool)
    /// Text content that arrived whole but could not be read as an item (kept so the reason is shown).
    case unreadableText(raw: String, format: String, code: String, reason: String)
    /// An uploaded file for an image or audio Datanet.
    case media(Data, fileName: String?)
}

/// Why an item was refused, in code and in words.
public struct Rejection: Sendable, Equatable {
    /// Machine-readable: `below_min_chars`, `format_not_allowed`, `undecodable`, `duplicate`, …
    public var code: String
    /// For the contributor.
    public var reason: String

    /// Creates a rejection.
    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// An item after the database-free checks, ready for the duplicate checks and storage.
public struct CheckedItem: Sendable {
    /// Each check run so far, in order.
    public var checks: [CheckResult] = []
    /// The first failed check, if any; later checks are skipped.
    public var rejection: Rejection?
    /// SHA-256 of the canonical text or of the file's bytes.
    public var sha256: String = ""
    /// Size in bytes.
    public var bytes: Int = 0
    /// Sniffed format.
    public var format: String = ""
    /// Canonical JSON of a text item.
    public var content: String?
    /// The file's bytes, for media.
    public var data: Data?
    /// The uploaded name, for display.
    public var fileName: String?
    /// Measured properties.
    public var width: Int?
    public var height: Int?
    public var seconds: Double?
    public var chars: Int?
    /// Signature for the near-duplicate check (text only).
    public var minhash: MinHash?

    mutating func pass(_ check: String, _ detail: String) {
        checks.append(CheckResult(check, ok: true, detail))
    }

    mutating func fail(_ check: String, code: String, _ reason: String) {
        checks.append(CheckResult(check, ok: false, reason))
        rejection = Rejection(code: code, reason: reason)
    }
}

/// Runs the automatic checks that depend only on the item and the Datanet's rules.
public enum SubmissionValidator {
    /// Checks one item against `datanet`'s rules.
    /// - Throws: `DataError.tooLarge` when the item is over `max_item_bytes` (the request is refused whole),
    ///   `DataError.badRequest` when the item's kind does not match the Datanet's.
    public static func check(_ item: IncomingItem, datanet: Datanet) throws -> CheckedItem {
        let rules = datanet.rules
        var checked = CheckedItem()
        switch item {
        case .text(let text, let format, let repaired):
            guard datanet.kind == .text else {
                throw DataError.unsupportedMediaType("\(datanet.slug) collects \(datanet.kind.rawValue) files; send them as multipart/form-data.")
            }
            let item = text.normalised
            let content = item.canonicalJSON
            checked.content = content
            checked.format = format
            checked.bytes = content.utf8.count
            checked.sha256 = BlobStore.hash(Array(content.utf8))
            checked.chars = item.chars
            try size(&checked, limit: rules.maxItemBytes)
            checked.pass("format", "Text (\(format)).")
            if repaired {
                checked.fail("decode", code: "invalid_utf8", "The text is not valid UTF-8; invalid bytes were found and replaced with \u{FFFD} for display.")
                return checked
            }
            if let problem = item.schemaProblem {
                checked.fail("decode", code: "schema_invalid", problem)
                return checked
            }
            checked.pass("decode", "Valid UTF-8 in the \(datanet.schema.rawValue) schema.")
            let chars = item.chars
            if let low = rules.minChars, chars < low {
                checked.fail("bounds", code: "below_min_chars", "The text has \(chars) characters; this Datanet needs at least \(low).")
                return checked
            }
            if let high = rules.maxChars, chars > high {
                checked.fail("bounds", code: "above_max_chars", "The text has \(chars) characters; this Datanet takes at most \(high).")
                return checked
            }
            checked.pass("bounds", "\(chars) characters.")
            checked.minhash = MinHash(text: item.fullText)
        case .unreadableText(let raw, let format, let code, let reason):
            checked.content = raw
            checked.format = format
            checked.bytes = raw.utf8.count
            checked.sha256 = BlobStore.hash(Array(raw.utf8))
            try size(&checked, limit: rules.maxItemBytes)
            if code == "format_not_allowed" || code == "unrecognised_format" {
                checked.fail("format", code: code, reason)
            } else {
                checked.pass("format", "Text (\(format)).")
                checked.fail("decode", code: code, reason)
            }
        case .media(let data, let fileName):
            guard datanet.kind != .text else {
                throw DataError.badRequest(code: "wrong_kind", message: "\(datanet.slug) collects text; a file upload must be a .txt or .jsonl text file.")
            }
            checked.data = data
            checked.fileName = fileName
            checked.bytes = data.count
            checked.sha256 = BlobStore.hash(data)
            try size(&checked, limit: rules.maxItemBytes)
            media(&checked, data: data, datanet: datanet)
        }
        return checked
    }

    private static func size(_ checked: inout CheckedItem, limit: Int) throws {
        guard checked.bytes <= limit else {
            throw DataError.tooLarge(limit: limit, message: "The item is \(checked.bytes) bytes; this Datanet takes at most \(limit) bytes per item.")
        }
        checked.pass("size", "\(checked.bytes) bytes (at most \(limit)).")
    }

    private static func media(_ checked: inout CheckedItem, data: Data, datanet: Datanet) {
        let rules = datanet.rules
        let bytes = [UInt8](data)
        guard let format = MediaSniffer.sniff(bytes) else {
            checked.format = "unknown"
            checked.fail("format", code: "unrecognised_format",
                         "The file is \(MediaError.describeUnknown(bytes)), not a supported \(datanet.kind.rawValue) format (\(rules.formats.joined(separator: ", "))).")
            return
        }
        checked.format = format.rawValue
        guard format.kind.rawValue == datanet.kind.rawValue, rules.formats.contains(format.rawValue) else {
            checked.fail("format", code: "format_not_allowed",
                         "The file's content is \(format.rawValue.uppercased()); this Datanet accepts \(rules.formats.map { $0.uppercased() }.joined(separator: ", ")).")
            return
        }
        checked.pass("format", "\(format.rawValue.uppercased()) by its content.")
        let info: MediaInfo
        do {
            info = try MediaInspector.inspect(bytes)
        } catch {
            checked.fail("decode", code: "undecodable", error.message)
            return
        }
        checked.width = info.width
        checked.height = info.height
        checked.seconds = info.seconds
        if let width = info.width, let height = info.height {
            checked.pass("decode", "\(width) × \(height) pixels.")
            let pixels = info.pixels ?? Int.max  // header sides are bounded, but the product is still checked
            if let low = rules.minPixels, pixels < low {
                checked.fail("bounds", code: "below_min_pixels", "The image has \(pixels) pixels; this Datanet needs at least \(low).")
                return
            }
            if let high = rules.maxPixels, pixels > high {
                checked.fail("bounds", code: "above_max_pixels", "The image has \(pixels) pixels; this Datanet takes at most \(high).")
                return
            }
            checked.pass("bounds", "\(pixels) pixels.")
        } else if let seconds = info.seconds {
            let shown = String(format: "%.2f", seconds)
            checked.pass("decode", "\(shown) s of audio.")
            if let low = rules.minSeconds, seconds < low {
                checked.fail("bounds", code: "below_min_seconds", "The recording lasts \(shown) s; this Datanet needs at least \(low) s.")
                return
            }
            if let high = rules.maxSeconds, seconds > high {
                checked.fail("bounds", code: "above_max_seconds", "The recording lasts \(shown) s; this Datanet takes at most \(high) s.")
                return
            }
            checked.pass("bounds", "\(shown) seconds.")
        }
    }
}
