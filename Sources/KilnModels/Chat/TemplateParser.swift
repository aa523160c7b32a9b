// Recursive-descent parser from tokens to `TemplateNode`s, with jinja2's operator precedence
// (pallets/jinja src/jinja2/parser.py, 3.1.6): condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary,
// and filters/tests binding tighter than any binary operator.

/// Parses a token stream; depth-limited so hostile input cannot overflow the stack.
struct TemplateParser {
    private(set) var tokens: [TemplateToken]
    var index = 0
    var depth = 0
    static let maxDepth = 128

    init(tokens: [TemplateToken]) { self.tokens = tokens }

    /// Parses the whole template.
    /// - Throws: `ChatTemplateError.syntax` naming the offending token's position.
    mutating func parseTemplate() throws(ChatTemplateError) -> [TemplateNode] {
        let (nodes, end) = try parseBody(until: [])
        if let end { throw error("unexpected '\(end)'", at: current.location) }
        return nodes
    }

    // MARK: - Token helpers

    var current: TemplateToken { tokens[min(index, tokens.count - 1)] }

    func peek(_ offset: Int = 1) -> TemplateTokenKind { tokens[min(index + offset, tokens.count - 1)].kind }

    mutating func next() -> TemplateToken {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func error(_ message: String, at loc: SourceLocation) -> ChatTemplateError {
        .syntax(message: message, line: loc.line, column: loc.column)
    }

    func isSymbol(_ s: String) -> Bool { current.kind == .symbol(s) }
    func isName(_ s: String) -> Bool { current.kind == .name(s) }

    mutating func skip(symbol s: String) -> Bool {
        if isSymbol(s) { index += 1; return true }
        return false
    }

    mutating func skip(name s: String) -> Bool {
        if isName(s) { index += 1; return true }
        return false
    }

    mutating func expect(symbol s: String) throws(ChatTemplateError) {
        guard skip(symbol: s) else { throw error("expected '\(s)'", at: current.location) }
    }

    mutating func expectName() throws(ChatTemplateError) -> String {
        guard case .name(let n) = current.kind else { throw error("expected a name", at: current.location) }
        index += 1
        return n
    }

    mutating func expectBlockEnd() throws(ChatTemplateError) {
        guard current.kind == .blockEnd else { throw error("expected end of statement block", at: current.location) }
        index += 1
    }

    mutating func enter() throws(ChatTemplateError) {
        depth += 1
        if depth > Self.maxDepth {
            throw .limitExceeded(message: "template nested too deeply", line: current.location.line, column: current.location.column)
        }
    }

    // MARK: - Statements

    /// Parses nodes until a block tag whose keyword is in `terminators`; returns that keyword (consumed) or nil at end.
    mutating func parseBody(until terminators: Set<String>) throws(ChatTemplateError) -> ([TemplateNode], String?) {
        try enter()
        defer { depth -= 1 }
        var nodes: [TemplateNode] = []
        while true {
            let token = next()
            switch token.kind {
            case .end:
                if !terminators.isEmpty {
                    throw error("unexpected end of template, expected one of \(terminators.sorted())", at: token.location)
                }
                return (nodes, nil)
            case .text(let s): nodes.append(.text(s))
            case .variableBegin:
                nodes.append(.output(try parseTuple()))
                guard current.kind == .variableEnd else { throw error("expected '}}'", at: current.location) }
                index += 1
            case .blockBegin:
                guard case .name(let keyword) = current.kind else { throw error("expected a statement name", at: current.location) }
                if terminators.contains(keyword) { index += 1; return (nodes, keyword) }
                if let node = try parseStatement() { nodes.append(node) }
            default:
                throw error("unexpected token", at: token.location)
            }
        }
    }

    mutating func parseStatement() throws(ChatTemplateError) -> TemplateNode? {
        let loc = current.location
        let keyword = try expectName()
        switch keyword {
        case "if": return try parseIf()
        case "for": return try parseFor(at: loc)
        case "set": return try parseSet(at: loc)
        case "macro": return try parseMacro()
        case "call":
            let callee = try parseExpression()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endcall"])
            try expectBlockEnd()
            return .callBlock(callee, body, loc)
        case "filter":
            let name = try expectName()
            let arguments = isSymbol("(") ? try parseCallArguments() : TemplateArguments()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(name: name, arguments: arguments, body: body, loc)
        case "break": try expectBlockEnd(); return .breakLoop(loc)
        case "continue": try expectBlockEnd(); return .continueLoop(loc)
        case "generation", "endgeneration":
            // transformers' AssistantTracker extension: markers only, no output of their own.
            try expectBlockEnd()
            return nil
        default:
            throw error("unknown or unsupported statement '\(keyword)'", at: loc)
        }
    }

    mutating func parseIf() throws(ChatTemplateError) -> TemplateNode {
        var branches: [(TemplateExpression, [TemplateNode])] = []
        var condition = try parseTuple()
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            if end == "elif" { condition = try parseTuple(); continue }
            if end == "else" {
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .ifChain(branches, otherwise: otherwise)
            }
            try expectBlockEnd()
            return .ifChain(branches, otherwise: [])
        }
    }

    mutating func parseTargets() throws(ChatTemplateError) -> [String] {
        let parenthesized = skip(symbol: "(")
        var names = [try expectName()]
        while skip(symbol: ",") {
            if case .name = current.kind { names.append(try expectName()) } else { break }
        }
        if parenthesized { try expect(symbol: ")") }
        return names
    }

    mutating func parseFor(at loc: SourceLocation) throws(ChatTemplateError) -> TemplateNode {
        let targets = try parseTargets()
        guard skip(name: "in") else { throw error("expected 'in'", at: current.location) }
        // The iterable is parsed without a conditional expression: a trailing `if` filters the loop.
        let iterable = try parseTuple(allowConditional: false)
        var condition: TemplateExpression?
        if skip(name: "if") { condition = try parseExpression() }
        _ = skip(name: "recursive")
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["else", "endfor"])
        var otherwise: [TemplateNode] = []
        if end == "else" {
            try expectBlockEnd()
            otherwise = try parseBody(until: ["endfor"]).0
        }
        try expectBlockEnd()
        return .forLoop(TemplateForLoop(targets: targets, iterable: iterable, condition: condition, body: body,
                                        otherwise: otherwise, location: loc))
    }

    mutating func parseSet(at loc: SourceLocation) throws(ChatTemplateError) -> TemplateNode {
        let first = try expectName()
        if skip(symbol: ".") {
            let attribute = try expectName()
            try expect(symbol: "=")
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(.attribute(first, attribute), value, loc)
        }
        var names = [first]
        while skip(symbol: ",") { names.append(try expectName()) }
        if current.kind == .blockEnd, names.count == 1 {
            index += 1
            let (body, _) = try parseBody(until: ["endset"])
            try expectBlockEnd()
            return .setBlock(first, body)
        }
        try expect(symbol: "=")
        let value = try parseTuple()
        try expectBlockEnd()
        return .set(.names(names), value, loc)
    }

    mutating func parseMacro() throws(ChatTemplateError) -> TemplateNode {
        let name = try expectName()
        try expect(symbol: "(")
        var parameters: [(String, TemplateExpression?)] = []
        while !isSymbol(")") {
            if !parameters.isEmpty { try expect(symbol: ",") }
            if isSymbol(")") { break }
            let parameter = try expectName()
            parameters.append((parameter, skip(symbol: "=") ? try parseExpression() : nil))
        }
        try expect(symbol: ")")
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"])
        try expectBlockEnd()
        return .macro(TemplateMacro(name: name, parameters: parameters, body: body))
    }

    // MARK: - Expressions

    /// An expression or a bare tuple `a, b` (jinja's parse_tuple).
    mutating func parseTuple(allowConditional: Bool = true) throws(ChatTemplateError) -> TemplateExpression {
        let first = allowConditional ? try parseExpression() : try parseOr()
        guard isSymbol(",") else { return first }
        var items = [first]
        while skip(symbol: ",") {
            if current.kind == .blockEnd || current.kind == .variableEnd || isSymbol(")") || isName("if") { break }
            items.append(allowConditional ? try parseExpression() : try parseOr())
        }
        return .list(items)
    }

    mutating func parseExpression() throws(ChatTemplateError) -> TemplateExpression {
        try enter()
        defer { depth -= 1 }
        let value = try parseOr()
        guard skip(name: "if") else { return value }
        let condition = try parseOr()
        let otherwise = skip(name: "else") ? try parseExpression() : nil
        return .conditional(then: value, condition: condition, otherwise: otherwise)
    }

    mutating func parseOr() throws(ChatTemplateError) -> TemplateExpression {
        var left = try parseAnd()
        while skip(name: "or") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws(ChatTemplateError) -> TemplateExpression {
        var left = try parseNot()
        while skip(name: "and") { left = .and(left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws(ChatTemplateError) -> TemplateExpression {
        if skip(name: "not") {
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws(ChatTemplateError) -> TemplateExpression {
        let loc = current.location
        let left = try parseMath1()
        var chain: [(String, TemplateExpression)] = []
        while true {
            if case .symbol(let s) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(s) {
                index += 1
                chain.append((s, try parseMath1()))
            } else if skip(name: "in") {
                chain.append(("in", try parseMath1()))
            } else if isName("not"), peek() == .name("in") {
                index += 2
                chain.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return chain.isEmpty ? left : .compare(left, chain, loc)
    }

    mutating func parseBinary(_ ops: [String], _ operand: (inout TemplateParser) throws(ChatTemplateError) -> TemplateExpression)
        throws(ChatTemplateError) -> TemplateExpression {
        var left = try operand(&self)
        while case .symbol(let s) = current.kind, ops.contains(s) {
            let loc = next().location
            left = .binary(s, left, try operand(&self), loc)
        }
        return left
    }

    mutating func parseMath1() throws(ChatTemplateError) -> TemplateExpression {
        try parseBinary(["+", "-"]) { (p: inout TemplateParser) throws(ChatTemplateError) in try p.parseConcat() }
    }

    mutating func parseConcat() throws(ChatTemplateError) -> TemplateExpression {
        try parseBinary(["~"]) { (p: inout TemplateParser) throws(ChatTemplateError) in try p.parseMath2() }
    }

    mutating func parseMath2() throws(ChatTemplateError) -> TemplateExpression {
        try parseBinary(["*", "/", "//", "%"]) { (p: inout TemplateParser) throws(ChatTemplateError) in try p.parsePow() }
    }

    mutating func parsePow() throws(ChatTemplateError) -> TemplateExpression {
        try parseBinary(["**"]) { (p: inout TemplateParser) throws(ChatTemplateError) in try p.parseUnary(withFilter: true) }
    }

    mutating func parseUnary(withFilter: Bool) throws(ChatTemplateError) -> TemplateExpression {
        try enter()
        defer { depth -= 1 }
        let loc = current.location
        var node: TemplateExpression
        if skip(symbol: "-") {
            node = .negate(try parseUnary(withFilter: false), loc)
        } else if skip(symbol: "+") {
            node = .positive(try parseUnary(withFilter: false), loc)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node, start: loc)
        return withFilter ? try parseFilterExpression(node) : node
    }
}
