// Python methods templates call on values (`content.strip()`, `d.get('k')`, `d.items()`), with Python's
// semantics: strip() without arguments strips Unicode whitespace, split() without a separator splits on runs.
import Foundation

/// The Python str/dict/list methods the interpreter implements.
enum TemplateMethods {
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "replace", "title", "capitalize", "format", "join", "find", "rfind", "count", "isdigit", "isalpha",
        "isspace", "islower", "isupper", "removeprefix", "removesuffix",
    ]
    static let dictMethods: Set<String> = ["get", "items", "keys", "values"]
    static let listMethods: Set<String> = ["index", "count"]

    /// Python's `str.isspace` per character: Unicode White_Space plus the ASCII separators 0x1c–0x1f.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1c...0x1f).contains(s.value)
    }

    /// Python `str.strip/lstrip/rstrip(chars)`.
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let matches: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? isSpace($0) }
        var view = s.unicodeScalars[...]
        if leading { while let f = view.first, matches(f) { view = view.dropFirst() } }
        if trailing { while let l = view.last, matches(l) { view = view.dropLast() } }
        return String(String.UnicodeScalarView(view))
    }

    /// Python `str.split(sep, maxsplit)`.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        var parts: [String] = []
        if let separator {
            var rest = Substring(s)
            while maxSplit < 0 || parts.count < maxSplit, let r = rest.range(of: separator, options: .literal) {
                parts.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            }
            parts.append(String(rest))
            return parts
        }
        var current = String.UnicodeScalarView()
        var inWord = false
        var scalars = s.unicodeScalars[...]
        while let c = scalars.first {
            if isSpace(c) {
                if inWord { parts.append(String(current)); current = .init(); inWord = false }
                scalars = scalars.dropFirst()
                if maxSplit >= 0, parts.count >= maxSplit {
                    let rest = String(String.UnicodeScalarView(scalars.drop(while: isSpace)))
                    if !rest.isEmpty { parts.append(rest) }
                    return parts
                }
            } else {
                current.append(c); inWord = true
                scalars = scalars.dropFirst()
            }
        }
        if inWord { parts.append(String(current)) }
        return parts
    }

    /// Python `str.title()`: a letter after a non-letter is upper-cased, other letters lower-cased.
    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s {
            let cased = c.isLetter && (c.isUppercase || c.isLowercase)
            out += cased ? (previousCased ? c.lowercased() : c.uppercased()) : String(c)
            previousCased = cased
        }
        return out
    }

    /// Python `str.capitalize()`.
    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }
}

extension TemplateEvaluator {
    func callMethod(_ receiver: TemplateValue, _ name: String, _ args: [TemplateValue], _ kwargs: [String: TemplateValue],
                    at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        func arg(_ i: Int, _ key: String) -> TemplateValue? { i < args.count ? args[i] : kwargs[key] }
        func string(_ i: Int, _ key: String) throws(ChatTemplateError) -> String? {
            guard let v = arg(i, key), v != .none else { return nil }
            guard case .string(let s) = v else { throw runtime("\(name)() argument must be str, not \(v.typeName)", loc) }
            return s
        }
        switch receiver {
        case .string(let s):
            switch name {
            case "strip": return .string(TemplateMethods.strip(s, chars: try string(0, "chars"), leading: true, trailing: true))
            case "lstrip": return .string(TemplateMethods.strip(s, chars: try string(0, "chars"), leading: true, trailing: false))
            case "rstrip": return .string(TemplateMethods.strip(s, chars: try string(0, "chars"), leading: false, trailing: true))
            case "split", "rsplit":
                let separator = try string(0, "sep")
                if separator == "" { throw runtime("empty separator", loc) }
                let maxSplit = arg(1, "maxsplit")?.integer ?? -1
                if name == "rsplit", maxSplit >= 0, let separator {
                    // rsplit with a limit splits from the right: reverse, split, reverse back.
                    let reversed = TemplateMethods.split(String(s.reversed()), separator: String(separator.reversed()), maxSplit: maxSplit)
                    return .array(reversed.reversed().map { .string(String($0.reversed())) })
                }
                return .array(TemplateMethods.split(s, separator: separator, maxSplit: maxSplit).map { .string($0) })
            case "splitlines":
                var lines = s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { TemplateValue.string(String($0)) }
                if s.isEmpty || s.last?.isNewline == true { lines.removeLast() }
                return .array(lines)
            case "startswith", "endswith":
                let candidates: [TemplateValue]
                switch arg(0, "prefix") {
                case .string(let p): candidates = [.string(p)]
                case .array(let a): candidates = a
                default: throw runtime("\(name) first arg must be str or a tuple of str", loc)
                }
                return .bool(candidates.contains { c in
                    guard case .string(let p) = c else { return false }
                    return name == "startswith" ? s.unicodeScalars.starts(with: p.unicodeScalars)
                        : s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed())
                })
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(TemplateMethods.pythonTitle(s))
            case "capitalize": return .string(TemplateMethods.capitalize(s))
            case "replace":
                guard let old = try string(0, "old"), let new = try string(1, "new") else { throw runtime("replace() needs 2 arguments", loc) }
                return .string(TemplateFilters.replace(s, old, new, count: arg(2, "count")?.integer ?? -1))
            case "format": return .string(try format(s, args, kwargs, at: loc))
            case "join":
                let items = try iterate(arg(0, "iterable") ?? .array([]), at: loc)
                return .string(items.map(\.pythonString).joined(separator: s))
            case "find", "rfind":
                guard let needle = try string(0, "sub") else { throw runtime("\(name)() needs an argument", loc) }
                let hay = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
                guard n.count <= hay.count else { return .int(-1) }
                let starts = Array(0...(hay.count - n.count))
                for i in (name == "find" ? starts : starts.reversed()) where Array(hay[i..<i + n.count]) == n { return .int(i) }
                return .int(-1)
            case "count":
                guard let needle = try string(0, "sub") else { throw runtime("count() needs an argument", loc) }
                if needle.isEmpty { return .int(s.unicodeScalars.count + 1) }
                return .int(s.components(separatedBy: needle).count - 1)
            case "isdigit": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
            case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(TemplateMethods.isSpace))
            case "islower": return .bool(s.contains { $0.isLowercase } && !s.contains { $0.isUppercase })
            case "isupper": return .bool(s.contains { $0.isUppercase } && !s.contains { $0.isLowercase })
            case "removeprefix":
                let p = try string(0, "prefix") ?? ""
                return .string(s.unicodeScalars.starts(with: p.unicodeScalars) ? String(String.UnicodeScalarView(s.unicodeScalars.dropFirst(p.unicodeScalars.count))) : s)
            case "removesuffix":
                let p = try string(0, "suffix") ?? ""
                return .string(s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed()) ? String(String.UnicodeScalarView(s.unicodeScalars.dropLast(p.unicodeScalars.count))) : s)
            default: break
            }
        case .dict(let d):
            switch name {
            case "get":
                guard case .string(let key) = arg(0, "key") ?? .none else { return arg(1, "default") ?? .none }
                return d[key] ?? arg(1, "default") ?? .none
            case "items": return .array(d.pairs.map { .array([.string($0.0), $0.1]) })
            case "keys": return .array(d.keys.map { .string($0) })
            case "values": return .array(d.pairs.map { $0.1 })
            default: break
            }
        case .array(let a):
            guard let needle = arg(0, "value") else { throw runtime("\(name)() takes exactly one argument", loc) }
            if name == "count" { return .int(a.filter { $0.pythonEquals(needle) }.count) }
            if name == "index", let i = a.firstIndex(where: { $0.pythonEquals(needle) }) { return .int(i) }
            throw runtime("\(needle.pythonRepr) is not in list", loc)
        default: break
        }
        throw runtime("'\(receiver.typeName)' object has no method '\(name)'", loc)
    }

    /// Python `str.format` with `{}`, `{0}` and `{name}` fields (no format specs), `{{`/`}}` escapes.
    private func format(_ s: String, _ args: [TemplateValue], _ kwargs: [String: TemplateValue], at loc: SourceLocation) throws(ChatTemplateError) -> String {
        var out = ""
        var auto = 0
        var chars = s[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "{", chars.first == "{" { out += "{"; chars = chars.dropFirst(); continue }
            if c == "}", chars.first == "}" { out += "}"; chars = chars.dropFirst(); continue }
            guard c == "{" else { out.append(c); continue }
            guard let close = chars.firstIndex(of: "}") else { throw runtime("Single '{' encountered in format string", loc) }
            let field = String(chars[..<close])
            chars = chars[chars.index(after: close)...]
            let value: TemplateValue?
            if field.isEmpty { value = auto < args.count ? args[auto] : nil; auto += 1 }
            else if let i = Int(field) { value = i < args.count ? args[i] : nil }
            else { value = kwargs[field] }
            guard let value else { throw runtime("Replacement index \(field) out of range for positional args tuple", loc) }
            out += value.pythonString
        }
        return out
    }
}
