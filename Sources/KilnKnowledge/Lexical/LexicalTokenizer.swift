// The lexical index's tokenisation, named after its reference so that any score can be checked outside Kiln:
// Python 3's `re.findall(r"\w+", text.lower())`. `str.lower` is Unicode's full lowercase mapping with the final
// sigma rule; `\w` is a letter (L*), anything with a numeric value (Nd, Nl, No and numeric CJK), or "_".
import Foundation

/// Splits text into BM25 terms exactly as `re.findall(r"\w+", text.lower())` does.
public enum LexicalTokenizer {
    /// The reference this rule reproduces, for documentation and API answers.
    public static let reference = #"Python re.findall(r"\w+", text.lower())"#

    /// The terms of `text`, in order, repeats kept.
    public static func terms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            for lower in lowercase(scalars, at: index, scalar) {
                if isWord(lower) {
                    current.append(lower)
                } else if !current.isEmpty {
                    terms.append(String(current))
                    current = String.UnicodeScalarView()
                }
            }
        }
        if !current.isEmpty { terms.append(String(current)) }
        return terms
    }

    /// Python's `\w` for one code point: `str.isalnum()` or the underscore.
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x5F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return scalar.properties.numericType != nil
        }
    }

    /// The full lowercase mapping of `scalars[index]`; a capital sigma at the end of a word becomes final sigma.
    static func lowercase(_ scalars: [Unicode.Scalar], at index: Int, _ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        if scalar.isASCII {
            let v = scalar.value
            return [v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 32)! : scalar]
        }
        if scalar.value == 0x03A3 { return [finalSigma(scalars, at: index) ? "\u{03C2}" : "\u{03C3}"] }
        return Array(scalar.properties.lowercaseMapping.unicodeScalars)
    }

    /// Unicode's Final_Sigma condition, as CPython's `handle_capital_sigma`: a cased letter before (skipping
    /// case-ignorable marks) and none after.
    static func finalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0, scalars[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= 0, scalars[before].properties.isCased else { return false }
        var after = index + 1
        while after < scalars.count, scalars[after].properties.isCaseIgnorable { after += 1 }
        return after == scalars.count || !scalars[after].properties.isCased
    }
}
