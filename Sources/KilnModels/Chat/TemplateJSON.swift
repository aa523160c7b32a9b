// JSON in and out of templates. Out: Python's json.dumps byte for byte (separators, indent, ensure_ascii,
// float repr), because transformers' `tojson` filter is json.dumps. In: an order-preserving reader, since
// JSONSerialization loses key order and tool schemas are printed in their original order.

/// JSON encoding and decoding with Python's `json` module's exact output format.
public enum TemplateJSON {
    static let maxDepth = 512

    /// Python `json.dumps(value, ensure_ascii=…, indent=…, separators=…, sort_keys=…)`.
    static func dumps(_ value: TemplateValue, indent: TemplateValue?, separators: TemplateValue?, sortKeys: Bool, ensureASCII: Bool,
                      at loc: SourceLocation) throws(ChatTemplateError) -> String {
        var indentUnit: String?
        switch indent {
        case .string(let s)?: indentUnit = s
        case .int(let n)?: indentUnit = String(repeating: " ", count: max(0, min(n, 64)))
        default: indentUnit = nil
        }
        var itemSeparator = indentUnit == nil ? ", " : ","
        var keySeparator = ": "
        if case .array(let pair)? = separators, pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] {
            itemSeparator = a
            keySeparator = b
        }
        var out = ""
        try encode(value, into: &out, indent: indentUnit, level: 0, itemSeparator: itemSeparator, keySeparator: keySeparator,
                   sortKeys: sortKeys, ensureASCII: ensureASCII, at: loc)
        return out
    }

    private static func encode(_ value: TemplateValue, into out: inout String, indent: String?, level: Int, itemSeparator: String,
                               keySeparator: String, sortKeys: Bool, ensureASCII: Bool, at loc: SourceLocation) throws(ChatTemplateError) {
        guard level < maxDepth else { throw .limitExceeded(message: "value nested too deeply for tojson", line: loc.line, column: loc.column) }
        func newline(_ depth: Int) -> String { indent.map { "\n" + String(repeating: $0, count: depth) } ?? "" }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : TemplateValue.pythonFloatRepr(d)
        case .string(let s): out += quote(s, ensureASCII: ensureASCII)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + newline(level + 1)
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator + newline(level + 1) }
                try encode(item, into: &out, indent: indent, level: level + 1, itemSeparator: itemSeparator, keySeparator: keySeparator,
                           sortKeys: sortKeys, ensureASCII: ensureASCII, at: loc)
            }
            out += newline(level) + "]"
        case .dict(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs = d.pairs
            if sortKeys { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            out += "{" + newline(level + 1)
            for (i, (key, item)) in pairs.enumerated() {
                if i > 0 { out += itemSeparator + newline(level + 1) }
                out += quote(key, ensureASCII: ensureASCII) + keySeparator
                try encode(item, into: &out, indent: indent, level: level + 1, itemSeparator: itemSeparator, keySeparator: keySeparator,
                           sortKeys: sortKeys, ensureASCII: ensureASCII, at: loc)
            }
            out += newline(level) + "}"
        case .undefined, .namespace, .callable:
            throw .runtime(message: "Object of type \(value.typeName) is not JSON serializable", line: loc.line, column: loc.column)
        }
    }

    /// A JSON string literal as Python's encoder writes it (`\uXXXX` in lower-case hex).
    static func quote(_ s: String, ensureASCII: Bool) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += "\\u" + TemplateValue.hex(c.value, width: 4)
                } else if ensureASCII && c.value > 0x7e {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + TemplateValue.hex(0xD800 + (v >> 10), width: 4) + "\\u" + TemplateValue.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + TemplateValue.hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    /// Parses JSON text into a `TemplateValue`, keeping object key order.
    /// - Throws: `ChatTemplateError.invalidJSON` with the byte offset of the problem.
    public static func parse(_ text: String) throws(ChatTemplateError) -> TemplateValue {
        var reader = JSONReader(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.position == reader.bytes.count else { throw reader.fail("trailing data") }
        return value
    }
}

/// A small recursive-descent JSON reader over UTF-8 bytes.
private struct JSONReader {
    let bytes: [UInt8]
    var position = 0

    func fail(_ message: String) -> ChatTemplateError { .invalidJSON(message: message, offset: position) }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func literal(_ word: String, _ value: TemplateValue) throws(ChatTemplateError) -> TemplateValue {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else { throw fail("invalid literal") }
        position += w.count
        return value
    }

    mutating func value(depth: Int) throws(ChatTemplateError) -> TemplateValue {
        guard depth < TemplateJSON.maxDepth else { throw fail("nested too deeply") }
        guard position < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "n"): return try literal("null", .none)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            position += 1
            var items: [TemplateValue] = []
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated array") }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                guard bytes[position] == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
                position += 1
            }
        case UInt8(ascii: "{"):
            position += 1
            var d = TemplateDictionary()
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .dict(d) }
            while true {
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipSpace()
                d[key] = try value(depth: depth + 1)
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated object") }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .dict(d) }
                guard bytes[position] == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
                position += 1
            }
        default: return try number()
        }
    }

    mutating func number() throws(ChatTemplateError) -> TemplateValue {
        let start = position
        var isInteger = true
        while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) {
            if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) && bytes[position] != UInt8(ascii: "-") { isInteger = false }
            position += 1
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        if let d = Double(text), !text.isEmpty { return .double(d) }
        position = start
        throw fail("invalid number")
    }

    mutating func hex4() throws(ChatTemplateError) -> UInt32 {
        guard position + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        position += 4
        return v
    }

    mutating func string() throws(ChatTemplateError) -> String {
        position += 1
        var out: [UInt8] = []
        while position < bytes.count {
            let b = bytes[position]
            position += 1
            if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard position < bytes.count else { break }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                   bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try hex4()
                    v = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(v) ?? "\u{FFFD}")).utf8))
            default: out.append(e)
            }
        }
        throw fail("unterminated string")
    }
}
