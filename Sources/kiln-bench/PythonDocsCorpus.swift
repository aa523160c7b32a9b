// The knowledge benchmark's real text, built offline from Debian's python3-doc (installed by scripts/bench-setup): the
// main region of every HTML page read by Kiln's own HTML reader into headings and paragraphs. Sections (a heading and
// its paragraphs) make the retrieval benchmark; sentences (and, past them, windows of words) make the real-embedding
// set of the HNSW benchmark.
import ArgumentParser
import Foundation
import KilnKnowledge

/// Python's documentation as sections and sentences.
struct PythonDocsCorpus {
    /// One section of one page.
    struct Section {
        var page: String
        var heading: [String]
        var paragraphs: [String]
    }

    var sections: [Section] = []

    /// Where python3-doc puts the HTML.
    static let roots = ["/usr/share/doc/python3/html", "/usr/share/doc/python3-doc/html"]

    /// Reads every page (index pages left out).
    static func load() throws -> PythonDocsCorpus {
        guard let root = roots.first(where: { FileManager.default.fileExists(atPath: $0 + "/index.html") }) else {
            throw ValidationError("Debian's python3-doc is not installed: run ./scripts/bench-setup (it installs it).")
        }
        let rootURL = URL(fileURLWithPath: root).resolvingSymlinksInPath()
        var files: [URL] = []
        if let walker = FileManager.default.enumerator(at: rootURL, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.pathExtension == "html" {
                let name = url.lastPathComponent
                if name.hasPrefix("genindex") || ["search.html", "py-modindex.html", "contents.html"].contains(name) { continue }
                files.append(url)
            }
        }
        var corpus = PythonDocsCorpus()
        for file in files.sorted(by: { $0.path < $1.path }) {
            guard let html = try? String(contentsOf: file, encoding: .utf8) else { continue }
            corpus.sections += sections(of: html, page: String(file.path.dropFirst(rootURL.path.count + 1)))
        }
        return corpus
    }

    /// The sections of one page's main region (Sphinx's `role="main"` div, up to the sidebar).
    static func sections(of html: String, page: String) -> [Section] {
        guard let start = html.range(of: "role=\"main\"") else { return [] }
        let end = html.range(of: "class=\"sphinxsidebar\"", range: start.upperBound..<html.endIndex)?.lowerBound ?? html.endIndex
        let region = String(html[start.upperBound..<end]).replacingOccurrences(of: "¶", with: "")
        guard let blocks = try? DocumentText.blocks(Data(("<div " + region).utf8), format: .html) else { return [] }
        var out: [Section] = []
        var path: [(Int, String)] = []
        var current: [String] = []
        func flush() {
            if !current.isEmpty { out.append(Section(page: page, heading: path.map(\.1), paragraphs: current)) }
            current = []
        }
        for block in blocks {
            switch block {
            case .heading(let level, let text):
                flush()
                path.removeAll { $0.0 >= level }
                path.append((level, text.trimmingCharacters(in: .whitespaces)))
            case .paragraph(let text):
                current.append(text)
            }
        }
        flush()
        return out
    }

    /// Unique sentences of at least four words, in page order; then windows of twelve words (stride six) over the
    /// paragraphs until `count` texts are reached.
    func texts(_ count: Int) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for section in sections {
            for paragraph in section.paragraphs {
                for sentence in Chunker.sentences(paragraph) where sentence.split(separator: " ").count >= 4 && seen.insert(sentence).inserted {
                    out.append(sentence)
                    if out.count == count { return out }
                }
            }
        }
        for section in sections {
            for paragraph in section.paragraphs {
                let words = paragraph.split(separator: " ")
                var start = 0
                while start + 12 <= words.count {
                    let window = words[start..<(start + 12)].joined(separator: " ")
                    if seen.insert(window).inserted {
                        out.append(window)
                        if out.count == count { return out }
                    }
                    start += 6
                }
            }
        }
        return out
    }

    /// Known-item search: each section whose first sentence has at least six words and is not repeated elsewhere
    /// gives a query (that sentence) whose one relevant document is the section indexed without it. Every section is
    /// a document; queries are every `stride`-th candidate, up to `limit`.
    func knownItems(limit: Int) -> (documents: [String], queries: [(text: String, document: Int)]) {
        var documents: [String] = []
        var candidates: [(text: String, document: Int)] = []
        var firstCounts: [String: Int] = [:]
        let firsts = sections.map { Chunker.sentences($0.paragraphs.first ?? "").first ?? "" }
        for first in firsts { firstCounts[first, default: 0] += 1 }
        for (index, section) in sections.enumerated() {
            let sentences = Chunker.sentences(section.paragraphs.joined(separator: "\n\n"))
            let first = firsts[index]
            let heading = section.heading.joined(separator: " › ")
            if first.split(separator: " ").count >= 6, firstCounts[first] == 1, sentences.count >= 2 {
                let rest = section.paragraphs.joined(separator: "\n\n").replacingOccurrences(of: first, with: "", options: .anchored)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                candidates.append((first, documents.count))
                documents.append(heading + "\n" + rest)
            } else {
                documents.append(heading + "\n" + section.paragraphs.joined(separator: "\n\n"))
            }
        }
        let stride = max(1, candidates.count / max(1, limit))
        let queries = Swift.stride(from: 0, to: candidates.count, by: stride).prefix(limit).map { candidates[$0] }
        return (documents, queries)
    }
}
