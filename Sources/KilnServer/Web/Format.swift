// Numbers, sizes, times and rules written the way people read them.
import Foundation
import KilnData

/// Human-readable formatting for the pages, independent of the server's locale so pages read the same everywhere.
enum Format {
    /// `1000000` → `1,000,000`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// A byte count in B, KB, MB or GB (powers of 1000, as storage is sold).
    static func bytes(_ value: Int) -> String {
        let units = ["KB", "MB", "GB", "TB"]
        if value < 1000 { return "\(value) B" }
        var scaled = Double(value)
        var unit = "B"
        for next in units where scaled >= 1000 {
            scaled /= 1000
            unit = next
        }
        return decimal(scaled) + " " + unit
    }

    /// A parameter count as people say it: `135M`, `1.5B`.
    static func parameters(_ value: Int) -> String {
        value >= 1_000_000_000 ? decimal(Double(value) / 1e9) + "B" : value >= 1_000_000 ? decimal(Double(value) / 1e6) + "M" : count(value)
    }

    /// A number with at most one decimal, dropping `.0`.
    static func decimal(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return count(Int(rounded)) }
        return String(format: "%.1f", rounded)
    }

    /// Unix milliseconds as `2025-11-25 21:29 UTC`.
    static func date(_ milliseconds: Int) -> String {
        let iso = ISO8601.string(milliseconds: milliseconds)
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// `1 item`, `2 items`.
    static func plural(_ value: Int, _ noun: String, _ plural: String? = nil) -> String {
        "\(count(value)) \(value == 1 ? noun : (plural ?? noun + "s"))"
    }

    /// A shortened hash for tables, the full value being shown on hover.
    static func shortHash(_ hex: String) -> String {
        hex.count > 16 ? String(hex.prefix(12)) + "…" : hex
    }
}

/// A Datanet's rules as sentences a contributor can act on.
enum RuleWords {
    /// One sentence per rule, most important first.
    static func sentences(for datanet: Datanet) -> [String] {
        let rules = datanet.rules
        var out: [String] = []
        out.append("Each contributor may add up to \(Format.plural(rules.dailyLimit, "item")) a day (UTC); rejected items do not count.")
        let formats = rules.formats.map(formatName).joined(separator: ", ")
        switch datanet.kind {
        case .text:
            out.append(textShape(datanet.schema))
            if let range = range(rules.minChars.map(Format.count), rules.maxChars.map(Format.count)) {
                out.append("Text \(range) characters long.")
            }
            out.append("Accepted as \(formats); each item may be up to \(Format.bytes(rules.maxItemBytes)).")
            out.append("Exact copies of an earlier item and near-copies of accepted text are turned away.")
        case .image:
            if let range = range(rules.minPixels.map(Format.count), rules.maxPixels.map(Format.count)) {
                out.append("Images \(range) pixels (width × height).")
            }
            out.append("Accepted formats: \(formats), recognised from the file's content rather than its name; each file may be up to \(Format.bytes(rules.maxItemBytes)).")
            out.append("Exact copies of an earlier item are turned away.")
        case .audio:
            if let range = range(rules.minSeconds.map(Format.decimal), rules.maxSeconds.map(Format.decimal)) {
                out.append("Recordings \(range) seconds long.")
            }
            out.append("Accepted formats: \(formats), recognised from the file's content rather than its name; each file may be up to \(Format.bytes(rules.maxItemBytes)).")
            out.append("Exact copies of an earlier item are turned away.")
        }
        out.append("Items that pass the automatic checks wait for a curator; \(rules.validationPercent)% of each version is held out for validation.")
        return out
    }

    /// "between 16 and 1,000" / "at least 16" / "at most 1,000", or `nil` when unbounded.
    static func range(_ low: String?, _ high: String?) -> String? {
        switch (low, high) {
        case let (low?, high?): "between \(low) and \(high)"
        case let (low?, nil): "of at least \(low)"
        case let (nil, high?): "of at most \(high)"
        case (nil, nil): nil
        }
    }

    /// What one text item consists of.
    static func textShape(_ schema: TextSchema) -> String {
        switch schema {
        case .plain: "Each item is one piece of text."
        case .instruction: "Each item is an instruction with an optional input and the response to it."
        case .chat: "Each item is a conversation: messages from system, user and assistant."
        }
    }

    /// `jpeg` → `JPEG`, `txt` → `plain text`.
    static func formatName(_ format: String) -> String {
        switch format {
        case "txt": "plain text"
        case "jsonl": "JSON Lines files"
        default: MediaFormat(rawValue: format)?.displayName ?? format.uppercased()
        }
    }
}
