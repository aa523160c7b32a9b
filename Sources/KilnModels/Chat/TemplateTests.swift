// jinja2's builtin tests (`x is defined`, `x is none`, …) from src/jinja2/tests.py (3.1.6).
// Python's numeric tower applies: bool counts as a number but `integer` excludes it, as jinja does.

extension TemplateEvaluator {
    mutating func applyTest(_ name: String, to value: TemplateValue, arguments: TemplateArguments, at loc: SourceLocation)
        throws(ChatTemplateError) -> Bool {
        let (args, _) = try evaluateArguments(arguments)
        return try runTest(name, value, args, at: loc)
    }

    func runTest(_ name: String, _ value: TemplateValue, _ args: [TemplateValue], at loc: SourceLocation) throws(ChatTemplateError) -> Bool {
        func other() throws(ChatTemplateError) -> TemplateValue {
            guard let first = args.first else { throw runtime("test '\(name)' needs an argument", loc) }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value == .none
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number": return value.number != nil
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable":
            switch value {
            case .array, .dict, .string, .undefined, .namespace: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .array, .dict, .string, .undefined: return true
            default: return false
            }
        // Undefined has `__call__` (it raises), so Python's callable() says yes.
        case "callable": if case .callable = value { return true } else { return value.isUndefined }
        case "escaped": return false
        // str(value).islower(): at least one cased character and no upper-case ones (and vice versa).
        case "lower":
            let s = value.pythonString
            return s.contains { $0.isLowercase } && !s.contains { $0.isUppercase }
        case "upper":
            let s = value.pythonString
            return s.contains { $0.isUppercase } && !s.contains { $0.isLowercase }
        case "even", "odd":
            // jinja tests `value % 2 == 0` / `== 1`, so floats work too (2.5 is neither).
            if let i = value.integer { return (i % 2 == 0) == (name == "even") }
            guard case .double(let d) = value else { throw try undefinedOrType(value, "unsupported operand type(s) for %: '\(value.typeName)' and 'int'", loc) }
            let r = d - 2 * (d / 2).rounded(.down)
            return name == "even" ? r == 0 : r == 1
        case "divisibleby":
            guard let i = value.integer, let d = try other().integer else { throw runtime("divisibleby needs integers", loc) }
            guard d != 0 else { throw runtime("integer division or modulo by zero", loc) }
            return i % d == 0
        case "eq", "equalto", "==": return value.pythonEquals(try other())
        case "ne", "!=": return !value.pythonEquals(try other())
        case "lt", "lessthan", "<": return try ordering(value, try other(), at: loc) < 0
        case "le", "<=": return try ordering(value, try other(), at: loc) <= 0
        case "gt", "greaterthan", ">": return try ordering(value, try other(), at: loc) > 0
        case "ge", ">=": return try ordering(value, try other(), at: loc) >= 0
        case "in": return try contains(try other(), value, at: loc)
        case "sameas":
            let o = try other()
            switch (value, o) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            default: return false
            }
        default: throw runtime("No test named '\(name)'.", loc)
        }
    }
}
