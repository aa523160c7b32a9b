// Binary operators and comparisons with Python's rules: int arithmetic stays int (overflow is an error,
// not a wrap), `/` is true division, `//` and `%` floor toward negative infinity, `~` stringifies both sides.
import Foundation

extension TemplateEvaluator {
    /// Largest list or string a `*` repetition may build; guards fuzzed templates against huge allocations.
    static let maxRepetition = 1 << 24

    func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        if op == "~" { return .string(a.pythonString + b.pythonString) }
        if case .undefined(let hint) = a { throw runtime(hint, loc) }
        if case .undefined(let hint) = b { throw runtime(hint, loc) }
        let unsupported = runtime("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", loc)
        if let x = a.integer, let y = b.integer {
            return try integerOp(op, x, y, at: loc)
        }
        if let x = a.number, let y = b.number {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/", "//", "%":
                guard y != 0 else { throw runtime("float division by zero", loc) }
                if op == "/" { return .double(x / y) }
                if op == "//" { return .double((x / y).rounded(.down)) }
                let r = x.truncatingRemainder(dividingBy: y)
                return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**": return .double(pow(x, y))
            default: throw unsupported
            }
        }
        switch (op, a, b) {
        case ("%", .string(let format), .array(let items)): return .string(try percentFormat(format, items, at: loc))
        case ("%", .string(let format), _): return .string(try percentFormat(format, [b], at: loc))
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .array(let x), .array(let y)): return .array(x + y)
        case ("+", .string, _), ("+", .array, _):
            throw runtime("can only concatenate \(a.typeName) (not \"\(b.typeName)\") to \(a.typeName)", loc)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = (a.integer ?? b.integer) else { throw unsupported }
            guard n <= 0 || n <= Self.maxRepetition / max(1, s.utf8.count) else { throw tooLarge(loc) }
            return .string(n > 0 ? String(repeating: s, count: n) : "")
        case ("*", .array(let x), _), ("*", _, .array(let x)):
            guard let n = (a.integer ?? b.integer) else { throw unsupported }
            guard n <= 0 || n <= Self.maxRepetition / max(1, x.count) else { throw tooLarge(loc) }
            return .array(n > 0 ? Array([[TemplateValue]](repeating: x, count: n).joined()) : [])
        default: throw unsupported
        }
    }

    private func tooLarge(_ loc: SourceLocation) -> ChatTemplateError {
        .limitExceeded(message: "repetition result too large", line: loc.line, column: loc.column)
    }

    private func integerOp(_ op: String, _ x: Int, _ y: Int, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        let overflow = ChatTemplateError.limitExceeded(message: "integer overflow in '\(op)'", line: loc.line, column: loc.column)
        switch op {
        case "+": let (r, o) = x.addingReportingOverflow(y); if o { throw overflow }; return .int(r)
        case "-": let (r, o) = x.subtractingReportingOverflow(y); if o { throw overflow }; return .int(r)
        case "*": let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw overflow }; return .int(r)
        case "/":
            guard y != 0 else { throw runtime("division by zero", loc) }
            return .double(Double(x) / Double(y))
        case "//", "%":
            guard y != 0 else { throw runtime("integer division or modulo by zero", loc) }
            guard !(x == Int.min && y == -1) else { throw overflow }
            var q = x / y
            var r = x % y
            if r != 0 && (r < 0) != (y < 0) { q -= 1; r += y }
            return .int(op == "//" ? q : r)
        case "**":
            if y < 0 { return .double(pow(Double(x), Double(y))) }
            var result = 1
            for _ in 0..<min(y, 64) {
                let (r, o) = result.multipliedReportingOverflow(by: x)
                if o { throw overflow }
                result = r
            }
            if y > 64 && abs(x) > 1 { throw overflow }
            if y > 64 && x == -1 { return .int(y % 2 == 0 ? 1 : -1) }
            return .int(result)
        default:
            throw runtime("unsupported operator '\(op)'", loc)
        }
    }

    func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> Bool {
        switch op {
        case "==": return a.pythonEquals(b)
        case "!=": return !a.pythonEquals(b)
        case "in": return try contains(b, a, at: loc)
        case "notin": return !(try contains(b, a, at: loc))
        default:
            let order = try ordering(a, b, at: loc)
            switch op {
            case "<": return order < 0
            case "<=": return order <= 0
            case ">": return order > 0
            default: return order >= 0
            }
        }
    }

    /// Python ordering for numbers, strings (by code point) and lists; anything else is a TypeError.
    func ordering(_ a: TemplateValue, _ b: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> Int {
        if let x = a.number, let y = b.number {
            if let i = a.integer, let j = b.integer { return i < j ? -1 : (i == j ? 0 : 1) }
            return x < y ? -1 : (x == y ? 0 : 1)
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            let xs = Array(x.unicodeScalars), ys = Array(y.unicodeScalars)
            for (p, q) in zip(xs, ys) where p != q { return p.value < q.value ? -1 : 1 }
            return xs.count < ys.count ? -1 : (xs.count == ys.count ? 0 : 1)
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) where !p.pythonEquals(q) { return try ordering(p, q, at: loc) }
            return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
        default:
            if case .undefined(let hint) = a { throw runtime(hint, loc) }
            if case .undefined(let hint) = b { throw runtime(hint, loc) }
            throw runtime("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", loc)
        }
    }

    /// Python `needle in container`.
    func contains(_ container: TemplateValue, _ needle: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let n) = needle else {
                throw runtime("'in <string>' requires string as left operand, not \(needle.typeName)", loc)
            }
            return n.isEmpty || s.range(of: n, options: .literal) != nil
        case .array(let a): return a.contains { $0.pythonEquals(needle) }
        case .dict(let d):
            guard case .string(let k) = needle else { return false }
            return d[k] != nil
        case .namespace(let id):
            guard case .string(let k) = needle, namespaces.indices.contains(id) else { return false }
            return namespaces[id][k] != nil
        case .undefined: return false
        default: throw runtime("argument of type '\(container.typeName)' is not iterable", loc)
        }
    }
}
