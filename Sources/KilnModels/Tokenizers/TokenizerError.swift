// The one error type of the tokenizer loader. Every case carries the offending value so that a
// malformed tokenizer.json names what was wrong instead of crashing (swift-transformers has the
// same shape, but Kiln throws where it calls fatalError).

import Foundation

/// An error raised while loading a tokenizer (tokenizer.json, tokenizer.model or GGUF metadata).
public enum TokenizerError: Error, Sendable, Equatable {
    /// The data is not a JSON document; carries the parser's description.
    case invalidJSON(String)
    /// A required key is missing; carries the dotted path of the key.
    case missingKey(String)
    /// A key holds a value of the wrong kind; carries the path and the expected kind.
    case invalidValue(path: String, expected: String)
    /// A stage `type` string that Kiln does not implement; carries the stage and the type.
    case unsupportedType(stage: String, type: String)
    /// A regular expression from the file did not compile; carries the pattern.
    case invalidRegex(String)
    /// A merge names a token or a pair that is not in the vocabulary; carries the merge.
    case invalidMerge(String)
    /// A special token used by a post-processor or the config is not in the vocabulary.
    case unknownToken(String)
    /// A file could not be read; carries the path.
    case unreadableFile(String)
    /// A SentencePiece `tokenizer.model` or GGUF tokenizer is malformed; carries what was wrong.
    case invalidModelFile(String)

    /// A one-sentence description of the error.
    public var message: String {
        switch self {
        case .invalidJSON(let why): return "The tokenizer file is not valid JSON: \(why)."
        case .missingKey(let path): return "The tokenizer file has no required key \"\(path)\"."
        case .invalidValue(let path, let expected): return "The tokenizer key \"\(path)\" should be \(expected)."
        case .unsupportedType(let stage, let type): return "The \(stage) type \"\(type)\" is not supported."
        case .invalidRegex(let pattern): return "The regular expression \"\(pattern)\" does not compile."
        case .invalidMerge(let merge): return "The merge \"\(merge)\" names tokens that are not in the vocabulary."
        case .unknownToken(let token): return "The token \"\(token)\" is not in the vocabulary."
        case .unreadableFile(let path): return "The tokenizer file \"\(path)\" could not be read."
        case .invalidModelFile(let why): return "The tokenizer model is malformed: \(why)."
        }
    }
}

extension TokenizerError: LocalizedError {
    /// The same sentence as `message`, for Foundation callers.
    public var errorDescription: String? { message }
}

// MARK: - Internal JSON access

/// A typed view of a `JSONSerialization` object that throws `TokenizerError` with the key path.
struct JSONNode {
    let value: Any
    let path: String

    init(_ value: Any, path: String = "") {
        self.value = value
        self.path = path
    }

    static func parse(_ data: Data) throws(TokenizerError) -> JSONNode {
        do {
            return JSONNode(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
        } catch {
            throw .invalidJSON(String(describing: error))
        }
    }

    var isNull: Bool { value is NSNull }

    /// The child at `key`, or nil when absent or null.
    subscript(_ key: String) -> JSONNode? {
        guard let dict = value as? [String: Any], let child = dict[key], !(child is NSNull) else { return nil }
        return JSONNode(child, path: path.isEmpty ? key : path + "." + key)
    }

    func required(_ key: String) throws(TokenizerError) -> JSONNode {
        guard let child = self[key] else { throw .missingKey(path.isEmpty ? key : path + "." + key) }
        return child
    }

    func string() throws(TokenizerError) -> String {
        guard let s = value as? String else { throw .invalidValue(path: path, expected: "a string") }
        return s
    }

    func int() throws(TokenizerError) -> Int {
        guard !(value is String), let n = value as? Int else { throw .invalidValue(path: path, expected: "an integer") }
        return n
    }

    func bool() throws(TokenizerError) -> Bool {
        guard let b = value as? Bool else { throw .invalidValue(path: path, expected: "a boolean") }
        return b
    }

    func array() throws(TokenizerError) -> [JSONNode] {
        guard let a = value as? [Any] else { throw .invalidValue(path: path, expected: "an array") }
        return a.enumerated().map { JSONNode($0.element, path: "\(path)[\($0.offset)]") }
    }

    func object() throws(TokenizerError) -> [String: JSONNode] {
        guard let d = value as? [String: Any] else { throw .invalidValue(path: path, expected: "an object") }
        var out: [String: JSONNode] = [:]
        for (k, v) in d { out[k] = JSONNode(v, path: path.isEmpty ? k : path + "." + k) }
        return out
    }

    func typeName() throws(TokenizerError) -> String { try required("type").string() }

    func string(_ key: String, default def: String) throws(TokenizerError) -> String {
        guard let c = self[key] else { return def }
        return try c.string()
    }

    func bool(_ key: String, default def: Bool) throws(TokenizerError) -> Bool {
        guard let c = self[key] else { return def }
        return try c.bool()
    }

    func int(_ key: String, default def: Int) throws(TokenizerError) -> Int {
        guard let c = self[key] else { return def }
        return try c.int()
    }
}
