// The one way a whole number that arrives in a request (path, query, header, form field) becomes an Int.

/// Parses request numbers strictly and within bounds, so that no value a client sends can make later arithmetic trap.
///
/// Every accepted value lies in `0...maxValue` (or a narrower range the caller names). `maxValue` is 2⁵³: far above any
/// row id, position or count a node holds, and far enough below `Int.max` that adding a page size, an offset or
/// another bounded value can never overflow. That bound, not care at each use, is what keeps
/// `?from=9223372036854775807` from stopping the process.
public enum RequestNumber {
    /// The largest number a request may carry: 2⁵³.
    public static let maxValue = 1 << 53

    /// The most characters a number may have (leading zeros included); longer text is refused before it is read.
    static let maxCharacters = 24

    /// `text` as plain decimal digits within `range`, or `nil` for anything else: signs, spaces, hex, exponents,
    /// fractions, NaN, `%00`, 20+ digit values and values outside `range`.
    public static func parse(_ text: some StringProtocol, in range: ClosedRange<Int> = 0...maxValue) -> Int? {
        let bounded = range.clamped(to: 0...maxValue)
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= maxCharacters else { return nil }
        var value = 0
        for byte in utf8 {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
            // Stops long before Int.max: maxValue × 10 + 9 still fits in 64 bits.
            if value > maxValue { return nil }
        }
        return bounded.contains(value) ? value : nil
    }

    /// `text` parsed as `parse` does, `nil` when `text` is `nil`.
    /// - Throws: `DataError.badRequest` with code `invalid_<name>` when `text` is present but not a number in `range`.
    public static func optional(_ text: String?, name: String, in range: ClosedRange<Int> = 0...maxValue) throws -> Int? {
        guard let text else { return nil }
        guard let value = parse(text, in: range) else {
            let bounded = range.clamped(to: 0...maxValue)
            throw DataError.badRequest(code: "invalid_\(name)",
                                       message: "\(name) must be a whole number from \(bounded.lowerBound) to \(bounded.upperBound).")
        }
        return value
    }
}
