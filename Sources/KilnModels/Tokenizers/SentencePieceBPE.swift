// SentencePiece's BPE encoder (upstream `bpe_model.cc`): the normalized text starts as one symbol
// per character (user-defined pieces are matched whole and never merged), then the adjacent pair
// whose concatenation is a piece with the highest score is merged, leftmost on ties. Scores are
// turned into dense ranks once at load so the heap-driven `BPEModel.merge` loop can run it.
// Characters that are not pieces become `<0xXX>` byte pieces (byte_fallback) or one unknown id
// per run, as `SentencePieceProcessor::Encode` does.

import Foundation
import Synchronization

/// A SentencePiece BPE model over the pieces of a `ModelProto` (or a GGUF "llama" vocabulary).
final class SentencePieceBPEModel: TokenModel {
    let texts: [String]
    let types: [PieceType]
    /// Every piece by its UTF-8 bytes (first occurrence wins for duplicated GGUF tokens).
    let pieceIds: [[UInt8]: Int]
    /// Single-character pieces that take part in merges (normal, user-defined, unused).
    let scalarIds: [UInt32: Int]
    /// (left id << 32 | right id) → (dense score rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    /// For an unused piece, the pair it was built from: upstream re-splits such pieces after merging.
    let unusedSplits: [Int: (Int, Int)]
    /// User-defined pieces by first byte, longest first (upstream's prefix matcher).
    let userDefined: [[(bytes: [UInt8], id: Int)]]
    let hasUserDefined: Bool
    let byteIds: [Int?]
    let byteFallback: Bool
    let unkId: Int?
    /// Adjacent scalar pairs (a << 32 | b) found inside some mergeable piece. Between two characters
    /// that form no such pair no merge can ever happen, so the text is cut there and each part is
    /// merged (and cached) on its own with the same result: merges never interact across the cut.
    let innerPairs: Set<UInt64>
    private let cache = Mutex<[[UInt8]: [Int]]>([:])

    /// Symbol placeholders: a user-defined piece is `-(id + 1)` (frozen, never in a merge key) and
    /// the k-th out-of-vocabulary character is `unknownBase - k`; both keep bit 31 of the low
    /// word set, so `BPEModel.merge`'s 32-bit pair keys can never collide with real ids.
    static let unknownBase = -(1 << 33) - 1

    init(spec: SentencePieceSpec) throws(TokenizerError) {
        guard spec.pieces.count < Int(Int32.max) else { throw .invalidModelFile("too many pieces") }
        texts = spec.pieces.map(\.text)
        types = spec.pieces.map(\.type)
        var ids: [[UInt8]: Int] = [:]
        var mergeable: [[UInt8]: Int] = [:]
        var singles: [UInt32: Int] = [:]
        var users: [[(bytes: [UInt8], id: Int)]] = Array(repeating: [], count: 256)
        for (id, p) in spec.pieces.enumerated() {
            let u = Array(p.text.utf8)
            if ids[u] == nil { ids[u] = id }
            guard p.type == .normal || p.type == .userDefined || p.type == .unused, !u.isEmpty else { continue }
            if mergeable[u] == nil { mergeable[u] = id }
            var it = p.text.unicodeScalars.makeIterator()
            if let s = it.next(), it.next() == nil, singles[s.value] == nil { singles[s.value] = id }
            if p.type == .userDefined { users[Int(u[0])].append((u, id)) }
        }
        for i in 0..<256 { users[i].sort { $0.bytes.count > $1.bytes.count } }
        var pairs = Set<UInt64>()
        for u in mergeable.keys {
            let scalars = Array(String(decoding: u, as: UTF8.self).unicodeScalars)
            for i in scalars.indices.dropFirst() { pairs.insert(UInt64(scalars[i - 1].value) << 32 | UInt64(scalars[i].value)) }
        }
        innerPairs = pairs
        pieceIds = ids
        scalarIds = singles
        userDefined = users
        hasUserDefined = users.contains { !$0.isEmpty }
        byteIds = (0..<256).map { b in
            ids[Array(String(format: "<0x%02X>", b).utf8)].flatMap { spec.pieces[$0].type == .byte ? $0 : nil }
        }
        byteFallback = spec.byteFallback
        unkId = spec.unkId >= 0 && spec.unkId < spec.pieces.count ? spec.unkId : nil

        // Dense ranks: equal scores share a rank so the heap falls back to the leftmost pair.
        func key(_ s: Float) -> Float { s.isNaN ? -.infinity : s }
        let distinct = Set(mergeable.values.map { key(spec.pieces[$0].score) }).sorted(by: >)
        var rankOf: [Float: Int32] = [:]
        for (i, s) in distinct.enumerated() { rankOf[s] = Int32(i) }
        var table: [UInt64: (rank: Int32, id: Int32)] = [:]
        var splits: [Int: (Int, Int)] = [:]
        for (id, p) in spec.pieces.enumerated() {
            let u = Array(p.text.utf8)
            guard mergeable[u] == id else { continue }
            // Every split at a character boundary into two mergeable pieces is a pair that merges into `id`.
            for cut in 1..<u.count where u[cut] & 0xC0 != 0x80 {
                guard let l = mergeable[Array(u[..<cut])], let r = mergeable[Array(u[cut...])] else { continue }
                table[UInt64(l) << 32 | UInt64(r)] = (rankOf[key(p.score)] ?? 0, Int32(id))
                if p.type == .unused && splits[id] == nil { splits[id] = (l, r) }
            }
        }
        merges = table
        unusedSplits = splits
    }

    var ids: [Int] { Array(texts.indices) }
    func id(for token: String) -> Int? { pieceIds[Array(token.utf8)] }
    func token(for id: Int) -> String? { texts.indices.contains(id) ? texts[id] : nil }

    /// Encodes one normalized text (spaces already "▁", dummy prefix already added).
    func tokenize(_ word: String) -> [Int] {
        var out: [Int] = []
        var start = word.unicodeScalars.startIndex
        var previous: Unicode.Scalar?
        var i = start
        for s in word.unicodeScalars {
            if let p = previous, !innerPairs.contains(UInt64(p.value) << 32 | UInt64(s.value)) {
                out += cachedSegment(Substring(word.unicodeScalars[start..<i]))
                start = i
            }
            previous = s
            i = word.unicodeScalars.index(after: i)
        }
        out += cachedSegment(Substring(word.unicodeScalars[start...]))
        // Upstream merges a run of unknown characters into one unknown piece.
        if !byteFallback, let unkId {
            var fused: [Int] = []
            fused.reserveCapacity(out.count)
            for id in out where !(id == unkId && fused.last == unkId) { fused.append(id) }
            return fused
        }
        return out
    }

    private func cachedSegment(_ segment: Substring) -> [Int] {
        if segment.isEmpty { return [] }
        let key = Array(segment.utf8)
        let cacheable = key.count < 256
        if cacheable, let hit = cache.withLock({ $0[key] }) { return hit }
        let result = mergeSegment(segment)
        if cacheable {
            cache.withLock { table in
                if table.count > 200_000 { table.removeAll(keepingCapacity: true) }
                table[key] = result
            }
        }
        return result
    }

    /// Merges one segment; unknown characters become byte pieces or the unknown id (fused later).
    private func mergeSegment(_ word: Substring) -> [Int] {
        var symbols: [Int] = []
        var unknown: [Unicode.Scalar] = []
        if hasUserDefined {
            splitWithUserDefined(String(word), into: &symbols, unknown: &unknown)
        } else {
            symbols.reserveCapacity(word.utf8.count)
            for s in word.unicodeScalars {
                if let id = scalarIds[s.value] {
                    symbols.append(id)
                } else {
                    symbols.append(Self.unknownBase - unknown.count)
                    unknown.append(s)
                }
            }
        }
        var out: [Int] = []
        out.reserveCapacity(symbols.count)
        for v in BPEModel.merge(symbols, merges: merges) {
            if v >= 0 {
                resegment(v, into: &out, depth: 0)
            } else if v > Self.unknownBase {
                out.append(-v - 1)
            } else {
                let scalar = unknown[Self.unknownBase - v]
                let fallback = byteFallback ? String(scalar).utf8.map { byteIds[Int($0)] } : []
                if byteFallback, fallback.allSatisfy({ $0 != nil }) {
                    out.append(contentsOf: fallback.map { $0! })
                } else if let unkId {
                    out.append(unkId)
                }
            }
        }
        return out
    }

    /// Upstream's prefix matcher: the longest user-defined piece at each position, else one character.
    private func splitWithUserDefined(_ word: String, into symbols: inout [Int], unknown: inout [Unicode.Scalar]) {
        let u = Array(word.utf8)
        var i = 0
        while i < u.count {
            if let hit = userDefined[Int(u[i])].first(where: { i + $0.bytes.count <= u.count && u[i..<(i + $0.bytes.count)].elementsEqual($0.bytes) }) {
                symbols.append(-(hit.id + 1))
                i += hit.bytes.count
                continue
            }
            var n = 1
            while i + n < u.count, u[i + n] & 0xC0 == 0x80 { n += 1 }
            let scalar = String(decoding: u[i..<(i + n)], as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
            if let id = scalarIds[scalar.value] {
                symbols.append(id)
            } else {
                symbols.append(Self.unknownBase - unknown.count)
                unknown.append(scalar)
            }
            i += n
        }
    }

    /// Unused pieces are split back into the pieces they were merged from (upstream `resegment`).
    private func resegment(_ id: Int, into out: inout [Int], depth: Int) {
        if types[id] == .unused, depth < 64, let (l, r) = unusedSplits[id] {
            resegment(l, into: &out, depth: depth + 1)
            resegment(r, into: &out, depth: depth + 1)
        } else {
            out.append(id)
        }
    }
}

/// SentencePiece normalization as a pre-tokenizer, because the dummy prefix depends on whether a
/// piece starts the input: the model's precompiled charsmap, extra-whitespace removal, " " → "▁", then "▁" in front.
struct SentencePieceNormalizer: PreTokenizer {
    /// The model's compiled rules ("nmt_nfkc", "nfkc", "nmt_nfkc_cf", custom TSVs); nil for "identity".
    let charsMap: PrecompiledCharsMap?
    /// Without a charsmap, a "…nfkc…" name falls back to plain NFKC (a file that names a rule but omits its table).
    let nfkc: Bool
    let caseFold: Bool
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool

    init(spec: SentencePieceSpec) {
        let name = spec.normalizerName
        charsMap = spec.charsMap
        nfkc = name.contains("nfkc") || (spec.hasCharsMap && name != "identity")
        caseFold = name.hasSuffix("_cf")
        addDummyPrefix = spec.addDummyPrefix
        removeExtraWhitespaces = spec.removeExtraWhitespaces
        escapeWhitespaces = spec.escapeWhitespaces
    }

    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        pieces.compactMap { piece in
            let text = normalize(piece.text, atStart: piece.atStart)
            return text.isEmpty ? nil : PreToken(text: text, atStart: piece.atStart)
        }
    }

    func normalize(_ input: String, atStart: Bool) -> String {
        if let charsMap { return normalize(input, atStart: atStart, charsMap: charsMap) }
        var text = nfkc ? input.precomposedStringWithCompatibilityMapping : input
        if caseFold { text = text.lowercased() }
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        var seenNonSpace = false
        for s in text.unicodeScalars {
            if s == " " {
                // Upstream drops leading spaces and collapses runs when removing extra whitespace.
                if removeExtraWhitespaces { pendingSpace = seenNonSpace; continue }
                out.append(escapeWhitespaces ? "\u{2581}" : " ")
                continue
            }
            if pendingSpace { out.append(escapeWhitespaces ? "\u{2581}" : " "); pendingSpace = false }
            seenNonSpace = true
            out.append(s)
        }
        // An all-space text normalizes to nothing and gets no prefix (upstream returns early).
        if out.isEmpty { return "" }
        if addDummyPrefix && atStart { out.insert(escapeWhitespaces ? "\u{2581}" : " ", at: out.startIndex) }
        return String(out)
    }

    /// `Normalizer::Normalize` over the charsmap's steps: leading spaces dropped and runs collapsed when removing extra
    /// whitespace (a step's leading spaces go when the previous step ended in one), the dummy prefix in front, " "
    /// escaped as "▁", trailing spaces dropped.
    func normalize(_ input: String, atStart: Bool, charsMap: PrecompiledCharsMap) -> String {
        let steps = charsMap.pieces(input)
        var index = 0
        if removeExtraWhitespaces { while index < steps.count && steps[index] == [0x20] { index += 1 } }
        guard index < steps.count else { return "" }
        let space: [UInt8] = escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        var out: [UInt8] = addDummyPrefix && atStart ? space : []
        var previousSpace = removeExtraWhitespaces
        for step in steps[index...] {
            var bytes = step[...]
            if previousSpace { while bytes.first == 0x20 { bytes = bytes.dropFirst() } }
            if !bytes.isEmpty {
                for byte in bytes { if byte == 0x20 { out += space } else { out.append(byte) } }
                previousSpace = bytes.last == 0x20
            }
            if !removeExtraWhitespaces { previousSpace = false }
        }
        if removeExtraWhitespaces { while out.count >= space.count && Array(out.suffix(space.count)) == space { out.removeLast(space.count) } }
        return String(decoding: out, as: UTF8.self)
    }
}
