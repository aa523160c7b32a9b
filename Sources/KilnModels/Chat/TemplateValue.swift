// The dynamic value of the template language. Semantics follow Python as jinja2 sees it:
// truthiness, `==` (True == 1), `str()` for output and `repr()` for containers printed whole.

/// A value inside a chat template: JSON-like data plus Jinja's undefined, namespaces and callables.
public indirect enum TemplateValue: Sendable, Equatable {
    /// Jinja's default `Undefined`; the payload is the hint used if it is used in a way that fails.
    case undefined(String)
    /// Python `None`.
    case none
    /// Python `bool`.
    case bool(Bool)
    /// Python `int` (limited to 64 bits).
    case int(Int)
    /// Python `float`.
    case double(Double)
    /// Python `str`.
    case string(String)
    /// Python `list` (tuples are lists here; templates cannot tell them apart).
    case array([TemplateValue])
    /// Python `dict` with string keys, keeping insertion order as Python does.
    case dict(TemplateDictionary)
    /// A `namespace()` object; the id indexes the evaluator's mutable namespace table.
    case namespace(Int)
    /// Something callable: a global function, a macro, or a method bound to its receiver.
    case callable(TemplateCallable)
}

/// A function value: which one, and for methods, the value it is bound to.
public indirect enum TemplateCallable: Sendable, Equatable {
    /// A global such as `raise_exception`, `namespace` or `range`.
    case global(String)
    /// A `{% macro %}` defined by the template; the id indexes the evaluator's macro table.
    case macro(Int)
    /// A Python method such as `str.strip` bound to its receiver.
    case method(TemplateValue, String)
    /// `loop.cycle`, bound to the current iteration index.
    case cycle(Int)
}

/// An insertion-ordered dictionary with string keys, like a Python 3.7+ `dict` built from JSON.
public struct TemplateDictionary: Sendable, Equatable {
    /// Keys in insertion order.
    public private(set) var keys: [String] = []
    private var storage: [Key: TemplateValue] = [:]

    /// A key compared by Unicode scalars, as Python compares str: Swift's String equality would merge
    /// canonically equivalent keys ("é" and "e\u{301}") that Python keeps apart.
    private struct Key: Hashable, Sendable {
        let string: String
        init(_ string: String) { self.string = string }
        static func == (lhs: Key, rhs: Key) -> Bool { lhs.string.unicodeScalars.elementsEqual(rhs.string.unicodeScalars) }
        func hash(into hasher: inout Hasher) {
            for scalar in string.unicodeScalars { hasher.combine(scalar.value) }
        }
    }

    /// An empty dictionary.
    public init() {}

    /// A dictionary holding `pairs` in order; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, TemplateValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    /// The value for `key`, or nil; setting appends new keys at the end.
    public subscript(key: String) -> TemplateValue? {
        get { storage[Key(key)] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: Key(key)) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: Key(key)) != nil {
                keys.removeAll { Key($0) == Key(key) }
            }
        }
    }

    /// The number of entries.
    public var count: Int { keys.count }

    /// The entries in insertion order.
    public var pairs: [(String, TemplateValue)] { keys.map { ($0, storage[Key($0)] ?? TemplateValue.none) } }

    /// Python dict equality ignores order.
    public static func == (lhs: TemplateDictionary, rhs: TemplateDictionary) -> Bool {
        lhs.storage == rhs.storage
    }
}

// MARK: - Literals

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer value.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A float value.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A list value.
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    /// An ordered dictionary value.
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .dict(TemplateDictionary(elements)) }
    /// `None`.
    public init(nilLiteral: ()) { self = .none }
}

// MARK: - Python semantics

extension TemplateValue {
    /// Python truthiness; undefined is falsy.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .callable: return true
        }
    }

    var isUndefined: Bool { if case .undefined = self { true } else { false } }

    /// Container nesting depth, counted no further than `limit` levels so the walk itself stays shallow.
    /// Values built by templates are capped with it: releasing, printing or comparing a value nested
    /// thousands deep would recurse that deep and overflow the stack.
    func depth(limit: Int) -> Int {
        guard limit > 0 else { return 1 }
        switch self {
        case .array(let a): return 1 + (a.lazy.map { $0.depth(limit: limit - 1) }.max() ?? 0)
        case .dict(let d): return 1 + (d.pairs.lazy.map { $0.1.depth(limit: limit - 1) }.max() ?? 0)
        case .callable(.method(let receiver, _)): return 1 + receiver.depth(limit: limit - 1)
        default: return 0
        }
    }

    /// The numeric value for Python's numeric tower (bool is an int subclass).
    var number: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The integer value of a bool or int.
    var integer: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }

    /// Python's type name, used in error messages the way Python words them.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }

    /// Python `==` as jinja2 evaluates it: numbers compare across int/float/bool.
    func pythonEquals(_ other: TemplateValue) -> Bool {
        if let a = number, let b = other.number {
            if let x = integer, let y = other.integer { return x == y }
            return a == b
        }
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.pairs.allSatisfy { key, value in b[key].map { value.pythonEquals($0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a == b
        case (.callable(let a), .callable(let b)): return a == b
        default: return false
        }
    }

    /// Python `str()`: what `{{ value }}` prints.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python `repr()`, used for values nested in printed lists and dicts.
    var pythonRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return Self.pythonFloatRepr(d)
        case .string(let s): return Self.pythonStringRepr(s)
        case .array(let a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .dict(let d):
            return "{" + d.pairs.map { Self.pythonStringRepr($0.0) + ": " + $0.1.pythonRepr }.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        case .callable: return "<function>"
        }
    }

    /// Python's `repr(float)`: shortest round-trip digits, `inf`/`nan`, exponent past 1e16.
    static func pythonFloatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description already uses the shortest round-trip digits and the same
        // switch to exponent notation (>= 1e16, < 1e-4) as Python's float_repr_style 'short'.
        return d.description
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
