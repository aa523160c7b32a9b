// HTML's readable text: a forgiving scan of tags (real pages are rarely well formed), keeping heading structure and
// paragraph breaks at block elements, dropping what a reader never sees (script, style, noscript, template, head
// except its title) and decoding character references.
import Foundation

/// Extracts blocks from HTML source.
enum HTMLText {
    static let hidden: Set<String> = ["script", "style", "noscript", "template", "svg", "iframe", "object"]
    static let blockTags: Set<String> = ["p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
                                         "footer", "nav", "blockquote", "pre", "hr", "dd", "dt", "dl", "main", "aside",
                                         "figure", "figcaption", "form", "body", "html", "td", "th", "caption", "title", "head"]
    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—", "ndash": "–", "hellip": "…",
        "copy": "©", "reg": "®", "trade": "™", "rsquo": "’", "lsquo": "‘", "ldquo": "“", "rdquo": "”", "laquo": "«",
        "raquo": "»", "middot": "·", "bull": "•", "times": "×", "deg": "°", "euro": "€", "pound": "£", "shy": "",
        "sect": "§", "para": "¶", "plusmn": "±", "micro": "µ", "frac12": "½", "iquest": "¿", "iexcl": "¡", "szlig": "ß",
    ].merging(latinLetters) { a, _ in a }

    /// HTML's named Latin-1 letters (&eacute;, &Ouml;, &ccedil;, …), built from their accents.
    static let latinLetters: [String: String] = {
        var table: [String: String] = [:]
        let accents: [(String, String, String)] = [("acute", "aeiouyAEIOUY", "áéíóúýÁÉÍÓÚÝ"), ("grave", "aeiouAEIOU", "àèìòùÀÈÌÒÙ"),
                                                   ("circ", "aeiouAEIOU", "âêîôûÂÊÎÔÛ"), ("uml", "aeiouyAEIOU", "äëïöüÿÄËÏÖÜ"),
                                                   ("tilde", "anoANO", "ãñõÃÑÕ"), ("ring", "aA", "åÅ"), ("cedil", "cC", "çÇ"),
                                                   ("slash", "oO", "øØ")]
        for (accent, bases, letters) in accents {
            for (base, letter) in zip(bases, letters) { table["\(base)\(accent)"] = String(letter) }
        }
        table["aelig"] = "æ"
        table["AElig"] = "Æ"
        return table
    }()

    /// The blocks of an HTML page.
    static func blocks(_ source: String) -> [DocumentBlock] {
        let chars = Array(source.unicodeScalars)
        var out: [DocumentBlock] = []
        var text = ""
        var heading: Int?
        func flush() {
            let collapsed = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            text = ""
            guard !collapsed.isEmpty else { return }
            if let level = heading { out.append(.heading(level: level, text: collapsed)) } else { out.append(.paragraph(collapsed)) }
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "<" {
                if matches(chars, i, "<!--") {
                    i = find(chars, i + 4, "-->").map { $0 + 3 } ?? chars.count
                    continue
                }
                guard let close = chars[i...].firstIndex(of: ">") else { break }
                let inside = String(String.UnicodeScalarView(chars[(i + 1)..<close]))
                i = close + 1
                let closing = inside.hasPrefix("/")
                let name = inside.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
                if !closing, hidden.contains(name) {
                    i = find(chars, i, "</\(name)", caseInsensitive: true).flatMap { start in chars[start...].firstIndex(of: ">").map { $0 + 1 } }
                        ?? chars.count
                    continue
                }
                if name.count == 2, name.first == "h", let level = Int(name.dropFirst()), (1...6).contains(level) {
                    flush()
                    heading = closing ? nil : level
                } else if blockTags.contains(name) {
                    flush()
                }
                continue
            }
            if c == "&", let semicolon = chars[i...].prefix(12).firstIndex(of: ";") {
                let name = String(String.UnicodeScalarView(chars[(i + 1)..<semicolon]))
                if let decoded = decode(name) {
                    text += decoded
                    i = semicolon + 1
                    continue
                }
            }
            text.unicodeScalars.append(c)
            i += 1
        }
        flush()
        return out
    }

    /// A named or numeric character reference's text.
    static func decode(_ name: String) -> String? {
        if name.hasPrefix("#x") || name.hasPrefix("#X") {
            return UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        if name.hasPrefix("#") { return UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) } }
        return entities[name]
    }

    static func matches(_ chars: [Unicode.Scalar], _ at: Int, _ word: String, caseInsensitive: Bool = false) -> Bool {
        let scalars = Array(word.unicodeScalars)
        guard at + scalars.count <= chars.count else { return false }
        for (offset, s) in scalars.enumerated() {
            let c = chars[at + offset]
            // Tag names are ASCII: folding bit 0x20 lowers letters and leaves < and / alone.
            if caseInsensitive ? (c.value < 128 ? c.value | 0x20 : c.value) != s.value | 0x20 : c != s { return false }
        }
        return true
    }

    /// The first index at or after `from` where `word` starts.
    static func find(_ chars: [Unicode.Scalar], _ from: Int, _ word: String, caseInsensitive: Bool = false) -> Int? {
        guard let first = word.unicodeScalars.first else { return nil }
        var i = from
        while i < chars.count {
            if (chars[i] == first || caseInsensitive) && matches(chars, i, word, caseInsensitive: caseInsensitive) { return i }
            i += 1
        }
        return nil
    }
}
