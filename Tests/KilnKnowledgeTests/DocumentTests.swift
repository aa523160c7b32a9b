// Document text and chunking: Markdown, HTML and PDF (through poppler's pdftotext, on Tests/Fixtures/knowledge/guide.pdf
// made by make_pdf.py beside it) read into the headings and paragraphs a reader sees; chunks packed to a word budget
// with overlap, never across a heading, each with its heading path.
import Foundation
import KilnKnowledge
import Testing

@Suite("Documents and chunks")
struct DocumentTests {
    @Test("Markdown: ATX and setext headings, paragraphs joined, a fenced block kept whole")
    func markdown() throws {
        let text = """
            # Guide #

            First line
            second line.

            Setext title
            ------------
            ```
            code line one

            code line two
            ```
            ####### not a heading
            #hashtag is text
            """
        let blocks = try DocumentText.blocks(Data(text.utf8), format: .markdown)
        #expect(blocks == [
            .heading(level: 1, text: "Guide"),
            .paragraph("First line second line."),
            .heading(level: 2, text: "Setext title"),
            .paragraph("```\ncode line one\n\ncode line two\n```"),
            .paragraph("####### not a heading #hashtag is text"),
        ])
    }

    @Test("HTML: scripts, styles and comments dropped, entities decoded, headings kept")
    func html() throws {
        let page = """
            <!doctype html><html><head><title>T</title><style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
            <body><h1>Caf&eacute; &amp; Bakery</h1><!-- <p>hidden</p> --><p>Bread &lt;3 &#x263A; &#9731;<br>second&nbsp;line</p>
            <SCRIPT type="x">alert(1)</SCRIPT><div>Opening <b>hours</b>: 8&ndash;4</div><h2>Menu</h2><ul><li>Rye</li><li>Spelt</li></ul></body></html>
            """
        let blocks = try DocumentText.blocks(Data(page.utf8), format: .html)
        #expect(blocks == [
            .paragraph("T"),
            .heading(level: 1, text: "Café & Bakery"),
            .paragraph("Bread <3 ☺ ☃"),
            .paragraph("second line"),
            .paragraph("Opening hours: 8–4"),
            .heading(level: 2, text: "Menu"),
            .paragraph("Rye"),
            .paragraph("Spelt"),
        ])
    }

    @Test("PDF: pdftotext's pages become Page N headings over their paragraphs; a broken PDF is a typed error")
    func pdf() throws {
        let data = try Data(contentsOf: EmbeddingFixtures.root.appendingPathComponent("knowledge/guide.pdf"))
        let blocks = try DocumentText.blocks(data, format: .pdf)
        #expect(blocks == [
            .heading(level: 1, text: "Page 1"),
            .paragraph("Kiln firing handbook Bisque firing happens at cone 04, about 1060 degrees Celsius. "
                       + "The kiln is loaded with pieces touching, since unglazed ware does not stick."),
            .heading(level: 1, text: "Page 2"),
            .paragraph("Glaze firing The tenmoku glaze is fired to cone 10 in a reduction atmosphere. "
                       + "Cooling slowly through 1000 degrees gives tenmoku its rust-coloured breaks."),
        ])
        #expect(throws: DocumentError.self) { try DocumentText.blocks(Data("%PDF-1.4 nothing else".utf8), format: .pdf) }
        #expect(throws: DocumentError.unreadablePDF("it does not start with %PDF-")) { try DocumentText.blocks(Data("hello".utf8), format: .pdf) }
        #expect(throws: DocumentError.empty) { try DocumentText.blocks(Data("# Only a heading\n".utf8), format: .markdown) }
        #expect(throws: DocumentError.notText) { try DocumentText.blocks(Data([0xFF, 0xFE, 0x00]), format: .text) }
    }

    @Test("Formats are told by extension, then by media type")
    func formats() {
        #expect(DocumentFormat.detect(filename: "a/b/Notes.MD") == .markdown)
        #expect(DocumentFormat.detect(filename: "page.htm") == .html)
        #expect(DocumentFormat.detect(filename: "upload", mediaType: "application/pdf; q=1") == .pdf)
        #expect(DocumentFormat.detect(filename: "tool.exe", mediaType: "application/octet-stream") == nil)
    }

    /// Counts whitespace-separated words: the budget arithmetic below is done by hand with it.
    static func words(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

    @Test("Paragraphs pack to the budget, the next chunk starting with the last paragraph that fits the overlap")
    func packing() {
        let p1 = "One two three four five six seven eight nine ten."
        let p2 = "Short one here.", p3 = "Another short sentence now."
        let p4 = "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty."
        let chunker = Chunker(options: ChunkingOptions(maxTokens: 20, overlapTokens: 6), count: { Self.words($0) })
        // Budget 20 − ("A" = 1 word + 1 for the separator) = 18: p1+p2+p3 = 17, p4 opens a new chunk that repeats p3 (4 ≤ 6).
        let chunks = chunker.chunks([.heading(level: 1, text: "A"), .paragraph(p1), .paragraph(p2), .paragraph(p3), .paragraph(p4)])
        #expect(chunks == [
            DocumentChunk(position: 0, headingPath: ["A"], text: "\(p1)\n\n\(p2)\n\n\(p3)"),
            DocumentChunk(position: 1, headingPath: ["A"], text: "\(p3)\n\n\(p4)"),
        ])
        #expect(chunks[1].indexedText == "A\n\(p3)\n\n\(p4)")
    }

    @Test("A long paragraph splits at sentences, then at words; headings nest and never share a chunk")
    func splitting() {
        let sentence = "alpha beta gamma delta epsilon zeta eta theta."
        let long = Array(repeating: sentence, count: 3).joined(separator: " ")
        let chunker = Chunker(options: ChunkingOptions(maxTokens: 20, overlapTokens: 0), count: { Self.words($0) })
        let chunks = chunker.chunks([
            .heading(level: 1, text: "A"), .heading(level: 2, text: "B"), .paragraph(long),
            .heading(level: 3, text: "C"), .paragraph("under c"),
            .heading(level: 2, text: "D"), .paragraph(String(repeating: "w ", count: 40)),
        ])
        // Budget 20 − ("A › B" = 3 words + 1) = 16: two sentences of 8 fill a chunk.
        #expect(chunks.map(\.headingPath) == [["A", "B"], ["A", "B"], ["A", "B", "C"], ["A", "D"], ["A", "D"], ["A", "D"]])
        #expect(chunks[0].text == "\(sentence) \(sentence)" && chunks[1].text == sentence && chunks[2].text == "under c")
        #expect(chunks[3...].map { Self.words($0.text) } == [16, 16, 8])
        #expect(chunks.map(\.position) == Array(0..<6))
    }
}
