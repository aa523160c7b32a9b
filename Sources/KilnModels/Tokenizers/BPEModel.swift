// Byte-pair encoding, ported from upstream tokenizers `models/bpe/{model,word}.rs`: symbols start
// as single characters (or byte-fallback tokens), then the lowest-ranked adjacent pair is merged,
// leftmost first, through a binary heap so long words stay O(n log n).

import Foundation
import Synchronization

/// A tokenization model: turns one pre-token into ids.
protocol TokenModel: Sendable {
    /// The ids of one pre-tokenized word.
    func tokenize(_ word: String) -> [Int]
    /// The id of a vocabulary token (exact UTF-8 match, no canonical equivalence).
    func id(for token: String) -> Int?
    /// The token string of an id.
    func token(for id: Int) -> String?
    /// Every id in the vocabulary.
    var ids: [Int] { get }
}

/// Builds the model from the `model` key, switching on the upstream `type` name.
func makeModel(_ node: JSONNode) throws(TokenizerError) -> any TokenModel {
    var type = try node.string("type", default: "")
    if type.isEmpty { type = node["merges"] != nil ? "BPE" : (node["max_input_chars_per_word"] != nil ? "WordPiece" : "") }
    switch type {
    case "BPE": return try BPEModel(node)
    case "WordPiece": return try WordPieceModel(node)
    case "Unigram": return try SentencePieceUnigramModel(tokenizerJSON: node)
    default: throw .unsupportedType(stage: "model", type: type)
    }
}

/// Reads `model.vocab` (token → id) into a byte-keyed table and its inverse.
func readVocab(_ node: JSONNode) throws(TokenizerError) -> (vocab: [[UInt8]: Int], tokens: [Int: String]) {
    var vocab: [[UInt8]: Int] = [:]
    var tokens: [Int: String] = [:]
    for (token, idNode) in try node.required("vocab").object() {
        let id = try idNode.int()
        guard id >= 0 else { throw .invalidValue(path: idNode.path, expected: "a non-negative id") }
        vocab[Array(token.utf8)] = id
        tokens[id] = token
    }
    return (vocab, tokens)
}

/// The BPE model.
final class BPEModel: TokenModel {
    let vocab: [[UInt8]: Int]
    let vocabTokens: [Int: String]
    /// (left id << 32 | right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let unkId: Int?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: [UInt8]
    let suffix: [UInt8]
    /// `<0xXX>` token ids, when present.
    let byteIds: [Int?]
    /// Single-character tokens by scalar value: the initial symbols without building keys.
    let scalarIds: [UInt32: Int]
    private let cache = Mutex<[[UInt8]: [Int]]>([:])

    init(_ node: JSONNode) throws(TokenizerError) {
        (vocab, vocabTokens) = try readVocab(node)
        fuseUnk = try node.bool("fuse_unk", default: false)
        byteFallback = try node.bool("byte_fallback", default: false)
        ignoreMerges = try node.bool("ignore_merges", default: false)
        prefix = Array(try node.string("continuing_subword_prefix", default: "").utf8)
        suffix = Array(try node.string("end_of_word_suffix", default: "").utf8)
        if let unk = node["unk_token"] {
            let name = try unk.string()
            unkId = vocab[Array(name.utf8)]
        } else {
            unkId = nil
        }
        let vocab = self.vocab
        var singles: [UInt32: Int] = [:]
        for (id, token) in vocabTokens {
            var it = token.unicodeScalars.makeIterator()
            if let first = it.next(), it.next() == nil, vocab[Array(token.utf8)] == id { singles[first.value] = id }
        }
        scalarIds = singles
        byteIds = (0..<256).map { vocab[Array(String(format: "<0x%02X>", $0).utf8)] }
        var table: [UInt64: (rank: Int32, id: Int32)] = [:]
        let mergeNodes = try node["merges"]?.array() ?? []
        table.reserveCapacity(mergeNodes.count)
        let prefix = self.prefix
        for (rank, m) in mergeNodes.enumerated() {
            let pair: [String]
            if let s = m.value as? String {
                // Upstream `convert_merges_to_hashmap` requires exactly one space.
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw .invalidMerge(s) }
                pair = parts.map(String.init)
            } else if let a = m.value as? [Any], a.count == 2, let l = a[0] as? String, let r = a[1] as? String {
                pair = [l, r]
            } else {
                throw .invalidValue(path: m.path, expected: "a merge \"a b\" or [\"a\", \"b\"]")
            }
            let left = Array(pair[0].utf8), right = Array(pair[1].utf8)
            guard let l = vocab[left], let r = vocab[right] else { throw .invalidMerge(pair.joined(separator: " ")) }
            // The merged token drops the right side's continuing-subword prefix (upstream `merge_word`).
            let rightCore = !prefix.isEmpty && right.starts(with: prefix) ? Array(right.dropFirst(prefix.count)) : right
            guard let merged = vocab[left + rightCore] else { throw .invalidMerge(pair.joined(separator: " ")) }
            guard l <= Int32.max, r <= Int32.max, merged <= Int32.max else { throw .invalidMerge(pair.joined(separator: " ")) }
            let key = UInt64(l) << 32 | UInt64(r)
            if table[key] == nil { table[key] = (Int32(rank), Int32(merged)) }
        }
        merges = table
    }

    var ids: [Int] { Array(vocabTokens.keys) }
    func id(for token: String) -> Int? { vocab[Array(token.utf8)] }
    func token(for id: Int) -> String? { vocabTokens[id] }

    func tokenize(_ word: String) -> [Int] {
        let bytes = Array(word.utf8)
        if bytes.isEmpty { return [] }
        if ignoreMerges, let id = vocab[bytes] { return [id] }
        let cacheable = bytes.count < 256
        if cacheable, let hit = cache.withLock({ $0[bytes] }) { return hit }
        let result = mergeWord(word)
        if cacheable {
            cache.withLock { table in
                if table.count > 200_000 { table.removeAll(keepingCapacity: true) }
                table[bytes] = result
            }
        }
        return result
    }

    /// Splits into initial symbols, then merges by rank (upstream `Word::merge_all`).
    private func mergeWord(_ word: String) -> [Int] {
        var symbols: [Int] = []
        var lastWasUnk = false
        let scalars = Array(word.unicodeScalars)
        let plain = prefix.isEmpty && suffix.isEmpty
        for (i, s) in scalars.enumerated() {
            var found: Int?
            if plain {
                found = scalarIds[s.value]
            } else {
                var key = Array(String(s).utf8)
                if i > 0 && !prefix.isEmpty { key = prefix + key }
                if i == scalars.count - 1 && !suffix.isEmpty { key += suffix }
                found = vocab[key]
            }
            if let id = found {
                symbols.append(id)
                lastWasUnk = false
                continue
            }
            if byteFallback {
                let fallback = String(s).utf8.map { byteIds[Int($0)] }
                if fallback.allSatisfy({ $0 != nil }) {
                    symbols.append(contentsOf: fallback.map { $0! })
                    lastWasUnk = false
                    continue
                }
            }
            if let unkId {
                if !(fuseUnk && lastWasUnk) { symbols.append(unkId) }
                lastWasUnk = true
            }
        }
        return BPEModel.merge(symbols, merges: merges)
    }

    /// The heap-driven merge loop over a linked list of symbols.
    static func merge(_ initial: [Int], merges: [UInt64: (rank: Int32, id: Int32)]) -> [Int] {
        let n = initial.count
        if n < 2 { return initial }
        var ids = initial
        var prev = Array(-1..<(n - 1))
        var next = Array(1...n)
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        func pairKey(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b)) }
        for i in 0..<(n - 1) {
            if let m = merges[pairKey(ids[i], ids[i + 1])] { heap.push(rank: m.rank, pos: Int32(i), id: m.id) }
        }
        while let top = heap.pop() {
            let pos = Int(top.pos)
            guard alive[pos], next[pos] != -1 else { continue }
            let right = next[pos]
            // Stale entry: the pair changed since it was pushed.
            guard let m = merges[pairKey(ids[pos], ids[right])], m.rank == top.rank, m.id == top.id else { continue }
            ids[pos] = Int(m.id)
            alive[right] = false
            next[pos] = next[right]
            if next[right] != -1 { prev[next[right]] = pos }
            if prev[pos] != -1, let p = merges[pairKey(ids[prev[pos]], ids[pos])] {
                heap.push(rank: p.rank, pos: Int32(prev[pos]), id: p.id)
            }
            if next[pos] != -1, let p = merges[pairKey(ids[pos], ids[next[pos]])] {
                heap.push(rank: p.rank, pos: Int32(pos), id: p.id)
            }
        }
        var out: [Int] = []
        var i = 0
        while i != -1 { out.append(ids[i]); i = next[i] }
        return out
    }
}

/// A min-heap of candidate merges ordered by (rank, position), like upstream's `Merge` ordering.
struct MergeHeap {
    struct Entry { var rank: Int32; var pos: Int32; var id: Int32 }
    private var items: [Entry] = []

    private static func less(_ a: Entry, _ b: Entry) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos }

    mutating func push(rank: Int32, pos: Int32, id: Int32) {
        items.append(Entry(rank: rank, pos: pos, id: id))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard MergeHeap.less(items[c], items[p]) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count && MergeHeap.less(items[l], items[m]) { m = l }
                if r < items.count && MergeHeap.less(items[r], items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return first
    }
}
