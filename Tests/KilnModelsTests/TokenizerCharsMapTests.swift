// SentencePiece models whose normalization is a precompiled charsmap ("nmt_nfkc", "nmt_nfkc_cf"), trained by Kiln's
// own generator (Tests/Fixtures/sentencepiece_nmt/make.py) with the sentencepiece library, whose `normalize` and
// `encode` give the expected values: spaces of every kind, zero-width and control characters, ligatures, full-width
// and circled forms, case folding.
import Foundation
import Testing
@testable import KilnModels

@Suite("SentencePiece precompiled charsmap")
struct TokenizerCharsMapTests {
    struct Case: Decodable {
        let model: String
        let text: String
        let normalized: String
        let ids: [Int]
        let pieces: [String]
    }

    static let folder = LoadingFixtures.root.appendingPathComponent("sentencepiece_nmt")

    static func cases() throws -> [Case] {
        let lines = try String(contentsOf: folder.appendingPathComponent("cases.jsonl"), encoding: .utf8)
        return try lines.split(separator: "\n").map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
    }

    @Test("normalize and encode equal sentencepiece's on every case", arguments: ["unigram_nmt_nfkc", "bpe_nmt_nfkc_cf"])
    func matchesSentencePiece(model: String) throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("\(model).model"))
        let spec = try SentencePieceSpec(data: data)
        #expect(spec.charsMap != nil)
        let normalizer = SentencePieceNormalizer(spec: spec)
        let tokenizer = try Tokenizer(sentencePieceModel: data, config: nil)
        let cases = try Self.cases().filter { $0.model == model }
        #expect(cases.count == 26)
        var differsFromNFKC = 0
        for c in cases {
            #expect(normalizer.normalize(c.text, atStart: true) == c.normalized, "\(model) \(String(reflecting: c.text))")
            let ids = tokenizer.encode(c.text, addSpecialTokens: false)
            #expect(ids == c.ids, "\(model) \(String(reflecting: c.text))")
            #expect(tokenizer.tokens(for: ids) == c.pieces, "\(model) \(String(reflecting: c.text))")
            let nfkc = c.text.precomposedStringWithCompatibilityMapping
            if !c.normalized.replacingOccurrences(of: "\u{2581}", with: " ").contains(nfkc.trimmingCharacters(in: .whitespaces)) { differsFromNFKC += 1 }
        }
        // The NMT rules (dropped controls and zero-width characters, folded spaces) are what plain NFKC misses.
        #expect(differsFromNFKC >= 5, "\(model): \(differsFromNFKC) cases differ from NFKC")
    }

    @Test("A truncated or inconsistent charsmap is a typed error, not a crash")
    func hostileCharsMap() {
        #expect(throws: TokenizerError.self) { try PrecompiledCharsMap([1, 0]) }
        #expect(throws: TokenizerError.self) { try PrecompiledCharsMap([0xFF, 0xFF, 0, 0, 1, 2, 3, 4]) }
        #expect(throws: TokenizerError.self) { try PrecompiledCharsMap([6, 0, 0, 0, 1, 2, 3, 4, 5, 6]) }
        // A trie whose offsets point anywhere still answers (no match) without reading out of bounds.
        let wild = try? PrecompiledCharsMap([8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0x01, 0xFF, 0x7F, 0x41, 0])
        #expect(wild?.pieces("AAA").count == 3)
    }
}
