// Added tokens: matched in the text before normalization and the model run (upstream
// `AddedVocabulary::extract_and_normalize`). Tokens with `normalized: false` are found in the raw
// text; those with `normalized: true` in each normalized piece. Matching is leftmost-longest, as
// upstream's Aho-Corasick `MatchKind::LeftmostLongest`.

import Foundation

/// One entry of `added_tokens` in tokenizer.json.
public struct AddedToken: Sendable, Equatable {
    /// The token text.
    public let content: String
    /// The token id.
    public let id: Int
    /// True for control tokens that `skipSpecialTokens` removes when decoding.
    public let special: Bool
    /// Only matches when not inside a word.
    public let singleWord: Bool
    /// Also consumes whitespace on its left.
    public let lstrip: Bool
    /// Also consumes whitespace on its right.
    public let rstrip: Bool
    /// Matched in normalized text rather than raw text.
    public let normalized: Bool

    /// A token made in code (SentencePiece and GGUF sources); matched in raw text unless `normalized`.
    init(content: String, id: Int, special: Bool, normalized: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.normalized = normalized
        singleWord = false
        lstrip = false
        rstrip = false
    }

    init(_ node: JSONNode, id overrideID: Int? = nil) throws(TokenizerError) {
        content = try node.required("content").string()
        if let overrideID { id = overrideID } else { id = try node.required("id").int() }
        special = try node.bool("special", default: false)
        singleWord = try node.bool("single_word", default: false)
        lstrip = try node.bool("lstrip", default: false)
        rstrip = try node.bool("rstrip", default: false)
        normalized = try node.bool("normalized", default: !special)
    }
}

/// A piece of input after added-token extraction.
enum Segment {
    /// Plain text; `atStart` is true when it begins the input.
    case text(String, atStart: Bool)
    /// An added token's id.
    case token(Int)
}

/// Finds added tokens in UTF-8 text.
struct AddedTokenMatcher: Sendable {
    /// Candidates indexed by first byte, longest first.
    private let byFirstByte: [[(bytes: [UInt8], token: AddedToken)]]
    let isEmpty: Bool

    init(_ tokens: [AddedToken], contentTransform: (String) -> String = { $0 }) {
        var table = [[(bytes: [UInt8], token: AddedToken)]](repeating: [], count: 256)
        for t in tokens {
            let bytes = Array(contentTransform(t.content).utf8)
            guard let first = bytes.first else { continue }
            table[Int(first)].append((bytes, t))
        }
        for i in 0..<256 { table[i].sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
        isEmpty = tokens.isEmpty
    }

    /// Splits `text` into text and token segments.
    func split(_ text: String, atStart: Bool) -> [Segment] {
        if isEmpty || text.isEmpty { return text.isEmpty ? [] : [.text(text, atStart: atStart)] }
        let u = Array(text.utf8)
        var out: [Segment] = []
        var textStart = 0
        var i = 0
        while i < u.count {
            guard let hit = match(u, at: i) else { i += 1; continue }
            var start = i, end = i + hit.bytes.count
            if hit.token.lstrip { while start > textStart, AddedTokenMatcher.isSpace(u[start - 1]) { start -= 1 } }
            if hit.token.rstrip { while end < u.count, AddedTokenMatcher.isSpace(u[end]) { end += 1 } }
            if start > textStart {
                out.append(.text(String(decoding: u[textStart..<start], as: UTF8.self), atStart: atStart && textStart == 0))
            }
            out.append(.token(hit.token.id))
            textStart = end
            i = end
        }
        if textStart < u.count {
            out.append(.text(String(decoding: u[textStart...], as: UTF8.self), atStart: atStart && textStart == 0))
        }
        return out
    }

    private func match(_ u: [UInt8], at i: Int) -> (bytes: [UInt8], token: AddedToken)? {
        for candidate in byFirstByte[Int(u[i])] {
            let b = candidate.bytes
            guard i + b.count <= u.count, u[i..<(i + b.count)].elementsEqual(b) else { continue }
            if candidate.token.singleWord {
                // Upstream: the characters around a single-word token must not be word characters.
                let before = String(decoding: u[..<i], as: UTF8.self).unicodeScalars.last
                let after = String(decoding: u[(i + b.count)...], as: UTF8.self).unicodeScalars.first
                if let before, AddedTokenMatcher.isWordChar(before) { continue }
                if let after, AddedTokenMatcher.isWordChar(after) { continue }
            }
            return candidate
        }
        return nil
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }

    private static func isWordChar(_ s: Unicode.Scalar) -> Bool {
        s == "_" || s.properties.isAlphabetic || s.properties.numericType != nil
    }
}
