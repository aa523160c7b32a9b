// BM25 against rank_bm25 0.2.2 `BM25Okapi` (Tests/Fixtures/bm25/bm25.json, made by make.py beside it): the
// tokenisation rule on awkward text, then every score of 16 queries over 1,200 documents under two parameter sets.
import Foundation
import KilnKnowledge
import Testing

@Suite("BM25 equals rank_bm25")
struct BM25Tests {
    struct Fixture: Decodable {
        struct Case: Decodable { var text: String; var tokens: [String] }
        struct Query: Decodable { var text: String; var scores: [Double] }
        struct Run: Decodable { var k1: Double; var b: Double; var epsilon: Double; var average_idf: Double; var queries: [Query] }
        var tokenize_cases: [Case]
        var corpus: [String]
        var runs: [Run]
    }

    static let fixture: Fixture = {
        let url = EmbeddingFixtures.root.appendingPathComponent("bm25/bm25.json")
        return try! JSONDecoder().decode(Fixture.self, from: try! Data(contentsOf: url))
    }()

    @Test("Terms equal Python's re.findall(r'\\w+', text.lower())")
    func tokenisation() {
        for item in Self.fixture.tokenize_cases {
            #expect(LexicalTokenizer.terms(item.text) == item.tokens, "\(item.text)")
        }
    }

    @Test("Every score of every query equals BM25Okapi's within 1e-6")
    func scores() {
        let corpus = Self.fixture.corpus
        #expect(corpus.count >= 1000)
        for run in Self.fixture.runs {
            var index = BM25Index(parameters: BM25Parameters(k1: run.k1, b: run.b, epsilon: run.epsilon))
            index.add(corpus.enumerated().map { (id: $0.offset, text: $0.element) })
            #expect(abs(index.averageIDF - run.average_idf) < 1e-9)
            for query in run.queries {
                let scores = index.scores(terms: LexicalTokenizer.terms(query.text))
                var worst = 0.0
                for (id, expected) in query.scores.enumerated() { worst = max(worst, abs((scores[id] ?? 0) - expected)) }
                #expect(worst < 1e-6, "\(query.text): max |Δ| \(worst)")
            }
        }
    }

    @Test("Removing and re-adding documents gives the scores of an index built at once")
    func incremental() {
        let corpus = Array(Self.fixture.corpus.prefix(300))
        var whole = BM25Index()
        whole.add(corpus.enumerated().map { (id: $0.offset, text: $0.element) })
        var pieces = BM25Index()
        pieces.add(corpus.enumerated().map { (id: $0.offset, text: $0.offset % 3 == 0 ? "placeholder text" : $0.element) })
        pieces.remove(Array(stride(from: 0, to: 300, by: 3)))
        pieces.add(stride(from: 0, to: 300, by: 3).map { (id: $0, text: corpus[$0]) })
        #expect(pieces.count == 300 && pieces.vocabularySize == whole.vocabularySize)
        let query = LexicalTokenizer.terms("kiln ledger the data term5")
        let (a, b) = (whole.scores(terms: query), pieces.scores(terms: query))
        #expect(a.count == b.count)
        for (id, score) in a { #expect(abs(score - (b[id] ?? -1)) < 1e-12) }
        #expect(whole.search("kiln ledger", limit: 3).map(\.id) == pieces.search("kiln ledger", limit: 3).map(\.id))
    }
}
