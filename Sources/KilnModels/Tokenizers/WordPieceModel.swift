// WordPiece (BERT), ported from upstream tokenizers `models/wordpiece/mod.rs`: greedy longest
// match from the left, continuation pieces carry a "##" prefix, and a word with any unmatched
// part becomes a single unknown token.

import Foundation

/// The WordPiece model.
struct WordPieceModel: TokenModel {
    let vocab: [[UInt8]: Int]
    let vocabTokens: [Int: String]
    let unkToken: String
    let prefix: [UInt8]
    let maxInputCharsPerWord: Int

    init(_ node: JSONNode) throws(TokenizerError) {
        (vocab, vocabTokens) = try readVocab(node)
        unkToken = try node.string("unk_token", default: "[UNK]")
        prefix = Array(try node.string("continuing_subword_prefix", default: "##").utf8)
        maxInputCharsPerWord = try node.int("max_input_chars_per_word", default: 100)
        guard vocab[Array(unkToken.utf8)] != nil else { throw .unknownToken(unkToken) }
    }

    var ids: [Int] { Array(vocabTokens.keys) }
    func id(for token: String) -> Int? { vocab[Array(token.utf8)] }
    func token(for id: Int) -> String? { vocabTokens[id] }

    func tokenize(_ word: String) -> [Int] {
        let unk = vocab[Array(unkToken.utf8)] ?? 0
        let scalars = Array(word.unicodeScalars)
        if scalars.isEmpty { return [] }
        if scalars.count > maxInputCharsPerWord { return [unk] }
        let pieces = scalars.map { Array(String($0).utf8) }
        var out: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int?
            while start < end {
                var key = start > 0 ? prefix : []
                for i in start..<end { key += pieces[i] }
                if let id = vocab[key] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unk] }
            out.append(id)
            start = end
        }
        return out
    }
}
