// A strict RFC 8259 JSON parser for bytes that will be hashed: it accepts one reading of the input or none.
//
// Stricter than Foundation's JSONSerialization on purpose (RFC 8785 §3.1 requires I-JSON, RFC 7493):
// invalid UTF-8, lone surrogate escapes and duplicate names are errors, not silently repaired.
// It is an index-walking parser over a byte array with an explicit depth cap, so no input can trap it
// or exhaust the stack.
import Foundation

extension CanonicalJSON {
    /// The deepest nesting of arrays and objects `parse(_:)` accepts.
    public static let maxDepth = 128

    /// Parses one JSON text (RFC 8259 §2), surrounded by optional whitespace.
    ///
    /// Rejects: invalid UTF-8 (including overlong forms and encoded surrogates), `\uXXXX` surrogates that
    /// do not form a pair, duplicate object names, leading zeros, numbers that overflow a double,
    /// unescaped control characters, a byte-order mark, trailing bytes, and nesting deeper than `maxDepth`.
    /// - Throws: `LedgerError` naming the byte offset of the problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(LedgerError) -> CanonicalJSON {
        var parser = JSONParser(bytes: Array(bytes))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else {
            throw .invalidJSON(offset: parser.position, reason: "unexpected data after the JSON value")
        }
        return value
    }
}

/// The parsing state: the input and a cursor.
struct JSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// RFC 8259 §2: insignificant whitespace is space, tab, line feed and carriage return only.
    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    mutating func parseValue(depth: Int) throws(LedgerError) -> CanonicalJSON {
        guard let byte = current else { throw .invalidJSON(offset: position, reason: "unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case 0x80...: throw .invalidJSON(offset: position, reason: "a non-ASCII byte outside a string")
        default: throw .invalidJSON(offset: position, reason: "unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: String) throws(LedgerError) {
        let start = position
        for byte in literal.utf8 {
            guard current == byte else { throw .invalidJSON(offset: start, reason: "invalid literal") }
            position += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(LedgerError) -> CanonicalJSON {
        guard depth <= CanonicalJSON.maxDepth else {
            throw .nestingTooDeep(limit: CanonicalJSON.maxDepth, offset: position)
        }
        position += 1  // "{"
        var members: [String: CanonicalJSON] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard current == UInt8(ascii: "\"") else {
                throw .invalidJSON(offset: position, reason: "expected a member name string")
            }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw .invalidJSON(offset: position, reason: "expected ':'") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // RFC 8785 §3.1 / RFC 7493 §2.3: names must be unique. Swift String equality also folds
            // canonically equivalent names together, which we reject too rather than keep only one.
            guard members.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key, offset: keyOffset) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw .invalidJSON(offset: position, reason: "expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(LedgerError) -> CanonicalJSON {
        guard depth <= CanonicalJSON.maxDepth else {
            throw .nestingTooDeep(limit: CanonicalJSON.maxDepth, offset: position)
        }
        position += 1  // "["
        var elements: [CanonicalJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw .invalidJSON(offset: position, reason: "expected ',' or ']'")
            }
        }
    }

    // MARK: - Numbers

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`, converted with correct rounding.
    private mutating func parseNumber() throws(LedgerError) -> Double {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else {
            throw .invalidJSON(offset: position, reason: "expected a digit")
        }
        position += 1
        if first == UInt8(ascii: "0"), let next = current, isDigit(next) {
            throw .invalidJSON(offset: start, reason: "a number has a leading zero")
        }
        skipDigits()
        if current == UInt8(ascii: ".") {
            position += 1
            guard let digit = current, isDigit(digit) else {
                throw .invalidJSON(offset: position, reason: "expected a digit after '.'")
            }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, isDigit(digit) else {
                throw .invalidJSON(offset: position, reason: "expected a digit in the exponent")
            }
            skipDigits()
        }
        // Swift's Double(String) is correctly rounded (round-half-even), as ECMAScript's parser is.
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw .numberOutOfRange(offset: start) }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { position += 1 }
    }

    // MARK: - Strings

    /// RFC 8259 §7 strings, with UTF-8 checked per RFC 3629 §4 (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func parseString() throws(LedgerError) -> String {
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw .invalidJSON(offset: position, reason: "unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                // Every byte appended was validated above, so this decoding never substitutes U+FFFD.
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw .invalidJSON(offset: position, reason: "an unescaped control character in a string")
            case 0x20..<0x80:
                utf8.append(byte)
                position += 1
            default:
                let length = try validUTF8SequenceLength(at: position)
                utf8 += bytes[position..<(position + length)]
                position += length
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(LedgerError) {
        let start = position
        position += 1  // backslash
        guard let byte = current else { throw .invalidJSON(offset: position, reason: "unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed at once by an escaped low surrogate (RFC 8259 §7).
                guard position + 1 < bytes.count, bytes[position] == 0x5C, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw .loneSurrogate(offset: start)
                }
                position += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw .loneSurrogate(offset: start) }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw .loneSurrogate(offset: start)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw .loneSurrogate(offset: start) }
            utf8 += Array(String(Character(scalar)).utf8)
        default:
            throw .invalidJSON(offset: start, reason: "an invalid escape sequence")
        }
    }

    private mutating func parseHex4() throws(LedgerError) -> UInt16 {
        guard position + 4 <= bytes.count else {
            throw .invalidJSON(offset: position, reason: "a \\u escape needs four hex digits")
        }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt16
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(byte - UInt8(ascii: "A") + 10)
            default: throw .invalidJSON(offset: position, reason: "a \\u escape needs four hex digits")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence starting at `offset` (RFC 3629 §4 table).
    private func validUTF8SequenceLength(at offset: Int) throws(LedgerError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF  // no overlongs
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F  // no UTF-16 surrogates
        case 0xF0: length = 4; secondRange = 0x90...0xBF  // no overlongs
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F  // nothing above U+10FFFF
        default: throw .invalidUTF8(offset: offset)
        }
        guard offset + length <= bytes.count else { throw .invalidUTF8(offset: offset) }
        guard secondRange.contains(bytes[offset + 1]) else { throw .invalidUTF8(offset: offset) }
        for index in (offset + 2)..<(offset + length) where !(0x80...0xBF).contains(bytes[index]) {
            throw .invalidUTF8(offset: offset)
        }
        return length
    }
}
