// Calling things: the globals transformers installs (`raise_exception`, `strftime_now`) and jinja's own
// (`namespace`, `range`, `dict`), macros, bound methods and `loop.cycle`.
import Foundation

extension TemplateEvaluator {
    mutating func evaluateArguments(_ arguments: TemplateArguments) throws(ChatTemplateError) -> ([TemplateValue], [String: TemplateValue]) {
        var args: [TemplateValue] = []
        for e in arguments.positional { args.append(try evaluate(e)) }
        var kwargs: [String: TemplateValue] = [:]
        for (k, e) in arguments.keyword { kwargs[k] = try evaluate(e) }
        return (args, kwargs)
    }

    mutating func call(_ callee: TemplateValue, _ arguments: TemplateArguments, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        guard case .callable(let function) = callee else {
            if case .undefined(let hint) = callee { throw runtime(hint, loc) }
            throw runtime("'\(callee.typeName)' object is not callable", loc)
        }
        let (args, kwargs) = try evaluateArguments(arguments)
        switch function {
        case .method(let receiver, let name): return try callMethod(receiver, name, args, kwargs, at: loc)
        case .cycle(let index):
            guard !args.isEmpty else { throw runtime("no items for cycling given", loc) }
            return args[index % args.count]
        case .macro(let id): return try callMacro(id, args, kwargs, at: loc)
        case .global(let name): return try callGlobal(name, args, kwargs, keywordOrder: arguments.keyword.map(\.0), at: loc)
        }
    }

    private mutating func callGlobal(_ name: String, _ args: [TemplateValue], _ kwargs: [String: TemplateValue], keywordOrder: [String],
                                     at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        switch name {
        case "raise_exception":
            throw .raised(message: (args.first ?? kwargs["message"] ?? .string("")).pythonString, line: loc.line, column: loc.column)
        case "strftime_now":
            guard case .string(let format) = args.first ?? .none else { throw runtime("strftime_now() needs a format string", loc) }
            return .string(TemplateEvaluator.strftime(format, now))
        case "namespace", "dict":
            var d = TemplateDictionary()
            if case .dict(let initial) = args.first { d = initial }
            for key in keywordOrder { d[key] = kwargs[key] }
            if name == "dict" { return try checkedDepth(.dict(d)) }
            _ = try checkedDepth(.dict(d))
            namespaces.append(d)
            return .namespace(namespaces.count - 1)
        case "range":
            let ints = args.compactMap(\.integer)
            guard ints.count == args.count, (1...3).contains(ints.count) else { throw runtime("range() takes 1 to 3 integer arguments", loc) }
            let start = ints.count == 1 ? 0 : ints[0]
            let stop = ints.count == 1 ? ints[0] : ints[1]
            let step = ints.count == 3 ? ints[2] : 1
            guard step != 0 else { throw runtime("range() arg 3 must not be zero", loc) }
            // Count in Double so huge bounds cannot overflow Int arithmetic.
            let count = max(0, ((Double(stop) - Double(start)) / Double(step)).rounded(.up))
            guard count <= Double(Self.maxRepetition) else { throw .limitExceeded(message: "range() too large", line: loc.line, column: loc.column) }
            return .array(stride(from: start, to: stop, by: step).map { .int($0) })
        case "__caller__":
            return lookup("__caller_body__")
        default:
            throw runtime("'\(name)' is not callable", loc)
        }
    }

    private mutating func callMacro(_ id: Int, _ args: [TemplateValue], _ kwargs: [String: TemplateValue], at loc: SourceLocation) throws(ChatTemplateError) -> TemplateValue {
        guard macros.indices.contains(id) else { throw runtime("unknown macro", loc) }
        let macro = macros[id]
        guard callDepth < Self.maxCallDepth else {
            throw .limitExceeded(message: "macro recursion deeper than \(Self.maxCallDepth)", line: loc.line, column: loc.column)
        }
        guard args.count <= macro.parameters.count else { throw runtime("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", loc) }
        // Macros see the render context (scope 0) and their own parameters, not the caller's locals.
        let saved = scopes
        var frame: [String: TemplateValue] = [:]
        if let caller = lookup("caller") as TemplateValue?, !caller.isUndefined {
            frame["caller"] = caller
            frame["__caller_body__"] = lookup("__caller_body__")
        }
        scopes = [scopes[0], frame]
        defer { scopes = saved; callDepth -= 1 }
        callDepth += 1
        for (i, (parameter, defaultValue)) in macro.parameters.enumerated() {
            if i < args.count { assign(parameter, args[i]) }
            else if let v = kwargs[parameter] { assign(parameter, v) }
            else if let defaultValue { assign(parameter, try evaluate(defaultValue)) }
            else { assign(parameter, .undefined("parameter '\(parameter)' was not provided")) }
        }
        var out = ""
        _ = try execute(macro.body, into: &out)
        return .string(out)
    }

    /// Python `strftime` for the directives chat templates use (dates in system prompts).
    static func strftime(_ format: String, _ date: Date) -> String {
        let calendar = Calendar(identifier: .gregorian)
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func pad(_ v: Int?, _ width: Int = 2) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let month = months[max(0, min(11, (c.month ?? 1) - 1))]
        let day = days[max(0, min(6, (c.weekday ?? 1) - 1))]
        let hour = c.hour ?? 0
        var out = ""
        var chars = format[...]
        while let ch = chars.first {
            chars = chars.dropFirst()
            guard ch == "%", let d = chars.first else { out.append(ch); continue }
            chars = chars.dropFirst()
            switch d {
            case "Y": out += String(c.year ?? 0)
            case "y": out += pad((c.year ?? 0) % 100)
            case "m": out += pad(c.month)
            case "d": out += pad(c.day)
            case "-": // %-d, %-m: glibc's no-padding flag
                if let e = chars.first {
                    chars = chars.dropFirst()
                    out += e == "d" ? String(c.day ?? 0) : e == "m" ? String(c.month ?? 0) : e == "H" ? String(hour) : "%-\(e)"
                }
            case "H": out += pad(hour)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += pad(c.minute)
            case "S": out += pad(c.second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "B": out += month
            case "b": out += String(month.prefix(3))
            case "A": out += day
            case "a": out += String(day.prefix(3))
            case "j": out += pad(calendar.ordinality(of: .day, in: .year, for: date), 3)
            case "%": out += "%"
            default: out += "%\(d)"
            }
        }
        return out
    }
}
