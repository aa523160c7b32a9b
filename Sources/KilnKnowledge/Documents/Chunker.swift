// Chunks as LlamaIndex's and Open WebUI's splitters make them, but never across a heading: each section's paragraphs
// are packed into chunks of at most `maxTokens` (counted by the embedder's own word pieces, so nothing is cut when
// embedded), a paragraph too long for one chunk is split at sentences and then at words, and a chunk after the first
// in a section starts with the last sentences of the one before, up to `overlapTokens`.
import Foundation

/// How documents are cut into chunks.
public struct ChunkingOptions: Sendable, Equatable, Codable {
    /// The most tokens in a chunk's text, heading path included.
    public var maxTokens: Int
    /// Tokens of the previous chunk repeated at the start of the next one in the same section.
    public var overlapTokens: Int

    /// A budget that leaves the embedder's 256 word pieces room for the heading path.
    public init(maxTokens: Int = 200, overlapTokens: Int = 32) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }

    /// Whether the budget can hold a chunk.
    public var isValid: Bool { (16...4096).contains(maxTokens) && overlapTokens >= 0 && overlapTokens < maxTokens / 2 }
}

/// A piece of a document, the unit that is indexed, retrieved and cited.
public struct DocumentChunk: Sendable, Equatable, Codable {
    /// Its order in the document, from 0.
    public var position: Int
    /// The headings above it, outermost first.
    public var headingPath: [String]
    /// Its text.
    public var text: String

    /// A chunk of a document.
    public init(position: Int, headingPath: [String], text: String) {
        self.position = position
        self.headingPath = headingPath
        self.text = text
    }

    /// What is embedded and searched: the heading path, then the text.
    public var indexedText: String {
        headingPath.isEmpty ? text : headingPath.joined(separator: " › ") + "\n" + text
    }
}

/// Cuts blocks into chunks.
public struct Chunker {
    public let options: ChunkingOptions
    let count: (String) -> Int

    /// A chunker counting tokens with `count` (the embedder's word pieces, without special tokens).
    public init(options: ChunkingOptions = ChunkingOptions(), count: @escaping (String) -> Int) {
        self.options = options
        self.count = count
    }

    /// The chunks of a document's blocks, in order.
    public func chunks(_ blocks: [DocumentBlock]) -> [DocumentChunk] {
        var out: [DocumentChunk] = []
        var path: [(level: Int, text: String)] = []
        var section: [String] = []
        func flush() {
            let headings = path.map(\.text)
            for text in pack(section, headingTokens: headings.isEmpty ? 0 : count(headings.joined(separator: " › ")) + 1) {
                out.append(DocumentChunk(position: out.count, headingPath: headings, text: text))
            }
            section = []
        }
        for block in blocks {
            switch block {
            case .heading(let level, let text):
                flush()
                path.removeAll { $0.level >= level }
                path.append((level, text))
            case .paragraph(let text):
                section.append(text)
            }
        }
        flush()
        return out
    }

    /// Packs a section's paragraphs into chunk texts within the budget.
    func pack(_ paragraphs: [String], headingTokens: Int) -> [String] {
        let budget = max(options.maxTokens - headingTokens, 16)
        // Pieces no longer than the budget: whole paragraphs where they fit, else sentences, else runs of words.
        var pieces: [(text: String, tokens: Int, startsParagraph: Bool)] = []
        for paragraph in paragraphs {
            let tokens = count(paragraph)
            if tokens <= budget {
                pieces.append((paragraph, tokens, true))
                continue
            }
            var first = true
            for sentence in Self.sentences(paragraph) {
                for part in split(sentence, budget: budget) {
                    pieces.append((part, count(part), first))
                    first = false
                }
            }
        }
        var chunks: [String] = []
        var current: [(text: String, tokens: Int, startsParagraph: Bool)] = []
        var used = 0
        func text(_ items: ArraySlice<(text: String, tokens: Int, startsParagraph: Bool)>) -> String {
            var out = ""
            for (offset, item) in items.enumerated() {
                if offset > 0 { out += item.startsParagraph ? "\n\n" : " " }
                out += item.text
            }
            return out
        }
        for piece in pieces {
            if used + piece.tokens > budget, !current.isEmpty {
                chunks.append(text(current[...]))
                // The overlap: whole trailing pieces of the chunk just closed, within the overlap budget.
                var carried: [(text: String, tokens: Int, startsParagraph: Bool)] = []
                var carriedTokens = 0
                for previous in current.reversed() {
                    guard carriedTokens + previous.tokens <= options.overlapTokens,
                          carriedTokens + previous.tokens + piece.tokens <= budget else { break }
                    carried.insert(previous, at: 0)
                    carriedTokens += previous.tokens
                }
                current = carried
                used = carriedTokens
            }
            current.append(piece)
            used += piece.tokens
        }
        if !current.isEmpty { chunks.append(text(current[...])) }
        return chunks
    }

    /// Runs of whole words within the budget (a single word longer than the budget stands alone).
    func split(_ sentence: String, budget: Int) -> [String] {
        guard count(sentence) > budget else { return [sentence] }
        var out: [String] = []
        var words: [Substring] = []
        var used = 0
        for word in sentence.split(whereSeparator: \.isWhitespace) {
            let tokens = count(String(word))
            if used + tokens > budget, !words.isEmpty {
                out.append(words.joined(separator: " "))
                words = []
                used = 0
            }
            words.append(word)
            used += tokens
        }
        if !words.isEmpty { out.append(words.joined(separator: " ")) }
        return out
    }

    /// Sentences: ends at ., ! or ? followed by white space.
    public static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if ".!?".contains(text[index]), next < text.endIndex, text[next].isWhitespace {
                out.append(text[start...index].trimmingCharacters(in: .whitespaces))
                start = next
            }
            index = next
        }
        let rest = text[start...].trimmingCharacters(in: .whitespaces)
        if !rest.isEmpty { out.append(rest) }
        return out.filter { !$0.isEmpty }
    }
}
