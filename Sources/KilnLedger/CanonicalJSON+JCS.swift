// RFC 8785 serialisation: sorted members, no whitespace, ECMAScript strings and numbers.
import Foundation

extension CanonicalJSON {
    /// The RFC 8785 (JCS) bytes of this value.
    ///
    /// Non-finite numbers have no JCS form (RFC 8785 §3.2.2.3); this non-throwing property writes them
    /// as `null`, exactly as ECMAScript `JSON.stringify` does, so it never traps. Use
    /// `canonicalEncoding()` where a NaN or Infinity must be an error instead (values from `parse(_:)`
    /// and validated `LedgerEntry`s are always finite, so for them both give the same bytes).
    public var canonicalBytes: [UInt8] {
        var writer = JCSWriter(strict: false)
        // A non-strict writer never throws; `try?` keeps this property free of preconditions.
        try? writer.write(self)
        return writer.output
    }

    /// The RFC 8785 (JCS) bytes of this value, refusing NaN and ±Infinity.
    /// - Throws: `LedgerError.nonFiniteNumber` if any number in the value is not finite.
    public func canonicalEncoding() throws(LedgerError) -> [UInt8] {
        var writer = JCSWriter(strict: true)
        try writer.write(self)
        return writer.output
    }

    /// The canonical form as a `String` (JCS output is always valid UTF-8).
    public var canonicalString: String {
        String(decoding: canonicalBytes, as: UTF8.self)
    }

    /// Whether every number in the value is finite, so the value has an RFC 8785 form.
    public var isFinite: Bool {
        switch self {
        case .null, .bool, .string: true
        case .number(let value): value.isFinite
        case .array(let elements): elements.allSatisfy(\.isFinite)
        case .object(let members): members.values.allSatisfy(\.isFinite)
        }
    }
}

/// Appends JCS bytes to `output`.
struct JCSWriter {
    /// Whether a non-finite number throws (true) or is written as `null` (false).
    let strict: Bool
    var output: [UInt8] = []

    init(strict: Bool) {
        self.strict = strict
        output.reserveCapacity(256)
    }

    mutating func write(_ value: CanonicalJSON) throws(LedgerError) {
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .number(let number):
            if number.isFinite {
                output += Array(ECMAScriptNumber.string(number).utf8)
            } else if strict {
                throw .nonFiniteNumber
            } else {
                output += Array("null".utf8)
            }
        case .string(let text): writeString(text)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            // RFC 8785 §3.2.3: sort names by their UTF-16 code units, compared as unsigned integers,
            // not by Swift's String ordering (which compares Unicode scalars / canonical equivalence).
            let names = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            output.append(UInt8(ascii: "{"))
            for (index, name) in names.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(name)
                output.append(UInt8(ascii: ":"))
                if let member = members[name] { try write(member) }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// RFC 8785 §3.2.2.2: ECMAScript JSON.stringify string escaping. Only `"`, `\` and C0 controls
    /// are escaped; \b \f \n \r \t use their short forms, other controls `\u00xx` in lowercase hex.
    /// Everything else, DEL and non-ASCII included, is written as literal UTF-8.
    private mutating func writeString(_ text: String) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case 0x22: output += [0x5C, 0x22]
            case 0x5C: output += [0x5C, 0x5C]
            case 0x08: output += [0x5C, UInt8(ascii: "b")]
            case 0x0C: output += [0x5C, UInt8(ascii: "f")]
            case 0x0A: output += [0x5C, UInt8(ascii: "n")]
            case 0x0D: output += [0x5C, UInt8(ascii: "r")]
            case 0x09: output += [0x5C, UInt8(ascii: "t")]
            case 0x00..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8)
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0F)])
            default:
                // Multi-byte UTF-8 sequences pass through: bytes ≥ 0x80 never collide with the cases above.
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// ECMAScript `Number.prototype.toString` for finite doubles (ECMA-262 §6.1.6.1.20), which RFC 8785 §3.2.2.3 adopts.
enum ECMAScriptNumber {
    /// The ECMAScript string of a finite double: shortest round-trip digits, exponent only outside 1e-7 ..< 1e21.
    static func string(_ value: Double) -> String {
        // ECMA-262 step 2: +0 and -0 both print as "0".
        if value == 0 { return "0" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        let sign = value < 0 ? "-" : ""
        return sign + layout(digits: digits, n: pointPosition)
    }

    /// The shortest decimal digits `s` (no leading or trailing zeros) and `n` with value = 0.s × 10^n.
    ///
    /// Swift's `description` prints the shortest digit string that round-trips, choosing the closest
    /// when several do (SwiftDtoa), which is the digit choice ECMA-262 step 5 requires; only its
    /// layout differs, so we take its digits and exponent and re-lay them out the ECMAScript way.
    static func shortestDigits(_ magnitude: Double) -> (digits: [UInt8], n: Int) {
        let text = Array(magnitude.description.utf8)
        var mantissa = text[...]
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = text[..<e]
            exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var integerDigits = 0
        var seenPoint = false
        for byte in mantissa {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(byte)
            if !seenPoint { integerDigits += 1 }
        }
        var n = integerDigits + exponent
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            n -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, n)
    }

    /// ECMA-262 Number::toString steps 6–10 for digits s (k of them) and decimal exponent n.
    static func layout(digits: [UInt8], n: Int) -> String {
        let k = digits.count
        let s = String(decoding: digits, as: UTF8.self)
        if k <= n && n <= 21 {
            // Step 6: an integer, padded with n − k zeros ("1e+21" is the first exponent form).
            return s + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            // Step 7: the point falls inside the digits.
            return String(decoding: digits[..<n], as: UTF8.self) + "." + String(decoding: digits[n...], as: UTF8.self)
        }
        if -6 < n && n <= 0 {
            // Step 8: a small fraction, "0." and −n zeros (down to 0.000001).
            return "0." + String(repeating: "0", count: -n) + s
        }
        // Steps 9–10: exponent form with an explicit sign, e.g. 1e+21, 1.5e-7.
        let exponent = n - 1
        let exponentText = (exponent < 0 ? "-" : "+") + String(abs(exponent))
        if k == 1 { return s + "e" + exponentText }
        return String(decoding: digits[..<1], as: UTF8.self) + "." + String(decoding: digits[1...], as: UTF8.self)
            + "e" + exponentText
    }
}
