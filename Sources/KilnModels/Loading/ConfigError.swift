// Typed errors for config.json / generation_config.json and the decoding helpers that produce them.
// Decoding goes through JSONDecoder (STYLE rule 3: Decodable structs mirroring config.json); every
// DecodingError is translated into a ConfigError naming the key, so callers never see Foundation's.
import Foundation

/// Why a model or generation config was refused; cases name the JSON key at fault.
public enum ConfigError: Error, Equatable, Sendable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The bytes are not JSON (or not an object).
    case malformedJSON(reason: String)
    /// A required key is absent.
    case missingKey(String)
    /// A key holds a value of the wrong JSON type.
    case wrongType(key: String, expected: String)
    /// A key holds a value out of its valid range.
    case invalidValue(key: String, reason: String)
    /// `model_type` names a family Kiln does not implement.
    case unsupportedModelType(String)
    /// `rope_type`/`type` names a rope schedule Kiln does not implement.
    case unsupportedRopeType(String)
}

/// Token ids that config files write either as one integer or as a list (`eos_token_id: [1, 2]`).
public struct TokenIDs: Decodable, Sendable, Equatable {
    /// The ids in file order; empty for `null`.
    public let ids: [Int]

    /// Wraps ids directly.
    public init(_ ids: [Int]) { self.ids = ids }

    /// Decodes an int, a list of ints, or null.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            ids = []
        } else if let one = try? container.decode(Int.self) {
            ids = [one]
        } else {
            ids = try container.decode([Int].self)
        }
        guard ids.allSatisfy({ $0 >= 0 }) else {
            throw ConfigError.invalidValue(key: decoder.codingPath.last?.stringValue ?? "token id", reason: "negative id")
        }
    }
}

extension ConfigError {
    /// Runs a JSONDecoder decode of `T` from the file at `url`, translating every failure.
    static func decodeFile<T: Decodable>(_ type: T.Type, url: URL) throws(ConfigError) -> T {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(path: url.path, reason: "\(error)") }
        return try decode(type, data: data)
    }

    /// Decodes `T` from JSON bytes, translating every failure into a `ConfigError`.
    static func decode<T: Decodable>(_ type: T.Type, data: Data) throws(ConfigError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as ConfigError {
            throw error
        } catch let DecodingError.keyNotFound(key, _) {
            throw .missingKey(key.stringValue)
        } catch let DecodingError.typeMismatch(expected, context) {
            if context.codingPath.isEmpty { throw .malformedJSON(reason: "top level is not a JSON object") }
            throw .wrongType(key: keyPath(context.codingPath), expected: "\(expected)")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw .wrongType(key: keyPath(context.codingPath), expected: "\(expected)")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty { throw .malformedJSON(reason: context.debugDescription) }
            throw .invalidValue(key: keyPath(context.codingPath), reason: context.debugDescription)
        } catch {
            throw .malformedJSON(reason: "\(error)")
        }
    }

    static func keyPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Range checks shared by the config decoders; each throws `ConfigError.invalidValue` naming the key.
enum ConfigCheck {
    /// Upper bound for any size in a config: above real models (vocab ~1e6, context ~1e7), and low enough that
    /// what a size alone allocates before any weight is checked (rotary tables of head_dim / 2) stays small.
    static let maxSize = 1 << 26

    static func positive(_ value: Int, _ key: String) throws(ConfigError) -> Int {
        guard value > 0 else { throw .invalidValue(key: key, reason: "must be > 0, got \(value)") }
        guard value <= maxSize else { throw .invalidValue(key: key, reason: "unreasonably large: \(value)") }
        return value
    }

    static func positive(_ value: Double, _ key: String) throws(ConfigError) -> Double {
        guard value.isFinite, value > 0 else { throw .invalidValue(key: key, reason: "must be finite and > 0, got \(value)") }
        return value
    }

    static func nonNegative(_ value: Int, _ key: String) throws(ConfigError) -> Int {
        guard value >= 0 else { throw .invalidValue(key: key, reason: "must be >= 0, got \(value)") }
        guard value <= maxSize else { throw .invalidValue(key: key, reason: "unreasonably large: \(value)") }
        return value
    }
}
