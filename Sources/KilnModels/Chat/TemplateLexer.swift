// Splits template source into text and tag tokens, applying whitespace control the way jinja2 3.1's
// lexer does with transformers' settings (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False).
// See pallets/jinja src/jinja2/lexer.py (3.1.6), `Lexer.tokeniter`.

import Foundation

/// One lexical token of a template.
enum TemplateTokenKind: Sendable, Equatable {
    case text(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case symbol(String)
    case end
}

/// A token and where it starts.
struct TemplateToken: Sendable {
    var kind: TemplateTokenKind
    var location: SourceLocation
}

/// Turns template source into tokens; never traps on malformed input.
struct TemplateLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var lineStart = 0
    private var tokens: [TemplateToken] = []
    /// Whether the previous tag's match ended in a newline (jinja's `line_starting`), for lstrip_blocks.
    private var lineStarting = true
    /// Whether the previous tag asked to strip the whitespace that follows it (`-%}`).
    private var stripNextText = false

    init(source: String) {
        // jinja normalises newlines to "\n" and drops one trailing newline (keep_trailing_newline=False).
        var text = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        scalars = Array(text.unicodeScalars)
    }

    /// Lexes the whole source.
    /// - Throws: `ChatTemplateError.syntax` for unterminated tags, strings or unknown characters.
    mutating func tokenize() throws(ChatTemplateError) -> [TemplateToken] {
        while position < scalars.count {
            let textStart = position
            let textLocation = location
            // Find the next tag opener.
            var tagStart = position
            var opener: Unicode.Scalar?
            while tagStart + 1 < scalars.count {
                if scalars[tagStart] == "{", ["{", "%", "#"].contains(scalars[tagStart + 1]) {
                    opener = scalars[tagStart + 1]
                    break
                }
                tagStart += 1
            }
            guard let opener else {
                advance(to: scalars.count)
                emitText(Array(scalars[textStart...]), at: textLocation, before: nil)
                break
            }
            let sign = tagStart + 2 < scalars.count ? scalars[tagStart + 2] : nil
            let text = Array(scalars[textStart..<tagStart])
            emitText(text, at: textLocation, before: (opener, sign))
            advance(to: tagStart)
            let tagLocation = location
            advance(to: tagStart + 2 + (sign == "-" || sign == "+" ? 1 : 0))
            switch opener {
            case "#": try lexComment(at: tagLocation)
            case "{":
                tokens.append(TemplateToken(kind: .variableBegin, location: tagLocation))
                try lexInside(closing: "}", at: tagLocation)
            default:
                if try lexRawBlock(at: tagLocation) { continue }
                tokens.append(TemplateToken(kind: .blockBegin, location: tagLocation))
                try lexInside(closing: "%", at: tagLocation)
            }
        }
        tokens.append(TemplateToken(kind: .end, location: location))
        return tokens
    }

    private var location: SourceLocation { SourceLocation(line: line, column: position - lineStart + 1) }

    private mutating func advance(to target: Int) {
        while position < target {
            if scalars[position] == "\n" { line += 1; lineStart = position + 1 }
            position += 1
        }
    }

    private static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1c...0x1f).contains(s.value)
    }

    /// Emits text between tags after `-` stripping, trim_blocks' newline removal and lstrip_blocks.
    private mutating func emitText(_ raw: [Unicode.Scalar], at loc: SourceLocation, before tag: (Unicode.Scalar, Unicode.Scalar?)?) {
        var text = raw[...]
        if stripNextText {
            while let first = text.first, Self.isSpace(first) { text = text.dropFirst() }
        }
        if let (opener, sign) = tag {
            if sign == "-" {
                while let last = text.last, Self.isSpace(last) { text = text.dropLast() }
            } else if sign != "+", opener != "{" {
                // lstrip_blocks: drop spaces between the line start and a block or comment tag.
                let lineBegin = text.lastIndex(of: "\n").map { $0 + 1 } ?? text.startIndex
                let tail = text[lineBegin...]
                if (lineBegin > text.startIndex || lineStarting) && !tail.isEmpty && tail.allSatisfy({ Self.isSpace($0) }) {
                    text = text[..<lineBegin]
                }
            }
        }
        if !text.isEmpty {
            var string = ""
            string.unicodeScalars.append(contentsOf: text)
            tokens.append(TemplateToken(kind: .text(string), location: loc))
        }
        stripNextText = false
    }

    /// After a tag closer: `-` strips following whitespace; trim_blocks drops one newline after `%}`/`#}`.
    private mutating func finishTag(closerSign: Unicode.Scalar?, isBlock: Bool) {
        lineStarting = false
        if closerSign == "-" {
            stripNextText = true
            var end = position
            while end < scalars.count, Self.isSpace(scalars[end]) { end += 1 }
            lineStarting = end > position && scalars[end - 1] == "\n"
            advance(to: end)
        } else if isBlock, closerSign != "+", position < scalars.count, scalars[position] == "\n" {
            advance(to: position + 1)
            lineStarting = true
        }
    }

    private mutating func lexComment(at loc: SourceLocation) throws(ChatTemplateError) {
        while position + 1 < scalars.count {
            if scalars[position] == "#", scalars[position + 1] == "}" {
                let sign = scalars[position - 1]
                advance(to: position + 2)
                finishTag(closerSign: sign == "-" || sign == "+" ? sign : nil, isBlock: true)
                return
            }
            advance(to: position + 1)
        }
        throw .syntax(message: "unterminated comment", line: loc.line, column: loc.column)
    }

    /// Handles `{% raw %}…{% endraw %}`; returns false (consuming nothing) when the tag is not `raw`.
    private mutating func lexRawBlock(at loc: SourceLocation) throws(ChatTemplateError) -> Bool {
        var p = position
        while p < scalars.count, Self.isSpace(scalars[p]) { p += 1 }
        guard p + 3 <= scalars.count, String(String.UnicodeScalarView(scalars[p..<p + 3])) == "raw" else { return false }
        p += 3
        while p < scalars.count, Self.isSpace(scalars[p]) { p += 1 }
        var sign: Unicode.Scalar?
        if p < scalars.count, scalars[p] == "-" || scalars[p] == "+" { sign = scalars[p]; p += 1 }
        guard p + 1 < scalars.count, scalars[p] == "%", scalars[p + 1] == "}" else { return false }
        advance(to: p + 2)
        finishTag(closerSign: sign, isBlock: true)
        // Body runs to the next `{%[-+]? endraw [-+]?%}`.
        var q = position
        while q + 1 < scalars.count {
            if scalars[q] == "{", scalars[q + 1] == "%" {
                var r = q + 2
                let openSign: Unicode.Scalar? = r < scalars.count && (scalars[r] == "-" || scalars[r] == "+") ? scalars[r] : nil
                if openSign != nil { r += 1 }
                while r < scalars.count, Self.isSpace(scalars[r]) { r += 1 }
                if r + 6 <= scalars.count, String(String.UnicodeScalarView(scalars[r..<r + 6])) == "endraw" {
                    r += 6
                    while r < scalars.count, Self.isSpace(scalars[r]) { r += 1 }
                    var closeSign: Unicode.Scalar?
                    if r < scalars.count, scalars[r] == "-" || scalars[r] == "+" { closeSign = scalars[r]; r += 1 }
                    if r + 1 < scalars.count, scalars[r] == "%", scalars[r + 1] == "}" {
                        let bodyLocation = location
                        emitText(Array(scalars[position..<q]), at: bodyLocation, before: ("%", openSign))
                        advance(to: r + 2)
                        finishTag(closerSign: closeSign, isBlock: true)
                        return true
                    }
                }
            }
            q += 1
        }
        throw .syntax(message: "missing end of raw directive", line: loc.line, column: loc.column)
    }

    /// Lexes expression tokens until `}}`/`%}` (optionally `-`/`+` signed) outside any brackets.
    private mutating func lexInside(closing: Unicode.Scalar, at loc: SourceLocation) throws(ChatTemplateError) {
        var depth = 0
        while true {
            while position < scalars.count, Self.isSpace(scalars[position]) { advance(to: position + 1) }
            guard position < scalars.count else {
                throw .syntax(message: "unexpected end of template, expected '\(closing)}'", line: loc.line, column: loc.column)
            }
            let here = location
            let c = scalars[position]
            let next = position + 1 < scalars.count ? scalars[position + 1] : nil
            let next2 = position + 2 < scalars.count ? scalars[position + 2] : nil
            // Closers: `}}`, `%}`, with an optional leading `-` or `+`.
            if depth == 0 {
                if c == closing, next == "}" {
                    advance(to: position + 2)
                    tokens.append(TemplateToken(kind: closing == "%" ? .blockEnd : .variableEnd, location: here))
                    finishTag(closerSign: nil, isBlock: closing == "%")
                    return
                }
                if c == "-" || c == "+", next == closing, next2 == "}" {
                    advance(to: position + 3)
                    tokens.append(TemplateToken(kind: closing == "%" ? .blockEnd : .variableEnd, location: here))
                    finishTag(closerSign: c, isBlock: closing == "%")
                    return
                }
            }
            if c == "'" || c == "\"" {
                tokens.append(TemplateToken(kind: .string(try lexString(quote: c, at: here)), location: here))
            } else if c.properties.isXIDStart || c == "_" {
                var end = position
                while end < scalars.count, scalars[end].properties.isXIDContinue { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[position..<end]))
                advance(to: end)
                tokens.append(TemplateToken(kind: .name(name), location: here))
            } else if ("0"..."9").contains(c) {
                tokens.append(TemplateToken(kind: try lexNumber(at: here), location: here))
            } else {
                let two = next.map { String(c) + String($0) } ?? ""
                let symbol: String
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    symbol = two
                } else if "+-*/%~<>()[]{},.:|=".unicodeScalars.contains(c) {
                    symbol = String(c)
                } else {
                    throw .syntax(message: "unexpected char '\(c)'", line: here.line, column: here.column)
                }
                if symbol == "(" || symbol == "[" || symbol == "{" { depth += 1 }
                if symbol == ")" || symbol == "]" || symbol == "}" {
                    guard depth > 0 else {
                        throw .syntax(message: "unexpected '\(symbol)'", line: here.line, column: here.column)
                    }
                    depth -= 1
                }
                advance(to: position + symbol.unicodeScalars.count)
                tokens.append(TemplateToken(kind: .symbol(symbol), location: here))
            }
        }
    }

    /// A Python-style string literal with backslash escapes.
    private mutating func lexString(quote: Unicode.Scalar, at loc: SourceLocation) throws(ChatTemplateError) -> String {
        var out = String.UnicodeScalarView()
        var p = position + 1
        while p < scalars.count {
            let c = scalars[p]
            if c == quote { advance(to: p + 1); return String(out) }
            if c == "\\", p + 1 < scalars.count {
                let e = scalars[p + 1]
                p += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "\\", "'", "\"": out.append(e)
                case "\n": break
                case "x", "u", "U":
                    let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    guard p + width <= scalars.count,
                          let value = UInt32(String(String.UnicodeScalarView(scalars[p..<p + width])), radix: 16),
                          let scalar = Unicode.Scalar(value) else {
                        throw .syntax(message: "invalid \\\(e) escape in string", line: loc.line, column: loc.column)
                    }
                    out.append(scalar)
                    p += width
                default:
                    // Python keeps unknown escapes verbatim.
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
            p += 1
        }
        throw .syntax(message: "unterminated string", line: loc.line, column: loc.column)
    }

    /// An integer or float literal (`1_000`, `1.5`, `2e3`).
    private mutating func lexNumber(at loc: SourceLocation) throws(ChatTemplateError) -> TemplateTokenKind {
        var p = position
        func digits() { while p < scalars.count, ("0"..."9").contains(scalars[p]) || scalars[p] == "_" { p += 1 } }
        digits()
        var isFloat = false
        if p + 1 < scalars.count, scalars[p] == ".", ("0"..."9").contains(scalars[p + 1]) { isFloat = true; p += 1; digits() }
        if p < scalars.count, scalars[p] == "e" || scalars[p] == "E" {
            var q = p + 1
            if q < scalars.count, scalars[q] == "+" || scalars[q] == "-" { q += 1 }
            if q < scalars.count, ("0"..."9").contains(scalars[q]) { isFloat = true; p = q; digits() }
        }
        let text = String(String.UnicodeScalarView(scalars[position..<p])).replacingOccurrences(of: "_", with: "")
        advance(to: p)
        if isFloat, let d = Double(text) { return .float(d) }
        if !isFloat, let i = Int(text) { return .integer(i) }
        throw .syntax(message: "invalid number '\(text)'", line: loc.line, column: loc.column)
    }
}
