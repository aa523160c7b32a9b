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

@Suite("tokenizer.json Precompiled normalizer")
struct TokenizerPrecompiledTests {
    struct Case: Decodable {
        let text: String
        let precompiled: String
        let ids: [Int]
    }

    @Test("The normalizer alone and the whole T5-shaped pipeline equal the tokenizers library on every case")
    func matchesTokenizersLibrary() throws {
        let folder = TokenizerCharsMapTests.folder
        let json = try Data(contentsOf: folder.appendingPathComponent("precompiled_tokenizer.json"))
        let tokenizer = try Tokenizer(tokenizerJSON: json, config: nil)
        let root = try JSONNode.parse(json)
        let normalizerNode = try #require(root["normalizer"]?["normalizers"]?.array().first)
        let normalizer = try makeNormalizer(normalizerNode)
        let lines = try String(contentsOf: folder.appendingPathComponent("precompiled_cases.jsonl"), encoding: .utf8)
        let cases = try lines.split(separator: "\n").map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
        #expect(cases.count == 29)
        for c in cases {
            #expect(normalizer.normalize(c.text) == c.precompiled, "\(String(reflecting: c.text))")
            #expect(tokenizer.encode(c.text, addSpecialTokens: false) == c.ids, "\(String(reflecting: c.text))")
        }
    }

    @Test("A malformed charsmap in tokenizer.json is a typed error; a null one normalizes nothing")
    func malformed() throws {
        #expect(throws: TokenizerError.self) { try makeNormalizer(JSONNode(["type": "Precompiled", "precompiled_charsmap": "not base64!"])) }
        #expect(throws: TokenizerError.self) { try makeNormalizer(JSONNode(["type": "Precompiled", "precompiled_charsmap": "AQID"])) }
        let null = try makeNormalizer(JSONNode(["type": "Precompiled", "precompiled_charsmap": NSNull()]))
        #expect(null.normalize("x\u{00A0}y") == "x\u{00A0}y")
    }
}
