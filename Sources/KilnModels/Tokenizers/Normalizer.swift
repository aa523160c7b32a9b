// Normalizers: the first stage, applied to each piece of text between added tokens
// (upstream `AddedVocabulary::extract_and_normalize`). One small protocol, one factory on `type`.

import Foundation

/// A text normalizer from the `normalizer` key of tokenizer.json.
protocol Normalizer: Sendable {
    /// Returns the normalized form of `text`.
    func normalize(_ text: String) -> String
}

/// Builds a normalizer from its JSON object, switching on the upstream `type` name.
func makeNormalizer(_ node: JSONNode) throws(TokenizerError) -> any Normalizer {
    let type = try node.typeName()
    switch type {
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFKC": return UnicodeNormalizer(form: .nfkc)
    case "NFKD": return UnicodeNormalizer(form: .nfkd)
    case "Lowercase": return LowercaseNormalizer()
    case "StripAccents": return StripAccentsNormalizer()
    case "Prepend": return PrependNormalizer(prepend: try node.required("prepend").string())
    case "Replace":
        return ReplaceNormalizer(pattern: try TokenPattern(try node.required("pattern")), content: try node.required("content").string())
    case "Strip":
        return StripNormalizer(left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
    case "BertNormalizer":
        return BertNormalizer(
            cleanText: try node.bool("clean_text", default: true),
            handleChineseChars: try node.bool("handle_chinese_chars", default: true),
            stripAccents: try node["strip_accents"].map { n throws(TokenizerError) in try n.bool() },
            lowercase: try node.bool("lowercase", default: true))
    case "Precompiled":
        // An empty charsmap (some converted files) normalizes nothing.
        let field = node["precompiled_charsmap"].flatMap { $0.value is NSNull ? nil : $0 }
        let encoded = try field.map { n throws(TokenizerError) in try n.string() } ?? ""
        guard let blob = Data(base64Encoded: encoded) else {
            throw .invalidValue(path: node.path + ".precompiled_charsmap", expected: "base64")
        }
        return blob.isEmpty ? SequenceNormalizer(stages: []) : PrecompiledNormalizer(map: try PrecompiledCharsMap([UInt8](blob)))
    case "Sequence":
        var stages: [any Normalizer] = []
        for child in try node.required("normalizers").array() { stages.append(try makeNormalizer(child)) }
        return SequenceNormalizer(stages: stages)
    default:
        throw .unsupportedType(stage: "normalizer", type: type)
    }
}

/// NFC, NFD, NFKC or NFKD.
struct UnicodeNormalizer: Normalizer {
    enum Form { case nfc, nfd, nfkc, nfkd }
    let form: Form
    func normalize(_ text: String) -> String {
        switch form {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        }
    }
}

/// Unicode lowercase, like Rust's `str::to_lowercase`.
struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: String) -> String { text.lowercased() }
}

/// Removes combining marks (category Mn), as upstream `StripAccents` does after an NFD stage.
struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where s.properties.generalCategory != .nonspacingMark { out.append(s) }
        return String(out)
    }
}

/// Prepends a string to non-empty text (Llama-2 legacy files prepend "▁").
struct PrependNormalizer: Normalizer {
    let prepend: String
    func normalize(_ text: String) -> String { text.isEmpty ? text : prepend + text }
}

/// Replaces every match of a pattern.
struct ReplaceNormalizer: Normalizer {
    let pattern: TokenPattern
    let content: String
    func normalize(_ text: String) -> String { pattern.replace(in: text, with: content) }
}

/// Strips whitespace on either side.
struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool
    func normalize(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
        if left, let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) {
            scalars.removeFirst(first)
        } else if left { scalars.removeAll() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}

/// Runs normalizers in order.
struct SequenceNormalizer: Normalizer {
    let stages: [any Normalizer]
    func normalize(_ text: String) -> String { stages.reduce(text) { $1.normalize($0) } }
}

/// BERT's normalizer: clean control characters, space out CJK ideographs, strip accents, lowercase.
struct BertNormalizer: Normalizer {
    let cleanText: Bool
    let handleChineseChars: Bool
    /// nil follows `lowercase`, as upstream `BertNormalizer` does.
    let stripAccents: Bool?
    let lowercase: Bool

    func normalize(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || BertNormalizer.isControl(s) { continue }
                if BertNormalizer.isWhitespace(s) { view.append(" "); continue }
            }
            if handleChineseChars && BertNormalizer.isChinese(s) {
                view.append(" "); view.append(s); view.append(" ")
            } else {
                view.append(s)
            }
        }
        var out = String(view)
        if stripAccents ?? lowercase {
            out = StripAccentsNormalizer().normalize(out.decomposedStringWithCanonicalMapping)
        }
        if lowercase { out = out.lowercased() }
        return out
    }

    /// Upstream `is_whitespace`: the four ASCII blanks or category Zs.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.generalCategory == .spaceSeparator
    }

    /// Upstream `is_control`: categories Cc, Cf, Cn, Co except the ASCII blanks.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse: return true
        default: return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT treats as words of their own.
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
