// A strict RFC 8259 JSON parser for checkpoint headers.
// Why not JSONSerialization: it silently keeps the last of two equal keys, and a safetensors header
// that names a tensor twice must be refused (STYLE rule 11; huggingface/safetensors rejects it too).
import Foundation

/// A parsed JSON value; objects were checked for duplicate keys while parsing.
public indirect enum StrictJSON: Sendable, Equatable {
    /// JSON null.
    case null
    /// true or false.
    case bool(Bool)
    /// An integer literal (no fraction or exponent) that fits in Int64.
    case int(Int64)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([StrictJSON])
    /// An object (keys unique).
    case object([String: StrictJSON])
}

/// Why a JSON text was refused; `offset` is the byte offset into the text.
public enum StrictJSONError: Error, Equatable, Sendable {
    /// A byte that cannot start or continue what the grammar expects.
    case unexpected(offset: Int, expected: String)
    /// An object repeats a key.
    case duplicateKey(String, offset: Int)
    /// Nesting beyond `StrictJSON.maxDepth`.
    case tooDeep(offset: Int)
    /// A string with a bad escape, control character, lone surrogate or invalid UTF-8.
    case invalidString(offset: Int)
    /// A number that breaks the RFC 8259 grammar.
    case invalidNumber(offset: Int)
    /// Non-whitespace after the value.
    case trailingData(offset: Int)
}

extension StrictJSON {
    /// Nesting limit: headers are two levels deep, so 64 only guards the recursion.
    static let maxDepth = 64

    /// Parses `bytes` as exactly one JSON value surrounded by optional whitespace.
    /// - Throws: `StrictJSONError` naming the byte offset of the first problem.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(StrictJSONError) -> StrictJSON {
        var parser = StrictJSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw .trailingData(offset: parser.position) }
        return value
    }

    /// Parses the bytes of `data`.
    /// - Throws: `StrictJSONError`.
    public static func parse(_ data: Data) throws(StrictJSONError) -> StrictJSON {
        let result: Result<StrictJSON, StrictJSONError> = data.withUnsafeBytes { raw in
            do throws(StrictJSONError) { return .success(try parse(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The string payload, or nil for other kinds.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The integer payload, or nil for other kinds (doubles included).
    public var intValue: Int64? { if case .int(let i) = self { i } else { nil } }
    /// The object payload, or nil for other kinds.
    public var objectValue: [String: StrictJSON]? { if case .object(let o) = self { o } else { nil } }
    /// The array payload, or nil for other kinds.
    public var arrayValue: [StrictJSON]? { if case .array(let a) = self { a } else { nil } }
}

/// Recursive-descent state over a byte buffer; every read is bounds-checked.
struct StrictJSONParser {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    mutating func expect(_ literal: StaticString) throws(StrictJSONError) {
        let start = position
        for i in 0..<literal.utf8CodeUnitCount {
            guard current == literal.utf8Start[i] else { throw .unexpected(offset: start, expected: "\(literal)") }
            position += 1
        }
    }

    mutating func parseValue(depth: Int) throws(StrictJSONError) -> StrictJSON {
        guard depth < StrictJSON.maxDepth else { throw .tooDeep(offset: position) }
        guard let c = current else { throw .unexpected(offset: position, expected: "value") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw .unexpected(offset: position, expected: "value")
        }
    }

    mutating func parseObject(depth: Int) throws(StrictJSONError) -> StrictJSON {
        position += 1
        var object: [String: StrictJSON] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(object) }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard current == UInt8(ascii: "\"") else { throw .unexpected(offset: position, expected: "string key") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw .unexpected(offset: position, expected: ":") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            guard object.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key, offset: keyOffset) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(object)
            default: throw .unexpected(offset: position, expected: ", or }")
            }
        }
    }

    mutating func parseArray(depth: Int) throws(StrictJSONError) -> StrictJSON {
        position += 1
        var array: [StrictJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(array) }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(array)
            default: throw .unexpected(offset: position, expected: ", or ]")
            }
        }
    }

    mutating func parseHex4() throws(StrictJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw .invalidString(offset: position) }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw .invalidString(offset: position)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    mutating func parseString() throws(StrictJSONError) -> String {
        let start = position
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let c = current else { throw .invalidString(offset: start) }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                // RFC 8259 §8.1: text must be UTF-8; invalid sequences are refused, not repaired.
                guard let s = String(bytes: utf8, encoding: .utf8) else { throw .invalidString(offset: start) }
                return s
            case UInt8(ascii: "\\"):
                guard let e = current else { throw .invalidString(offset: position) }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by \u and a low surrogate (RFC 8259 §7).
                        try expect("\\u")
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw .invalidString(offset: position) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw .invalidString(offset: position) }
                    utf8.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw .invalidString(offset: position - 1)
                }
            default:
                guard c >= 0x20 else { throw .invalidString(offset: position - 1) }
                utf8.append(c)
            }
        }
    }

    mutating func parseNumber() throws(StrictJSONError) -> StrictJSON {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        func digits(_ p: inout StrictJSONParser) -> Int {
            var n = 0
            while let c = p.current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { p.position += 1; n += 1 }
            return n
        }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw .invalidNumber(offset: start)
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw .invalidNumber(offset: start) }
        return .double(d)
    }
}
