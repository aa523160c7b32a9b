// jinja2's builtin filters (src/jinja2/filters.py, 3.1.6) that chat templates use, plus transformers' own
// `tojson`, which replaces jinja's: json.dumps(ensure_ascii=False) with no HTML escaping
// (transformers src/transformers/utils/chat_template_utils.py, `_compile_jinja_template.tojson`).
import Foundation

/// Helpers shared by filters and methods.
enum TemplateFilters {
    /// Python `str.replace(old, new, count)`.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if old.isEmpty {
            // Python inserts `new` between every character (and at both ends).
            let pieces = s.unicodeScalars.map { String($0) }
            let limit = count < 0 ? pieces.count + 1 : min(count, pieces.count + 1)
            var out = ""
            for i in 0...pieces.count {
                if i < limit { out += new }
                if i < pieces.count { out += pieces[i] }
            }
            return out
        }
        let parts = TemplateMethods.split(s, separator: old, maxSplit: count)
        return parts.joined(separator: new)
    }

    /// HTML escaping as markupsafe's `escape` does it.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension TemplateEvaluator {
    mutating func applyFilter(_ name: String, to value: TemplateValue, arguments: TemplateArguments, at loc: SourceLocation)
        throws(ChatTemplateError) -> TemplateValue {
        let (args, kwargs) = try evaluateArguments(arguments)
        return try filter(name, value, args, kwargs, at: loc)
    }

    mutating func filter(_ name: String, _ value: TemplateValue, _ args: [TemplateValue], _ kwargs: [String: TemplateValue],
                         at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        func arg(_ i: Int, _ key: String) -> TemplateValue? { i < args.count ? args[i] : kwargs[key] }
        func text() -> String { value.pythonString }
        switch name {
        case "trim":
            let chars: String? = if case .string(let c) = arg(0, "chars") { c } else { nil }
            return .string(TemplateMethods.strip(text(), chars: chars, leading: true, trailing: true))
        case "tojson":
            // transformers' signature is tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False),
            // so a positional argument is ensure_ascii, unlike jinja's own tojson(indent).
            return .string(try TemplateJSON.dumps(value, indent: arg(1, "indent"), separators: arg(2, "separators"),
                                                  sortKeys: arg(3, "sort_keys")?.isTruthy ?? false,
                                                  ensureASCII: arg(0, "ensure_ascii")?.isTruthy ?? false, at: loc))
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            case .namespace: return .int(try iterate(value, at: loc).count)
            default: throw runtime("object of type '\(value.typeName)' has no len()", loc)
            }
        case "upper": return .string(text().uppercased())
        case "lower": return .string(text().lowercased())
        case "capitalize": return .string(TemplateMethods.capitalize(text()))
        case "title": return .string(jinjaTitle(text()))
        case "replace":
            guard case .string(let old)? = arg(0, "old"), let new = arg(1, "new") else { throw runtime("replace needs old and new strings", loc) }
            return .string(TemplateFilters.replace(text(), old, new.pythonString, count: arg(2, "count")?.integer ?? -1))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "join":
            var items = try iterate(value, at: loc)
            if case .string(let attr)? = arg(1, "attribute") { items = try items.map { v throws(ChatTemplateError) in try attribute(of: v, attr, at: loc) } }
            return .string(try items.map { v throws(ChatTemplateError) -> String in
                if case .undefined(let hint) = v, arg(1, "attribute") != nil { throw runtime(hint, loc) }
                return v.pythonString
            }.joined(separator: arg(0, "d")?.pythonString ?? ""))
        case "first", "last":
            let items = try iterate(value, at: loc)
            return (name == "first" ? items.first : items.last) ?? .undefined("No \(name) item, sequence was empty.")
        case "list": return .array(try iterate(value, at: loc))
        case "string": return .string(text())
        case "safe": return value
        case "e", "escape", "forceescape": return .string(TemplateFilters.escape(text()))
        case "int":
            let fallback = arg(0, "default") ?? .int(0)
            switch value {
            case .int, .bool: return .int(value.integer ?? 0)
            case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : fallback
            case .string(let s):
                let t = TemplateMethods.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            if let n = value.number { return .double(n) }
            if case .string(let s) = value, let d = Double(TemplateMethods.strip(s, chars: nil, leading: true, trailing: true)) { return .double(d) }
            return arg(0, "default") ?? .double(0)
        case "abs":
            switch value {
            case .int(let i) where i != Int.min: return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw try undefinedOrType(value, "bad operand type for abs(): '\(value.typeName)'", loc)
            }
        case "round":
            guard let n = value.number else { throw try undefinedOrType(value, "type \(value.typeName) doesn't define __round__", loc) }
            let precision = arg(0, "precision")?.integer ?? 0
            let scale = pow(10.0, Double(max(-300, min(300, precision))))
            let method = arg(1, "method")?.pythonString ?? "common"
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            // Python's round(int, n) stays an int; jinja's "common" method is plain round().
            if rule == .toNearestOrEven, let i = value.integer, precision >= 0 { return .int(i) }
            if rule == .toNearestOrEven, (0...300).contains(precision), n.isFinite {
                // Python's round() rounds the exact binary value (2.675 -> 2.67); glibc's printf does the same.
                return .double(Double(String(format: "%.\(precision)f", n)) ?? n)
            }
            return .double((n * scale).rounded(rule) / scale)
        case "items":
            switch value {
            case .dict(let d): return .array(d.pairs.map { .array([.string($0.0), $0.1]) })
            case .undefined: return .array([])
            default: throw runtime("Can only get item pairs from a mapping.", loc)
            }
        case "dictsort":
            guard case .dict(let d) = value else { throw runtime("dictsort expects a mapping", loc) }
            let byValue = arg(1, "by")?.pythonString == "value"
            let caseSensitive = arg(0, "case_sensitive")?.isTruthy ?? false
            let pairs = try sorted(d.pairs.map { TemplateValue.array([.string($0.0), $0.1]) }, reverse: arg(2, "reverse")?.isTruthy ?? false,
                                   caseSensitive: caseSensitive, at: loc) { v in if case .array(let p) = v, p.count == 2 { byValue ? p[1] : p[0] } else { v } }
            return .array(pairs)
        case "selectattr", "rejectattr", "select", "reject":
            let byAttribute = name.hasSuffix("attr")
            let offset = byAttribute ? 1 : 0
            var kept: [TemplateValue] = []
            for item in try iterate(value, at: loc) {
                let subject = byAttribute ? try attribute(of: item, arg(0, "attribute")?.pythonString ?? "", at: loc) : item
                var passed: Bool
                if args.count > offset, case .string(let test) = args[offset] {
                    passed = try runTest(test, subject, Array(args.dropFirst(offset + 1)), at: loc)
                } else {
                    passed = subject.isTruthy
                }
                if name.hasPrefix("reject") { passed.toggle() }
                if passed { kept.append(item) }
            }
            return .array(kept)
        case "map":
            var mapped: [TemplateValue] = []
            for item in try iterate(value, at: loc) {
                if case .string(let attribute)? = kwargs["attribute"] {
                    var v = try attributePath(item, attribute, at: loc)
                    if v.isUndefined, let fallback = kwargs["default"] { v = fallback }
                    mapped.append(v)
                } else if case .string(let filterName)? = args.first {
                    mapped.append(try filter(filterName, item, Array(args.dropFirst()), kwargs, at: loc))
                } else {
                    throw runtime("map requires a filter name or attribute=", loc)
                }
            }
            return .array(mapped)
        case "unique":
            let caseSensitive = arg(0, "case_sensitive")?.isTruthy ?? false
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try iterate(value, at: loc) {
                var key = item
                if case .string(let a)? = arg(1, "attribute") { key = try attributePath(item, a, at: loc) }
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { $0.pythonEquals(key) }) { seen.append(key); out.append(item) }
            }
            return .array(out)
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(value, at: loc).reversed())
        case "sort":
            let attribute: String? = if case .string(let a)? = arg(2, "attribute") { a } else { nil }
            let loc2 = loc
            var keys: [TemplateValue] = []
            let items = try iterate(value, at: loc)
            for item in items { keys.append(try attribute.map { a throws(ChatTemplateError) in try attributePath(item, a, at: loc2) } ?? item) }
            let order = try sorted(Array(zip(keys, items)).map { TemplateValue.array([$0.0, $0.1]) }, reverse: arg(0, "reverse")?.isTruthy ?? false,
                                   caseSensitive: arg(1, "case_sensitive")?.isTruthy ?? false, at: loc) { v in if case .array(let p) = v { p[0] } else { v } }
            return .array(order.map { v in if case .array(let p) = v { p[1] } else { v } })
        case "min", "max":
            let items = try iterate(value, at: loc)
            let order = try sorted(items, reverse: name == "max", caseSensitive: arg(0, "case_sensitive")?.isTruthy ?? false, at: loc) { $0 }
            return order.first ?? .undefined("No aggregated item, sequence was empty.")
        case "sum":
            var total = arg(1, "start") ?? .int(0)
            for item in try iterate(value, at: loc) {
                let v = try (arg(0, "attribute")).map { a throws(ChatTemplateError) in try attributePath(item, a.pythonString, at: loc) } ?? item
                total = try binary("+", total, v, at: loc)
            }
            return total
        case "indent": return .string(indent(text(), width: arg(0, "width") ?? .int(4), first: arg(1, "first")?.isTruthy ?? false,
                                             blank: arg(2, "blank")?.isTruthy ?? false))
        case "wordcount":
            return .int(text().split { !($0.isLetter || $0.isNumber || $0 == "_") }.count)
        case "format": return .string(try percentFormat(text(), args, at: loc))
        case "attr": return try attribute(of: value, arg(0, "name")?.pythonString ?? "", at: loc)
        case "center":
            let width = min(arg(0, "width")?.integer ?? 80, Self.maxRepetition)
            let s = text(), n = s.unicodeScalars.count
            guard width > n else { return .string(s) }
            let left = (width - n) / 2 + ((width - n) % 2 & width % 2)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: width - n - left))
        default:
            throw runtime("No filter named '\(name)'.", loc)
        }
    }

    /// `a.b.c` attribute paths as `map(attribute=)` and `sort(attribute=)` accept; integer parts index lists.
    func attributePath(_ value: TemplateValue, _ path: String, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        var v = value
        for part in path.split(separator: ".") {
            let key: TemplateValue = Int(part).map { .int($0) } ?? .string(String(part))
            v = try item(of: v, key, at: loc)
            if v.isUndefined { return v }
        }
        return v
    }

    /// Stable sort by `key`, lower-casing strings unless case-sensitive, as jinja's sort/dictsort do.
    func sorted(_ items: [TemplateValue], reverse: Bool, caseSensitive: Bool, at loc: SourceLocation,
                key: (TemplateValue) -> TemplateValue) throws(ChatTemplateError) -> [TemplateValue] {
        func normalized(_ v: TemplateValue) -> TemplateValue {
            if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
            return v
        }
        let keyed = items.map { (normalized(key($0)), $0) }
        var failure: ChatTemplateError?
        let result = keyed.enumerated().sorted { a, b in
            do {
                let order = try ordering(a.element.0, b.element.0, at: loc)
                if order == 0 { return a.offset < b.offset }
                return reverse ? order > 0 : order < 0
            } catch { failure = failure ?? (error as? ChatTemplateError); return a.offset < b.offset }
        }
        if let failure { throw failure }
        return result.map { $0.element.1 }
    }

    /// jinja's `title` filter: capitalise after `-`, whitespace and opening brackets.
    private func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for c in s {
            let separator = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || c.unicodeScalars.allSatisfy(TemplateMethods.isSpace)
            if separator { out.append(c); atStart = true; continue }
            out += atStart ? c.uppercased() : c.lowercased()
            atStart = false
        }
        return out
    }

    /// jinja's `indent` filter (3.1: `blank` replaces the old `indentblank`).
    private func indent(_ s: String, width: TemplateValue, first: Bool, blank: Bool) -> String {
        let indention = if case .string(let w) = width { w } else { String(repeating: " ", count: max(0, min(width.integer ?? 4, 4096))) }
        var lines = (s + "\n").split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        lines.removeLast()
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty { rv += "\n" + lines.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
        }
        return first ? indention + rv : rv
    }
}
