// A document's text as headings and paragraphs, whatever it was written in: Markdown by its ATX headings and blank
// lines (a fenced code block stays one paragraph), plain text by blank lines, HTML by its heading and block tags with
// scripts and styles dropped, PDF through poppler's pdftotext with each page a heading of its own.
import Foundation

/// The formats a knowledge base reads.
public enum DocumentFormat: String, Sendable, Codable, CaseIterable {
    case markdown, text, html, pdf

    /// The format a file name or media type names, if any.
    public static func detect(filename: String, mediaType: String? = nil) -> DocumentFormat? {
        switch (filename as NSString).pathExtension.lowercased() {
        case "md", "markdown", "mdown", "mkd": return .markdown
        case "txt", "text", "rst", "log", "csv": return .text
        case "html", "htm", "xhtml": return .html
        case "pdf": return .pdf
        default: break
        }
        switch mediaType?.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
        case "text/markdown", "text/x-markdown": return .markdown
        case "text/plain": return .text
        case "text/html", "application/xhtml+xml": return .html
        case "application/pdf": return .pdf
        default: return nil
        }
    }
}

/// Why a document could not be read.
public enum DocumentError: Error, Equatable, CustomStringConvertible {
    case unsupported(String)
    case notText
    case unreadablePDF(String)
    case empty

    public var description: String {
        switch self {
        case .unsupported(let name): "\(name) is not Markdown, plain text, HTML or PDF."
        case .notText: "The file is not UTF-8 text."
        case .unreadablePDF(let why): "The PDF could not be read: \(why)"
        case .empty: "The document has no text."
        }
    }
}

/// A piece of a document's structure.
public enum DocumentBlock: Sendable, Equatable {
    case heading(level: Int, text: String)
    case paragraph(String)
}

/// Turns a document's bytes into blocks.
public enum DocumentText {
    /// The blocks of `data` read as `format`.
    public static func blocks(_ data: Data, format: DocumentFormat) throws(DocumentError) -> [DocumentBlock] {
        let blocks: [DocumentBlock]
        switch format {
        case .pdf:
            blocks = pdfBlocks(try PDFText.extract(data))
        default:
            guard let text = String(data: data, encoding: .utf8) else { throw .notText }
            switch format {
            case .markdown: blocks = markdown(text)
            case .html: blocks = HTMLText.blocks(text)
            default: blocks = paragraphs(text)
            }
        }
        guard blocks.contains(where: { if case .paragraph = $0 { true } else { false } }) else { throw .empty }
        return blocks
    }

    /// Paragraphs separated by blank lines, each with its lines joined by spaces.
    public static func paragraphs(_ text: String) -> [DocumentBlock] {
        var out: [DocumentBlock] = []
        var current: [Substring] = []
        func flush() {
            let joined = current.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            if !joined.isEmpty { out.append(.paragraph(joined)) }
            current = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy(\.isWhitespace) { flush() } else { current.append(line) }
        }
        flush()
        return out
    }

    /// Markdown's ATX headings, fenced code and paragraphs; setext headings (a line of = or - under text) too.
    public static func markdown(_ text: String) -> [DocumentBlock] {
        var out: [DocumentBlock] = []
        var lines: [String] = []
        var fence: String?
        func flush() {
            let joined = fence == nil ? lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
                                      : lines.joined(separator: "\n")
            if !joined.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { out.append(.paragraph(joined)) }
            lines = []
        }
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                lines.append(line)
                if trimmed.hasPrefix(open) {
                    flush()
                    fence = nil
                }
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                flush()
                fence = String(trimmed.prefix(3))
                lines.append(line)
                continue
            }
            if let heading = atxHeading(trimmed) {
                flush()
                out.append(heading)
            } else if !lines.isEmpty, lines.count == 1, !trimmed.isEmpty, trimmed.allSatisfy({ $0 == "=" }) || (trimmed.count >= 2 && trimmed.allSatisfy { $0 == "-" }) {
                out.append(.heading(level: trimmed.first == "=" ? 1 : 2, text: lines[0].trimmingCharacters(in: .whitespaces)))
                lines = []
            } else if trimmed.isEmpty {
                flush()
            } else {
                lines.append(line)
            }
        }
        flush()
        return out
    }

    /// A `#`…`######` heading line, with closing hashes dropped.
    static func atxHeading(_ line: String) -> DocumentBlock? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var title = rest.trimmingCharacters(in: .whitespaces)
        while title.hasSuffix("#") { title.removeLast() }
        title = title.trimmingCharacters(in: .whitespaces)
        return title.isEmpty ? nil : .heading(level: hashes, text: title)
    }

    /// pdftotext's output: pages split by form feeds, each page a level-1 "Page N" heading over its paragraphs.
    static func pdfBlocks(_ text: String) -> [DocumentBlock] {
        var out: [DocumentBlock] = []
        for (number, page) in text.split(separator: "\u{0C}", omittingEmptySubsequences: false).enumerated() {
            let paragraphs = paragraphs(String(page))
            guard !paragraphs.isEmpty else { continue }
            out.append(.heading(level: 1, text: "Page \(number + 1)"))
            out += paragraphs
        }
        return out
    }
}
