// A JSON value with exactly one byte serialisation: RFC 8785, the JSON Canonicalization Scheme (JCS).
//
// Ledger entries and tree heads are hashed and signed as JCS bytes, so any outside verifier that
// implements RFC 8785 (JavaScript's JSON.stringify on sorted keys, Python's `rfc8785`, …) recomputes
// the same hashes. Parsing lives in CanonicalJSONParser.swift, serialisation in CanonicalJSON+JCS.swift.
import Foundation

/// A JSON value (RFC 8259) whose serialisation is the RFC 8785 canonical form.
///
/// Numbers are IEEE 754 doubles, as RFC 8785 §3.2.2.3 and I-JSON (RFC 7493) require; integers are
/// exact up to 2^53. Object names are Swift `String`s, so two names that differ only in Unicode
/// normalisation compare equal here: the parser rejects such a pair as a duplicate rather than merging it.
public indirect enum CanonicalJSON: Sendable, Equatable {
    /// JSON `null`.
    case null
    /// JSON `true` or `false`.
    case bool(Bool)
    /// A JSON number; must be finite to be serialised.
    case number(Double)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([CanonicalJSON])
    /// A JSON object; member order is irrelevant, serialisation sorts by UTF-16 code units.
    case object([String: CanonicalJSON])

    /// An object from a dictionary.
    public init(_ dictionary: [String: CanonicalJSON]) {
        self = .object(dictionary)
    }

    /// A number from an integer; exact for |value| ≤ 2^53 (larger integers round to the nearest double).
    public init(_ value: Int) {
        self = .number(Double(value))
    }

    // MARK: - Accessors

    /// The member named `key` of an object; `nil` for a missing member or a non-object.
    public subscript(key: String) -> CanonicalJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> CanonicalJSON? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as an `Int` if it is integral and within ±(2^53 − 1), the range doubles hold exactly.
    public var intValue: Int? {
        guard case .number(let value) = self, value.isFinite, value == value.rounded(.towardZero),
              abs(value) <= CanonicalJSON.maxSafeInteger else { return nil }
        return Int(value)
    }

    /// The number, if this is a number.
    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [CanonicalJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [String: CanonicalJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// 2^53 − 1, the largest integer every JSON implementation reads back exactly (RFC 7493 §2.2).
    public static let maxSafeInteger: Double = 9_007_199_254_740_991
}

// MARK: - Literals

extension CanonicalJSON: ExpressibleByNilLiteral {
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
}

extension CanonicalJSON: ExpressibleByBooleanLiteral {
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension CanonicalJSON: ExpressibleByIntegerLiteral {
    /// An integer literal, stored as a double.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension CanonicalJSON: ExpressibleByFloatLiteral {
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension CanonicalJSON: ExpressibleByStringLiteral {
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension CanonicalJSON: ExpressibleByArrayLiteral {
    /// An array literal.
    public init(arrayLiteral elements: CanonicalJSON...) { self = .array(elements) }
}

extension CanonicalJSON: ExpressibleByDictionaryLiteral {
    /// A dictionary literal; a repeated key keeps its last value, as `Dictionary(_:uniquingKeysWith:)` would.
    public init(dictionaryLiteral elements: (String, CanonicalJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Codable

extension CanonicalJSON: Codable {
    /// Decodes any JSON value; for hashing, prefer `parse(_:)`, which is stricter than `JSONDecoder`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([CanonicalJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: CanonicalJSON].self)) }
    }

    /// Encodes the value; safe integers are written as integers so encoders never print `1.0`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if let int = intValue { try container.encode(int) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
