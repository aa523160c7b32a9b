// Lowercase hex, the only binary-to-text form the ledger formats use (hashes, keys, signatures).
//
// A namespace rather than an extension on [UInt8]: KilnStore already extends Sequence<UInt8> with
// `hexString`, and a second public extension would make the name ambiguous wherever both are imported.

/// Lowercase hexadecimal encoding and decoding of byte strings.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex, two digits per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a hex string (either case), or `nil` if it has odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// The bytes of a lowercase hex string of exactly `count` bytes; the form every ledger field must use.
    ///
    /// Canonical formats need one spelling per value, so uppercase digits are rejected here.
    /// - Throws: `LedgerError.invalidHex(field:)` naming `field`.
    public static func decodeCanonical(_ text: String, count: Int, field: String) throws(LedgerError) -> [UInt8] {
        guard text.utf8.count == count * 2, let bytes = decode(text), encode(bytes) == text else {
            throw .invalidHex(field: field)
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
