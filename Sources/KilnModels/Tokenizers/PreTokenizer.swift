// Pre-tokenizers: split normalized text into the words the model sees. Splits work on UTF-16
// ranges of an NSString because that is what NSRegularExpression reports; matches never split a
// surrogate pair, so every piece is valid Unicode.

import Foundation

/// A piece of text produced by pre-tokenization.
struct PreToken: Sendable {
    /// The piece's text.
    var text: String
    /// True when the piece starts at offset 0 of its segment (Metaspace `prepend_scheme: "first"`).
    var atStart: Bool
}

/// A pre-tokenizer from the `pre_tokenizer` key of tokenizer.json.
protocol PreTokenizer: Sendable {
    /// Splits (and possibly rewrites) each piece.
    func preTokenize(_ pieces: [PreToken]) -> [PreToken]
}

/// Builds a pre-tokenizer from its JSON object, switching on the upstream `type` name.
func makePreTokenizer(_ node: JSONNode) throws(TokenizerError) -> any PreTokenizer {
    let type = try node.typeName()
    switch type {
    case "ByteLevel":
        return ByteLevelPreTokenizer(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                                     useRegex: try node.bool("use_regex", default: true))
    case "Split":
        let raw = try node.string("behavior", default: "Isolated")
        guard let behavior = SplitBehavior(rawValue: raw) else { throw .invalidValue(path: node.path + ".behavior", expected: "a split behavior") }
        return SplitPreTokenizer(pattern: try TokenPattern(try node.required("pattern")), behavior: behavior,
                                 invert: try node.bool("invert", default: false))
    case "Metaspace":
        let replacement = try node.string("replacement", default: "▁")
        let scheme: String
        if let s = node["prepend_scheme"] {
            scheme = try s.string()
        } else {
            // Files written before tokenizers 0.14 carry `add_prefix_space` instead.
            scheme = try node.bool("add_prefix_space", default: true) ? "always" : "never"
        }
        guard ["first", "always", "never"].contains(scheme) else { throw .invalidValue(path: node.path + ".prepend_scheme", expected: "first, always or never") }
        return MetaspacePreTokenizer(replacement: replacement, prependScheme: scheme, split: try node.bool("split", default: true))
    case "BertPreTokenizer":
        return CharSplitPreTokenizer(steps: [(isRustWhitespace, .removed), (isBertPunctuation, .isolated)])
    case "WhitespaceSplit":
        return CharSplitPreTokenizer(steps: [(isRustWhitespace, .removed)])
    case "Punctuation":
        let raw = try node.string("behavior", default: "Isolated")
        guard let behavior = SplitBehavior(rawValue: raw) else { throw .invalidValue(path: node.path + ".behavior", expected: "a split behavior") }
        return CharSplitPreTokenizer(steps: [(isBertPunctuation, behavior)])
    case "Digits":
        let individual = try node.bool("individual_digits", default: false)
        return CharSplitPreTokenizer(steps: [(isRustNumeric, individual ? .isolated : .contiguous)])
    case "Whitespace":
        // Upstream keeps the matches of `\w+|[^\w\s]+` and drops the rest.
        return SplitPreTokenizer(pattern: TokenPattern(regex: "\\w+|[^\\w\\s]+"), behavior: .removed, invert: true)
    case "Sequence":
        var stages: [any PreTokenizer] = []
        for child in try node.required("pretokenizers").array() { stages.append(try makePreTokenizer(child)) }
        return SequencePreTokenizer(stages: stages)
    default:
        throw .unsupportedType(stage: "pre-tokenizer", type: type)
    }
}

/// Splits each piece into the given ranges, keeping the `atStart` flag only for a piece at 0.
func splitPieces(_ pieces: [PreToken], _ ranges: (NSString) -> [NSRange]) -> [PreToken] {
    var out: [PreToken] = []
    out.reserveCapacity(pieces.count)
    for piece in pieces {
        let ns = piece.text as NSString
        for r in ranges(ns) {
            out.append(PreToken(text: ns.substring(with: r), atStart: piece.atStart && r.location == 0))
        }
    }
    return out
}

/// Split on a pattern with one of the upstream delimiter behaviours.
struct SplitPreTokenizer: PreTokenizer {
    let pattern: TokenPattern
    let behavior: SplitBehavior
    let invert: Bool
    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        splitPieces(pieces) { ns in
            behavior.apply(coverRuns(pattern.matches(in: ns), length: ns.length, invert: invert))
        }
    }
}

/// Splits on single characters chosen by a predicate, one step after another.
struct CharSplitPreTokenizer: PreTokenizer {
    let steps: [(@Sendable (Unicode.Scalar) -> Bool, SplitBehavior)]
    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        var current = pieces
        for (predicate, behavior) in steps {
            current = splitPieces(current) { ns in
                var matches: [NSRange] = []
                var offset = 0
                for s in (ns as String).unicodeScalars {
                    let width = s.value > 0xFFFF ? 2 : 1
                    if predicate(s) { matches.append(NSRange(location: offset, length: width)) }
                    offset += width
                }
                return behavior.apply(coverRuns(matches, length: ns.length, invert: false))
            }
        }
        return current
    }
}

/// Runs pre-tokenizers in order.
struct SequencePreTokenizer: PreTokenizer {
    let stages: [any PreTokenizer]
    func preTokenize(_ pieces: [PreToken]) -> [PreToken] { stages.reduce(pieces) { $1.preTokenize($0) } }
}

/// Replaces spaces with "▁" and optionally prepends one (SentencePiece-style word boundaries).
struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: String
    let prependScheme: String
    let split: Bool
    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        let replaced = pieces.map { piece -> PreToken in
            var text = piece.text.replacingOccurrences(of: " ", with: replacement, options: .literal)
            // Upstream metaspace.rs: prepend unless the piece already starts with the replacement;
            // "first" only for the piece at offset 0 of the original text.
            if !text.unicodeScalars.starts(with: replacement.unicodeScalars) &&
                (prependScheme == "always" || (prependScheme == "first" && piece.atStart)) {
                text = replacement + text
            }
            return PreToken(text: text, atStart: piece.atStart)
        }
        guard split else { return replaced }
        let pattern = TokenPattern(literal: replacement)
        return splitPieces(replaced) { ns in
            SplitBehavior.mergedWithNext.apply(coverRuns(pattern.matches(in: ns), length: ns.length, invert: false))
        }
    }
}

/// GPT-2's byte-level pre-tokenizer: optional regex split, then every byte mapped to a printable char.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool
    /// The GPT-2 split regex that upstream ByteLevel uses when `use_regex` is true.
    static let gpt2Pattern = TokenPattern(regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")

    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        var current = pieces
        if addPrefixSpace {
            current = current.map { $0.text.unicodeScalars.first == " " ? $0 : PreToken(text: " " + $0.text, atStart: $0.atStart) }
        }
        if useRegex {
            current = splitPieces(current) { ns in
                SplitBehavior.isolated.apply(coverRuns(ByteLevelPreTokenizer.gpt2Pattern.matches(in: ns), length: ns.length, invert: false))
            }
        }
        return current.map { PreToken(text: ByteLevelAlphabet.encode($0.text), atStart: $0.atStart) }
    }
}

/// The GPT-2 `bytes_to_unicode` table: printable bytes map to themselves, the rest to U+0100 onwards.
enum ByteLevelAlphabet {
    /// The character for each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte for each character of the alphabet.
    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// Maps the UTF-8 bytes of `text` to the alphabet.
    static func encode(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        for b in text.utf8 { view.append(byteToScalar[Int(b)]) }
        return String(view)
    }

    /// Maps alphabet characters back to bytes; nil when a character is outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            bytes.append(b)
        }
        return bytes
    }
}

// MARK: - Character classes used by the upstream pre-tokenizers

/// Rust `char::is_whitespace` (the Unicode White_Space property).
@Sendable func isRustWhitespace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

/// Rust `char::is_numeric`: categories Nd, Nl and No.
@Sendable func isRustNumeric(_ s: Unicode.Scalar) -> Bool {
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
}

/// Upstream `is_bert_punc`: ASCII punctuation or any Unicode P* category.
@Sendable func isBertPunctuation(_ s: Unicode.Scalar) -> Bool {
    if s.isASCII, (33...47).contains(s.value) || (58...64).contains(s.value) || (91...96).contains(s.value) || (123...126).contains(s.value) {
        return true
    }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
    default: return false
    }
}
