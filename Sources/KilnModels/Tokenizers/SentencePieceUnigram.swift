// SentencePiece's Unigram encoder (upstream `unigram_model.cc`, `EncodeOptimized`): Viterbi over
// every piece that starts at each character, keeping per end position the best total score.
// Unused pieces are skipped, user-defined pieces score `length * max_score - 0.1` so they always
// win, and a character no piece covers costs `min_score - 10` as the unknown piece; runs of unknown
// characters fuse into one unknown piece. Checked against sentencepiece on a trained model
// (Tests/Fixtures/sentencepiece_nmt) and, for tokenizer.json's `Unigram` model (the same lattice in
// the tokenizers library), against tokenizers on the same vocabulary.

import Foundation

/// A SentencePiece Unigram model.
final class SentencePieceUnigramModel: TokenModel {
    let texts: [String]
    let pieceIds: [[UInt8]: Int]
    /// A byte trie of the pieces Viterbi may use: children per node, and the piece id ending there.
    private let children: [[UInt8: Int32]]
    private let terminal: [Int32]
    private let scores: [Float]
    private let unkScore: Float
    private let byteIds: [Int?]
    private let byteFallback: Bool
    private let unkId: Int?

    init(spec: SentencePieceSpec) throws(TokenizerError) {
        texts = spec.pieces.map(\.text)
        var ids: [[UInt8]: Int] = [:]
        var kids: [[UInt8: Int32]] = [[:]]
        var ends: [Int32] = [-1]
        var score = [Float](repeating: 0, count: spec.pieces.count)
        // Upstream starts max at FLT_MIN (the smallest positive float), so it never goes below ~0.
        var minScore = Float.greatestFiniteMagnitude, maxScore = Float.leastNormalMagnitude
        for p in spec.pieces where p.type == .normal && !p.score.isNaN {
            minScore = min(minScore, p.score)
            maxScore = max(maxScore, p.score)
        }
        for (id, p) in spec.pieces.enumerated() {
            let u = Array(p.text.utf8)
            if ids[u] == nil { ids[u] = id }
            score[id] = p.type == .userDefined ? Float(p.text.unicodeScalars.count) * maxScore - 0.1 : (p.score.isNaN ? -.infinity : p.score)
            guard p.type == .normal || p.type == .userDefined, !u.isEmpty else { continue }
            var node = 0
            for b in u {
                if let next = kids[node][b] {
                    node = Int(next)
                } else {
                    kids[node][b] = Int32(kids.count)
                    node = kids.count
                    kids.append([:])
                    ends.append(-1)
                }
            }
            if ends[node] < 0 { ends[node] = Int32(id) }
        }
        pieceIds = ids
        children = kids
        terminal = ends
        scores = score
        unkScore = (minScore == .greatestFiniteMagnitude ? 0 : minScore) - 10
        byteIds = (0..<256).map { b in
            ids[Array(String(format: "<0x%02X>", b).utf8)].flatMap { spec.pieces[$0].type == .byte ? $0 : nil }
        }
        byteFallback = spec.byteFallback
        unkId = spec.unkId >= 0 && spec.unkId < spec.pieces.count ? spec.unkId : nil
    }

    /// tokenizers' `Unigram` model of tokenizer.json: `vocab` as [piece, score] pairs, `unk_id`, `byte_fallback`.
    /// - Throws: `TokenizerError.invalidValue` for a malformed vocabulary or an unknown id outside it.
    convenience init(tokenizerJSON node: JSONNode) throws(TokenizerError) {
        var pieces: [SentencePieceSpec.Piece] = []
        for entry in try node.required("vocab").array() {
            let pair = try entry.array()
            guard pair.count == 2, let score = pair[1].value as? Double ?? (pair[1].value as? Int).map(Double.init) else {
                throw .invalidValue(path: entry.path, expected: "a [piece, score] pair")
            }
            pieces.append(.init(text: try pair[0].string(), score: Float(score), type: .normal))
        }
        guard !pieces.isEmpty else { throw .invalidValue(path: node.path + ".vocab", expected: "a non-empty vocabulary") }
        let unk = try node["unk_id"].flatMap { $0.value is NSNull ? nil : $0 }.map { n throws(TokenizerError) in try n.int() }
        if let unk {
            guard unk >= 0 && unk < pieces.count else { throw .invalidValue(path: node.path + ".unk_id", expected: "an id in the vocabulary") }
            pieces[unk].type = .unknown
        }
        let byteFallback = try node.bool("byte_fallback", default: false)
        if byteFallback {
            for i in pieces.indices where pieces[i].text.count == 6 && pieces[i].text.hasPrefix("<0x") && pieces[i].text.hasSuffix(">") {
                pieces[i].type = .byte
            }
        }
        var spec = SentencePieceSpec(pieces: pieces, modelType: 1)
        spec.unkId = unk ?? -1
        spec.byteFallback = byteFallback
        try self.init(spec: spec)
    }

    var ids: [Int] { Array(texts.indices) }
    func id(for token: String) -> Int? { pieceIds[Array(token.utf8)] }
    func token(for id: Int) -> String? { texts.indices.contains(id) ? texts[id] : nil }

    func tokenize(_ word: String) -> [Int] {
        let u = Array(word.utf8)
        let n = u.count
        if n == 0 { return [] }
        // Per end byte: best score, where the best piece starts, and its id (-1 = unknown).
        var best = [Float](repeating: 0, count: n + 1)
        var from = [Int](repeating: -1, count: n + 1)
        var piece = [Int](repeating: -1, count: n + 1)
        var start = 0
        while start < n {
            var len = 1
            while start + len < n, u[start + len] & 0xC0 == 0x80 { len += 1 }
            let base = best[start]
            var hasSingle = false
            var node = 0
            var pos = start
            while pos < n, let next = children[node][u[pos]] {
                node = Int(next)
                pos += 1
                let id = Int(terminal[node])
                guard id >= 0 else { continue }
                let candidate = scores[id] + base
                if from[pos] == -1 || candidate > best[pos] {
                    best[pos] = candidate
                    from[pos] = start
                    piece[pos] = id
                }
                if pos - start == len { hasSingle = true }
            }
            if !hasSingle {
                let end = start + len
                let candidate = unkScore + base
                if from[end] == -1 || candidate > best[end] {
                    best[end] = candidate
                    from[end] = start
                    piece[end] = -1
                }
            }
            start += len
        }
        var spans: [(Range<Int>, Int)] = []
        var end = n
        while end > 0, from[end] >= 0 {
            spans.append((from[end]..<end, piece[end]))
            end = from[end]
        }
        var out: [Int] = []
        var lastWasUnk = false
        for (range, id) in spans.reversed() {
            if id >= 0 {
                out.append(id)
                lastWasUnk = false
            } else if byteFallback, u[range].allSatisfy({ byteIds[Int($0)] != nil }) {
                out.append(contentsOf: u[range].map { byteIds[Int($0)]! })
                lastWasUnk = false
            } else if let unkId {
                // Upstream merges a run of unknown characters into one unknown piece.
                if !lastWasUnk { out.append(unkId) }
                lastWasUnk = true
            }
        }
        return out
    }
}
