// The `pattern` object shared by Split, Replace (normalizer and decoder): `{"String": "…"}` or
// `{"Regex": "…"}`. Regexes in tokenizer.json are Oniguruma syntax; ICU (NSRegularExpression)
// accepts the constructs the hub files use (`\p{L}`, `(?i:…)`, `(?!\S)`, nested classes).

import Foundation

/// A literal or regular-expression pattern from tokenizer.json.
struct TokenPattern: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as thread-safe, hence @unchecked.
    private let regex: NSRegularExpression?
    private let literal: String?

    init(_ node: JSONNode) throws(TokenizerError) {
        if let s = node["String"] {
            let lit = try s.string()
            literal = lit
            regex = nil
        } else if let r = node["Regex"] {
            let source = try r.string()
            do {
                regex = try NSRegularExpression(pattern: TokenPattern.icuCompatible(source), options: [])
            } catch {
                throw .invalidRegex(source)
            }
            literal = nil
        } else {
            throw .invalidValue(path: node.path, expected: "an object with \"String\" or \"Regex\"")
        }
    }

    init(literal: String) {
        self.literal = literal
        regex = nil
    }

    init(regex pattern: String) {
        regex = try? NSRegularExpression(pattern: pattern, options: [])
        literal = nil
    }

    /// Oniguruma and ICU differ in few places the hub files touch; `\h` is the only one seen so far.
    static func icuCompatible(_ source: String) -> String {
        source.replacingOccurrences(of: "\\h", with: "[\\t\\p{Zs}]")
    }

    /// Matches as UTF-16 ranges of `text`, in order, non-empty only (like tokenizers' `find_matches`).
    func matches(in text: NSString) -> [NSRange] {
        let length = text.length
        if length == 0 { return [] }
        if let regex {
            var out: [NSRange] = []
            regex.enumerateMatches(in: text as String, options: [], range: NSRange(location: 0, length: length)) { m, _, _ in
                if let r = m?.range, r.length > 0 { out.append(r) }
            }
            return out
        }
        guard let literal, !literal.isEmpty else { return [] }
        var out: [NSRange] = []
        var start = 0
        while start < length {
            // .literal compares UTF-16 units, so canonically equivalent strings do not match each other.
            let r = text.range(of: literal, options: [.literal], range: NSRange(location: start, length: length - start))
            if r.location == NSNotFound || r.length == 0 { break }
            out.append(r)
            start = r.location + r.length
        }
        return out
    }

    /// Replaces every match with `content`.
    func replace(in text: String, with content: String) -> String {
        let ns = text as NSString
        let found = matches(in: ns)
        if found.isEmpty { return text }
        var out = ""
        var prev = 0
        for r in found {
            out += ns.substring(with: NSRange(location: prev, length: r.location - prev))
            out += content
            prev = r.location + r.length
        }
        out += ns.substring(from: prev)
        return out
    }
}

/// How a Split keeps the matched delimiters (upstream `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Groups `(range, isMatch)` runs that cover the text, as upstream `NormalizedString::split` does.
    func apply(_ runs: [(NSRange, Bool)]) -> [NSRange] {
        func join(_ a: NSRange, _ b: NSRange) -> NSRange {
            NSRange(location: min(a.location, b.location), length: max(NSMaxRange(a), NSMaxRange(b)) - min(a.location, b.location))
        }
        var out: [NSRange] = []
        switch self {
        case .removed:
            out = runs.filter { !$0.1 }.map(\.0)
        case .isolated:
            out = runs.map(\.0)
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in runs {
                if isMatch && !previousMatch, let last = out.last { out[out.count - 1] = join(last, r) } else { out.append(r) }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, isMatch) in runs.reversed() {
                if isMatch && !previousMatch, let last = out.last { out[out.count - 1] = join(last, r) } else { out.append(r) }
                previousMatch = isMatch
            }
            out.reverse()
        case .contiguous:
            var previousMatch = false
            for (i, (r, isMatch)) in runs.enumerated() {
                if i > 0 && isMatch == previousMatch, let last = out.last { out[out.count - 1] = join(last, r) } else { out.append(r) }
                previousMatch = isMatch
            }
        }
        return out.filter { $0.length > 0 }
    }
}

/// Covers `length` UTF-16 units with alternating non-match / match runs.
func coverRuns(_ matches: [NSRange], length: Int, invert: Bool) -> [(NSRange, Bool)] {
    var runs: [(NSRange, Bool)] = []
    var prev = 0
    for m in matches {
        if m.location > prev { runs.append((NSRange(location: prev, length: m.location - prev), invert)) }
        runs.append((m, !invert))
        prev = m.location + m.length
    }
    if prev < length { runs.append((NSRange(location: prev, length: length - prev), invert)) }
    return runs
}
