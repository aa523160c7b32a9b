// Decoders: turn the token strings of a list of ids back into text. Each stage maps a list of
// strings to a list of strings (upstream `Decoder::decode_chain`); the result is their concatenation.

import Foundation

/// A decoder from the `decoder` key of tokenizer.json.
protocol TokenDecoder: Sendable {
    /// Rewrites the token strings.
    func decodeChain(_ tokens: [String]) -> [String]
}

/// Builds a decoder, switching on the upstream `type` name.
func makeDecoder(_ node: JSONNode) throws(TokenizerError) -> any TokenDecoder {
    let type = try node.typeName()
    switch type {
    case "ByteLevel": return ByteLevelDecoder()
    case "Metaspace":
        let scheme: String
        if let s = node["prepend_scheme"] { scheme = try s.string() } else { scheme = try node.bool("add_prefix_space", default: true) ? "always" : "never" }
        return MetaspaceDecoder(replacement: try node.string("replacement", default: "▁"), prepend: scheme != "never")
    case "WordPiece":
        return WordPieceDecoder(prefix: try node.string("prefix", default: "##"), cleanup: try node.bool("cleanup", default: true))
    case "ByteFallback": return ByteFallbackDecoder()
    case "Fuse": return FuseDecoder()
    case "Strip":
        return StripDecoder(content: try node.required("content").string(), start: max(0, try node.int("start", default: 0)),
                            stop: max(0, try node.int("stop", default: 0)))
    case "Replace":
        return ReplaceDecoder(pattern: try TokenPattern(try node.required("pattern")), content: try node.required("content").string())
    case "BPEDecoder":
        return BPESuffixDecoder(suffix: try node.string("suffix", default: "</w>"))
    case "Sequence":
        var stages: [any TokenDecoder] = []
        for child in try node.required("decoders").array() { stages.append(try makeDecoder(child)) }
        return SequenceDecoder(stages: stages)
    default:
        throw .unsupportedType(stage: "decoder", type: type)
    }
}

/// Maps byte-level alphabet characters back to bytes; a token with a character outside the
/// alphabet (an added token such as "<｜User｜>") contributes its own UTF-8 bytes, as upstream does.
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for t in tokens { bytes += ByteLevelAlphabet.decode(t) ?? Array(t.utf8) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// Turns "▁" back into spaces; the first token loses its replacement characters (the prepended space).
struct MetaspaceDecoder: TokenDecoder {
    let replacement: String
    let prepend: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        let r = replacement.unicodeScalars.first
        return tokens.enumerated().map { i, token in
            var view = String.UnicodeScalarView()
            for s in token.unicodeScalars {
                if s == r {
                    if !(i == 0 && prepend) { view.append(" ") }
                } else {
                    view.append(s)
                }
            }
            return String(view)
        }
    }
}

/// WordPiece: continuation pieces lose "##", other pieces get a leading space; optional cleanup.
struct WordPieceDecoder: TokenDecoder {
    let prefix: String
    let cleanup: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, token in
            var t = token
            if i != 0 {
                if t.utf8.starts(with: prefix.utf8) {
                    t = String(decoding: Array(t.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self)
                } else {
                    t = " " + t
                }
            }
            return cleanup ? WordPieceDecoder.cleanUp(t) : t
        }
    }

    /// Upstream `decoders::wordpiece::cleanup`, in the same order.
    static func cleanUp(_ s: String) -> String {
        var out = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            out = out.replacingOccurrences(of: a, with: b, options: .literal)
        }
        return out
    }
}

/// Joins runs of `<0xXX>` tokens into UTF-8 text; an invalid run yields one U+FFFD per byte.
struct ByteFallbackDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) {
                out.append(s)
            } else {
                out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
            }
            pending.removeAll()
        }
        for token in tokens {
            let u = Array(token.utf8)
            if u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">"),
               let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                pending.append(b)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }
}

/// Concatenates every token into one.
struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing copies of `content` from each token.
struct StripDecoder: TokenDecoder {
    let content: String
    let start: Int
    let stop: Int
    func decodeChain(_ tokens: [String]) -> [String] {
        guard let c = content.unicodeScalars.first else { return tokens }
        return tokens.map { token in
            var scalars = Array(token.unicodeScalars)
            var lead = 0
            while lead < start, lead < scalars.count, scalars[lead] == c { lead += 1 }
            var trail = 0
            while trail < stop, trail < scalars.count - lead, scalars[scalars.count - 1 - trail] == c { trail += 1 }
            scalars = Array(scalars[lead..<(scalars.count - trail)])
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return String(view)
        }
    }
}

/// Replaces a pattern in each token.
struct ReplaceDecoder: TokenDecoder {
    let pattern: TokenPattern
    let content: String
    func decodeChain(_ tokens: [String]) -> [String] { tokens.map { pattern.replace(in: $0, with: content) } }
}

/// The classic BPE decoder: the end-of-word suffix becomes a space (none after the last token).
struct BPESuffixDecoder: TokenDecoder {
    let suffix: String
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ", options: .literal)
        }
    }
}

/// Runs decoders in order.
struct SequenceDecoder: TokenDecoder {
    let stages: [any TokenDecoder]
    func decodeChain(_ tokens: [String]) -> [String] { stages.reduce(tokens) { $1.decodeChain($0) } }
}
