// Primary expressions, postfix access (`.x`, `[i]`, `[a:b]`, calls) and the filter/test suffixes,
// following jinja2's parser.py parse_primary / parse_postfix / parse_filter_expr (3.1.6).

extension TemplateParser {
    mutating func parsePrimary() throws(ChatTemplateError) -> TemplateExpression {
        let token = next()
        switch token.kind {
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, token.location)
            }
        case .string(var s):
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind { s += more; index += 1 }
            return .literal(.string(s))
        case .integer(let i): return .literal(.int(i))
        case .float(let d): return .literal(.double(d))
        case .symbol("("):
            if skip(symbol: ")") { return .list([]) }
            let inner = try parseTuple()
            try expect(symbol: ")")
            return inner
        case .symbol("["):
            var items: [TemplateExpression] = []
            while !isSymbol("]") {
                if !items.isEmpty { try expect(symbol: ",") }
                if isSymbol("]") { break }
                items.append(try parseExpression())
            }
            try expect(symbol: "]")
            return .list(items)
        case .symbol("{"):
            var pairs: [(TemplateExpression, TemplateExpression)] = []
            while !isSymbol("}") {
                if !pairs.isEmpty { try expect(symbol: ",") }
                if isSymbol("}") { break }
                let key = try parseExpression()
                try expect(symbol: ":")
                pairs.append((key, try parseExpression()))
            }
            try expect(symbol: "}")
            return .dict(pairs)
        default:
            throw error("unexpected token in expression", at: token.location)
        }
    }

    mutating func parsePostfix(_ base: TemplateExpression, start: SourceLocation? = nil) throws(ChatTemplateError) -> TemplateExpression {
        var node = base
        while true {
            let loc = current.location
            if skip(symbol: ".") {
                let token = next()
                switch token.kind {
                case .name(let n): node = .attribute(node, n, loc)
                case .integer(let i): node = .item(node, .literal(.int(i)), loc)
                default: throw error("expected an attribute name", at: token.location)
                }
            } else if skip(symbol: "[") {
                node = try parseSubscript(node, at: loc)
            } else if isSymbol("(") {
                // Calls report the callee's position (`raise_exception` rather than its parenthesis).
                node = .call(node, try parseCallArguments(), start ?? loc)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ base: TemplateExpression, at loc: SourceLocation) throws(ChatTemplateError) -> TemplateExpression {
        var parts: [TemplateExpression?] = []
        var current: TemplateExpression? = nil
        var sawColon = false
        while !isSymbol("]") {
            if skip(symbol: ":") {
                sawColon = true
                parts.append(current)
                current = nil
                guard parts.count <= 2 else { throw error("too many ':' in slice", at: loc) }
                continue
            }
            guard current == nil else { throw error("expected ']'", at: self.current.location) }
            current = try parseExpression()
        }
        index += 1
        if !sawColon {
            guard let current else { throw error("expected a subscript", at: loc) }
            return .item(base, current, loc)
        }
        parts.append(current)
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, start: parts[0], stop: parts[1], step: parts[2], loc)
    }

    mutating func parseCallArguments() throws(ChatTemplateError) -> TemplateArguments {
        try expect(symbol: "(")
        var arguments = TemplateArguments()
        var first = true
        while !isSymbol(")") {
            if !first { try expect(symbol: ",") }
            first = false
            if isSymbol(")") { break }
            if case .name(let n) = current.kind, peek() == .symbol("=") {
                index += 2
                arguments.keyword.append((n, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw error("positional argument follows keyword argument", at: current.location) }
                arguments.positional.append(try parseExpression())
            }
        }
        try expect(symbol: ")")
        return arguments
    }

    mutating func parseFilterExpression(_ base: TemplateExpression) throws(ChatTemplateError) -> TemplateExpression {
        var node = base
        while true {
            let loc = current.location
            if skip(symbol: "|") {
                var name = try expectName()
                while skip(symbol: ".") { name += "." + (try expectName()) }
                let arguments = isSymbol("(") ? try parseCallArguments() : TemplateArguments()
                node = try parsePostfix(.filter(node, name: name, arguments: arguments, loc))
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                var name = try expectName()
                while skip(symbol: ".") { name += "." + (try expectName()) }
                var arguments = TemplateArguments()
                if isSymbol("(") {
                    arguments = try parseCallArguments()
                } else if startsBareTestArgument {
                    // `x is divisibleby 3`: one argument without parentheses.
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                node = .test(node, name: name, arguments: arguments, negated: negated, loc)
            } else if isSymbol("(") {
                node = .call(node, try parseCallArguments(), loc)
            } else {
                return node
            }
        }
    }

    /// jinja2 takes a bare test argument when the next token can start a primary and is not a keyword.
    private var startsBareTestArgument: Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "if", "in", "not", "is"].contains(n)
        case .string, .integer, .float: return true
        case .symbol(let s): return s == "[" || s == "{"
        default: return false
        }
    }
}
