// SentencePiece's precompiled normalization rules (`normalizer_spec.precompiled_charsmap`, what "nmt_nfkc",
// "nfkc", "nmt_nfkc_cf" and custom rule TSVs compile to): a darts-clone double-array trie over UTF-8 byte strings
// whose values are offsets into a blob of NUL-terminated replacement strings. The blob is
// [UInt32 little-endian trie size in bytes][trie units][replacements]. Normalizing takes, at each position, the
// longest rule that matches there (`Normalizer::NormalizePrefix`); where none does, one UTF-8 character is kept
// (a malformed byte becomes U+FFFD). This is NFKC plus the NMT rules (control characters dropped, the many space
// characters folded to " "), which plain NFKC does not reproduce.

/// A parsed charsmap: the trie units and the replacement strings.
struct PrecompiledCharsMap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]

    /// Parses a charsmap blob.
    /// - Throws: `TokenizerError.invalidModelFile` when the sizes do not fit together.
    init(_ blob: [UInt8]) throws(TokenizerError) {
        guard blob.count >= 4 else { throw .invalidModelFile("precompiled_charsmap shorter than its header") }
        let trieBytes = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard trieBytes % 4 == 0, trieBytes >= 4, trieBytes <= blob.count - 4 else {
            throw .invalidModelFile("precompiled_charsmap trie size \(trieBytes) does not fit its \(blob.count) bytes")
        }
        units = stride(from: 4, to: 4 + trieBytes, by: 4).map { i in
            UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24
        }
        replacements = Array(blob[(4 + trieBytes)...])
    }

    /// Every rule matching a prefix of `bytes[start...]`, shortest first: (offset of its replacement, bytes matched).
    private func matches(_ bytes: [UInt8], at start: Int) -> [(value: Int, length: Int)] {
        // darts-clone's commonPrefixSearch: offset() = (unit >> 10) << ((unit & 0x200) >> 6), label() = unit &
        // 0x800000FF, has_leaf() = bit 8, value() = unit & 0x7FFFFFFF. Positions are checked so a hostile table
        // ends the search instead of reading out of bounds.
        guard let root = units.first else { return [] }
        var node = Int((root >> 10) << ((root & 0x200) >> 6))
        var found: [(value: Int, length: Int)] = []
        var i = start
        while i < bytes.count {
            let byte = bytes[i]
            // A NUL ends a darts key.
            if byte == 0 { break }
            node ^= Int(byte)
            guard node >= 0, node < units.count else { break }
            let unit = units[node]
            guard unit & 0x8000_00FF == UInt32(byte) else { break }
            node ^= Int((unit >> 10) << ((unit & 0x200) >> 6))
            guard node >= 0, node < units.count else { break }
            if (unit >> 8) & 1 == 1 { found.append((Int(units[node] & 0x7FFF_FFFF), i - start + 1)) }
            i += 1
        }
        return found
    }

    /// The NUL-terminated replacement at `offset`, or nil past the blob.
    private func replacement(at offset: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, offset < replacements.count else { return nil }
        var end = offset
        while end < replacements.count && replacements[end] != 0 { end += 1 }
        return replacements[offset..<end]
    }

    /// The longest rule matching `bytes` at `start` (SentencePiece's choice): its replacement and the bytes it consumes;
    /// nil when none matches.
    func longestMatch(_ bytes: [UInt8], at start: Int) -> (replacement: ArraySlice<UInt8>, length: Int)? {
        guard let best = matches(bytes, at: start).last, let text = replacement(at: best.value) else { return nil }
        return (text, best.length)
    }

    /// The replacement of the shortest rule matching a prefix of `bytes` (tokenizers' `Precompiled::transform`, which
    /// then replaces the whole chunk with it); nil when none matches.
    func firstMatch(_ bytes: [UInt8]) -> String? {
        guard let first = matches(bytes, at: 0).first, let text = replacement(at: first.value) else { return nil }
        return String(decoding: text, as: UTF8.self)
    }

    /// Splits `text` into (normalized piece, consumed bytes) steps, as SentencePiece's `NormalizePrefix` walks it.
    func pieces(_ text: String) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            if let match = longestMatch(bytes, at: i) {
                out.append(Array(match.replacement))
                i += match.length
            } else {
                let length = Self.utf8Length(bytes, at: i)
                out.append(length > 0 ? Array(bytes[i..<(i + length)]) : [0xEF, 0xBF, 0xBD])
                i += Swift.max(length, 1)
            }
        }
        return out
    }

    /// The length of the well-formed UTF-8 character at `i`, or 0 for a malformed one (Swift strings are
    /// well-formed, so this only guards the arithmetic).
    static func utf8Length(_ bytes: [UInt8], at i: Int) -> Int {
        let lead = bytes[i]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        guard length > 0, i + length <= bytes.count else { return 0 }
        for j in 1..<length where bytes[i + j] & 0xC0 != 0x80 { return 0 }
        return length
    }
}

/// tokenizers' `Precompiled` normalizer (tokenizer.json of T5, ALBERT, XLM-R: the charsmap base64-encoded), which
/// walks grapheme clusters rather than SentencePiece's longest rules: a cluster under 6 bytes with a rule matching its
/// start becomes that rule's replacement whole; otherwise each character is replaced by its rule or kept.
struct PrecompiledNormalizer: Normalizer {
    let map: PrecompiledCharsMap

    func normalize(_ text: String) -> String {
        var out = ""
        for cluster in text {
            let bytes = Array(String(cluster).utf8)
            if bytes.count < 6, let replaced = map.firstMatch(bytes) {
                out += replaced
                continue
            }
            for scalar in cluster.unicodeScalars {
                if let replaced = map.firstMatch(Array(String(scalar).utf8)) { out += replaced } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

