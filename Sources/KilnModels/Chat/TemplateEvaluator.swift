// Walks the syntax tree and renders text. Scoping follows jinja2: `for` bodies and macros get their own
// scope (a `set` inside a loop does not leak out), `if` does not; namespaces are the sanctioned way out.
import Foundation

/// Renders parsed templates; one evaluator per render, so it can hold mutable state without locks.
struct TemplateEvaluator {
    /// Scope stack, innermost last; index 0 holds the render context and globals.
    var scopes: [[String: TemplateValue]]
    /// Mutable `namespace()` objects, addressed by `TemplateValue.namespace(id)`.
    var namespaces: [TemplateDictionary] = []
    var macros: [TemplateMacro] = []
    /// Current time for `strftime_now`, injected so tests are deterministic.
    let now: Date
    var callDepth = 0
    var iterations = 0

    static let maxCallDepth = 64
    static let maxIterations = 10_000_000
    static let maxOutputBytes = 256 << 20
    /// Deepest list/dict nesting a template may build (JSON inputs are already capped at 512 by TemplateJSON).
    static let maxValueDepth = 256

    /// How a statement list finished: normally, or by `{% break %}` / `{% continue %}`.
    enum Flow { case normal, breakLoop, continueLoop }

    init(context: [String: TemplateValue], now: Date) {
        var root = context
        for name in ["raise_exception", "strftime_now", "namespace", "range", "dict"] where root[name] == nil {
            root[name] = .callable(.global(name))
        }
        scopes = [root]
        self.now = now
    }

    func runtime(_ message: String, _ loc: SourceLocation) -> ChatTemplateError {
        .runtime(message: message, line: loc.line, column: loc.column)
    }

    func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined("'\(name)' is undefined")
    }

    mutating func assign(_ name: String, _ value: TemplateValue) {
        scopes[scopes.count - 1][name] = value
    }

    // MARK: - Statements

    mutating func execute(_ nodes: [TemplateNode], into out: inout String) throws(ChatTemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let s): out += s
            case .output(let e): out += try evaluate(e).pythonString
            case .ifChain(let branches, let otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition).isTruthy {
                    taken = true
                    let flow = try execute(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try execute(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case .forLoop(let loop): try executeFor(loop, into: &out)
            case .set(let target, let expression, let loc): try executeSet(target, try evaluate(expression), at: loc)
            case .setBlock(let name, let body):
                var captured = ""
                _ = try execute(body, into: &captured)
                assign(name, .string(captured))
            case .macro(let macro):
                macros.append(macro)
                assign(macro.name, .callable(.macro(macros.count - 1)))
            case .callBlock(let callee, let body, _):
                // `{% call m() %}body{% endcall %}`: the body is what `caller()` returns inside the macro.
                var captured = ""
                _ = try execute(body, into: &captured)
                scopes.append(["caller": .callable(.global("__caller__")), "__caller_body__": .string(captured)])
                defer { scopes.removeLast() }
                out += try evaluate(callee).pythonString
            case .filterBlock(let name, let arguments, let body, let loc):
                var captured = ""
                _ = try execute(body, into: &captured)
                out += try applyFilter(name, to: .string(captured), arguments: arguments, at: loc).pythonString
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
            if out.utf8.count > Self.maxOutputBytes {
                throw .limitExceeded(message: "output larger than \(Self.maxOutputBytes) bytes", line: 0, column: 0)
            }
        }
        return .normal
    }

    private mutating func executeSet(_ target: TemplateSetTarget, _ value: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) {
        switch target {
        case .names(let names) where names.count == 1:
            assign(names[0], value)
        case .names(let names):
            let items = try iterate(value, at: loc)
            guard items.count == names.count else {
                throw runtime("cannot unpack \(items.count) values into \(names.count) names", loc)
            }
            for (name, item) in zip(names, items) { assign(name, item) }
        case .attribute(let name, let attribute):
            guard case .namespace(let id) = lookup(name), namespaces.indices.contains(id) else {
                throw runtime("cannot assign attribute on non-namespace object", loc)
            }
            namespaces[id][attribute] = value
        }
    }

    private mutating func executeFor(_ loop: TemplateForLoop, into out: inout String) throws(ChatTemplateError) {
        let all = try iterate(try evaluate(loop.iterable), at: loop.location)
        var items: [TemplateValue] = []
        if let condition = loop.condition {
            // The inline `if` filters before `loop.*` is computed, so loop.length counts kept items only.
            for item in all {
                scopes.append([:])
                defer { scopes.removeLast() }
                try bind(loop.targets, to: item, at: loop.location)
                if try evaluate(condition).isTruthy { items.append(item) }
            }
        } else {
            items = all
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise, into: &out)
            return
        }
        for (i, item) in items.enumerated() {
            iterations += 1
            if iterations > Self.maxIterations {
                throw .limitExceeded(message: "more than \(Self.maxIterations) loop iterations", line: loop.location.line,
                                     column: loop.location.column)
            }
            var info = TemplateDictionary()
            info["index"] = .int(i + 1)
            info["index0"] = .int(i)
            info["revindex"] = .int(items.count - i)
            info["revindex0"] = .int(items.count - i - 1)
            info["first"] = .bool(i == 0)
            info["last"] = .bool(i == items.count - 1)
            info["length"] = .int(items.count)
            info["depth"] = .int(1)
            info["depth0"] = .int(0)
            if i > 0 { info["previtem"] = items[i - 1] }
            if i + 1 < items.count { info["nextitem"] = items[i + 1] }
            info["cycle"] = .callable(.cycle(i))
            scopes.append(["loop": .dict(info)])
            defer { scopes.removeLast() }
            try bind(loop.targets, to: item, at: loop.location)
            if try execute(loop.body, into: &out) == .breakLoop { break }
        }
    }

    private mutating func bind(_ targets: [String], to item: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) {
        if targets.count == 1 { assign(targets[0], item); return }
        let parts = try iterate(item, at: loc)
        guard parts.count == targets.count else {
            throw runtime("cannot unpack \(parts.count) values into \(targets.count) loop variables", loc)
        }
        for (name, part) in zip(targets, parts) { assign(name, part) }
    }

    /// Python iteration: lists, dict keys, string characters; undefined iterates as empty.
    func iterate(_ value: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> [TemplateValue] {
        switch value {
        case .array(let a): return a
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .namespace(let id): return namespaces.indices.contains(id) ? namespaces[id].keys.map { .string($0) } : []
        default: throw runtime("'\(value.typeName)' object is not iterable", loc)
        }
    }

    // MARK: - Expressions

    mutating func evaluate(_ expression: TemplateExpression) throws(ChatTemplateError) -> TemplateValue {
        switch expression {
        case .literal(let v): return v
        case .name(let n, _): return lookup(n)
        case .list(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item)) }
            return try checkedDepth(.array(values))
        case .dict(let pairs):
            var d = TemplateDictionary()
            for (k, v) in pairs {
                let key = try evaluate(k)
                guard case .string(let ks) = key else { d[key.pythonString] = try evaluate(v); continue }
                d[ks] = try evaluate(v)
            }
            return try checkedDepth(.dict(d))
        case .attribute(let base, let name, let loc): return try attribute(of: try evaluate(base), name, at: loc)
        case .item(let base, let key, let loc): return try item(of: try evaluate(base), try evaluate(key), at: loc)
        case .slice(let base, let start, let stop, let step, let loc):
            return try slice(try evaluate(base), start: try start.map { e throws(ChatTemplateError) in try evaluate(e) },
                             stop: try stop.map { e throws(ChatTemplateError) in try evaluate(e) },
                             step: try step.map { e throws(ChatTemplateError) in try evaluate(e) }, at: loc)
        case .negate(let e, let loc):
            let v = try evaluate(e)
            switch v {
            case .int(let i) where i != Int.min: return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            default: throw try undefinedOrType(v, "bad operand type for unary -: '\(v.typeName)'", loc)
            }
        case .positive(let e, let loc):
            let v = try evaluate(e)
            guard v.number != nil else { throw try undefinedOrType(v, "bad operand type for unary +: '\(v.typeName)'", loc) }
            return v
        case .not(let e): return .bool(!(try evaluate(e).isTruthy))
        case .and(let a, let b):
            let left = try evaluate(a)
            return left.isTruthy ? try evaluate(b) : left
        case .or(let a, let b):
            let left = try evaluate(a)
            return left.isTruthy ? left : try evaluate(b)
        case .binary(let op, let a, let b, let loc): return try binary(op, try evaluate(a), try evaluate(b), at: loc)
        case .compare(let first, let chain, let loc):
            var left = try evaluate(first)
            for (op, e) in chain {
                let right = try evaluate(e)
                if !(try compare(op, left, right, at: loc)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .test(let e, let name, let arguments, let negated, let loc):
            let result = try applyTest(name, to: try evaluate(e), arguments: arguments, at: loc)
            return .bool(result != negated)
        case .filter(let e, let name, let arguments, let loc):
            return try applyFilter(name, to: try evaluate(e), arguments: arguments, at: loc)
        case .call(let callee, let arguments, let loc): return try call(try evaluate(callee), arguments, at: loc)
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map { e throws(ChatTemplateError) in try evaluate(e) } ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }

    /// `value`, or a limit error when building it nested it deeper than `maxValueDepth`.
    func checkedDepth(_ value: TemplateValue) throws(ChatTemplateError) -> TemplateValue {
        guard value.depth(limit: Self.maxValueDepth + 1) <= Self.maxValueDepth else {
            throw .limitExceeded(message: "value nested deeper than \(Self.maxValueDepth) levels", line: 0, column: 0)
        }
        return value
    }

    /// The error for using `value` where a real value is needed: undefined gets jinja's UndefinedError text.
    func undefinedOrType(_ value: TemplateValue, _ message: String, _ loc: SourceLocation) throws(ChatTemplateError) -> ChatTemplateError {
        if case .undefined(let hint) = value { return runtime(hint, loc) }
        return runtime(message, loc)
    }

    /// `value.name`: methods first, then items, as jinja2's `Environment.getattr` does for dicts.
    func attribute(of value: TemplateValue, _ name: String, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        switch value {
        case .undefined(let hint): throw runtime(hint, loc)
        case .dict(let d):
            if TemplateMethods.dictMethods.contains(name) { return .callable(.method(value, name)) }
            return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let id):
            return (namespaces.indices.contains(id) ? namespaces[id][name] : nil) ?? .undefined("'Namespace' object has no attribute '\(name)'")
        case .string:
            if TemplateMethods.stringMethods.contains(name) { return .callable(.method(value, name)) }
        case .array:
            if TemplateMethods.listMethods.contains(name) { return .callable(.method(value, name)) }
        default: break
        }
        return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
    }

    /// `value[key]`: items first, then attributes for string keys, as jinja2's `Environment.getitem` does.
    func item(of value: TemplateValue, _ key: TemplateValue, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        switch (value, key) {
        case (.undefined(let hint), _): throw runtime(hint, loc)
        case (.dict(let d), .string(let k)):
            if let v = d[k] { return v }
        case (.array(let a), _):
            if let i = key.integer {
                let index = i < 0 ? a.count + i : i
                if a.indices.contains(index) { return a[index] }
                return .undefined("'list object' has no element \(i)")
            }
        case (.string(let s), _):
            if let i = key.integer {
                let scalars = Array(s.unicodeScalars)
                let index = i < 0 ? scalars.count + i : i
                if scalars.indices.contains(index) { return .string(String(scalars[index])) }
                return .undefined("'str object' has no element \(i)")
            }
        default: break
        }
        if case .string(let name) = key { return try attribute(of: value, name, at: loc) }
        return .undefined("'\(value.typeName) object' has no element \(key.pythonRepr)")
    }

    /// Python slicing `value[start:stop:step]` for lists and strings.
    func slice(_ value: TemplateValue, start: TemplateValue?, stop: TemplateValue?, step: TemplateValue?, at loc: SourceLocation)
        throws(ChatTemplateError) -> TemplateValue {
        func bound(_ v: TemplateValue?) throws(ChatTemplateError) -> Int? {
            guard let v, v != .none else { return nil }
            guard let i = v.integer else { throw runtime("slice indices must be integers or None", loc) }
            return i
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw runtime("slice step cannot be zero", loc) }
        func pick<T>(_ items: [T]) throws(ChatTemplateError) -> [T] {
            let n = items.count
            func clamp(_ i: Int?, _ fallback: Int) -> Int {
                guard let i else { return fallback }
                let j = i < 0 ? i + n : i
                return stepValue > 0 ? min(max(j, 0), n) : min(max(j, -1), n - 1)
            }
            let lo = clamp(try bound(start), stepValue > 0 ? 0 : n - 1)
            let hi = clamp(try bound(stop), stepValue > 0 ? n : -1)
            var result: [T] = []
            var i = lo
            while stepValue > 0 ? i < hi : i > hi {
                result.append(items[i])
                i += stepValue
            }
            return result
        }
        switch value {
        case .array(let a): return .array(try pick(a))
        case .string(let s):
            var out = String.UnicodeScalarView()
            out.append(contentsOf: try pick(Array(s.unicodeScalars)))
            return .string(String(out))
        case .undefined(let hint): throw runtime(hint, loc)
        // jinja compiles slices to a plain Python subscript (not Environment.getitem), so errors propagate.
        case .dict: throw runtime("unhashable type: 'slice'", loc)
        default: throw runtime("'\(value.typeName)' object is not subscriptable", loc)
        }
    }
}
