// Request decoding that refuses unknown fields and names the field that is wrong.
import Foundation

/// A coding key for any string: lists the keys an object really has, and writes keys known only at run time.
public struct AnyKey: CodingKey {
    /// The key.
    public var stringValue: String
    /// Never an integer key.
    public var intValue: Int? { nil }
    /// A key named `string`.
    public init(_ string: String) { stringValue = string }
    /// A key named `stringValue`.
    public init(stringValue: String) { self.stringValue = stringValue }
    /// Integer keys are not used.
    public init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws if the object being decoded has a key outside `allowed`; typos must not be silently ignored.
    public func rejectUnknownKeys(_ allowed: Set<String>) throws {
        let container = try container(keyedBy: AnyKey.self)
        for key in container.allKeys where !allowed.contains(key.stringValue) {
            let path = (codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw DataError.badRequest(code: "unknown_field", message: "Unknown field \"\(path)\".")
        }
    }
}

/// Decodes JSON request bodies into typed values, turning decoder errors into `DataError`s.
public enum RequestDecoder {
    /// Decodes `T` from `data`.
    /// - Throws: `DataError.badRequest` naming the field and what was wrong with it.
    public static func decode<T: Decodable>(_ type: T.Type, from data: some DataProtocol) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(data))
        } catch let error as DataError {
            throw error
        } catch let DecodingError.typeMismatch(expected, context) {
            throw DataError.badRequest(code: "wrong_type", message: "Field \"\(path(context))\" must be \(describe(expected)).")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw DataError.badRequest(code: "wrong_type", message: "Field \"\(path(context))\" must be \(describe(expected)), not null.")
        } catch let DecodingError.keyNotFound(key, context) {
            let full = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw DataError.badRequest(code: "missing_field", message: "Field \"\(full)\" is required.")
        } catch let DecodingError.dataCorrupted(context) {
            if let underlying = context.underlyingError as? DataError { throw underlying }
            if context.codingPath.isEmpty {
                throw DataError.badRequest(code: "invalid_json", message: "The body is not valid JSON.")
            }
            throw DataError.badRequest(code: "invalid_value", message: "Field \"\(path(context))\": \(context.debugDescription)")
        } catch {
            throw DataError.badRequest(code: "invalid_json", message: "The body is not valid JSON.")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return joined.isEmpty ? "(body)" : joined.replacingOccurrences(of: ".[", with: "[")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
