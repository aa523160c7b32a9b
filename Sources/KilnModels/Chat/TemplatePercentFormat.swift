// Python's printf-style formatting (`'%s: %d' % (a, b)` and jinja's `format` filter, which is the same
// operator) for the conversions templates use: s, r, d, i, f, x, %, with `-`/`0` flags, width and precision.
import Foundation

extension TemplateEvaluator {
    /// `format % arguments`; a non-list right-hand side is a single argument, as in Python.
    func percentFormat(_ format: String, _ arguments: [TemplateValue], at loc: SourceLocation) throws(ChatTemplateError) -> String {
        var out = ""
        var next = 0
        var chars = Array(format.unicodeScalars)[...]
        func take() throws(ChatTemplateError) -> TemplateValue {
            guard next < arguments.count else { throw runtime("not enough arguments for format string", loc) }
            next += 1
            return arguments[next - 1]
        }
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            var leftAlign = false, zeroPad = false
            while let f = chars.first, f == "-" || f == "0" || f == " " || f == "+" {
                if f == "-" { leftAlign = true }
                if f == "0" { zeroPad = true }
                chars = chars.dropFirst()
            }
            var width = 0
            while let d = chars.first, let v = Int(String(d)), width < 10_000 { width = width * 10 + v; chars = chars.dropFirst() }
            var precision: Int?
            if chars.first == "." {
                chars = chars.dropFirst()
                var p = 0
                while let d = chars.first, let v = Int(String(d)), p < 1_000 { p = p * 10 + v; chars = chars.dropFirst() }
                precision = p
            }
            guard let conversion = chars.first else { throw runtime("incomplete format", loc) }
            chars = chars.dropFirst()
            var text: String
            switch conversion {
            case "%": out += "%"; continue
            case "s": text = try take().pythonString
            case "r": text = try take().pythonRepr
            case "d", "i":
                let v = try take()
                if let i = v.integer { text = String(i) }
                else if case .double(let d) = v, d.isFinite, abs(d) < 9.2e18 { text = String(Int(d)) }
                else { throw runtime("%\(conversion) format: a real number is required, not \(v.typeName)", loc) }
            case "f", "F":
                let v = try take()
                guard let d = v.number else { throw runtime("must be real number, not \(v.typeName)", loc) }
                text = String(format: "%.\(precision ?? 6)f", d)
            case "x", "X":
                let v = try take()
                guard let i = v.integer else { throw runtime("%x format: an integer is required, not \(v.typeName)", loc) }
                text = String(i, radix: 16, uppercase: conversion == "X")
            default:
                throw runtime("unsupported format character '\(conversion)'", loc)
            }
            if conversion == "s" || conversion == "r", let precision { text = String(text.prefix(precision)) }
            let padding = max(0, width - text.count)
            if leftAlign { text += String(repeating: " ", count: padding) }
            else if zeroPad && "dixXfF".unicodeScalars.contains(conversion) {
                let negative = text.hasPrefix("-")
                text = (negative ? "-" : "") + String(repeating: "0", count: padding) + (negative ? String(text.dropFirst()) : text)
            } else { text = String(repeating: " ", count: padding) + text }
            out += text
        }
        guard next == arguments.count else { throw runtime("not all arguments converted during string formatting", loc) }
        return out
    }
}
