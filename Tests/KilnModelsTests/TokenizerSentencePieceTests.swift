// SentencePiece `tokenizer.model` loading: the ChatGLM3 cases (made with the `sentencepiece`
// library directly, see Tests/Fixtures/README.md §9.2) and the llama2 model, whose
// `[bos_id] + sp.encode(text)` equals the tokenizers-library ids of its tokenizer.json on all
// cases but one (§1): SentencePiece never matches "<s>", "</s>", "<unk>" written inside text.

import Foundation
import Testing
@testable import KilnModels

/// One line of chatglm3/cases.jsonl.
struct ChatGLMCase: Decodable {
    let text: String
    let ids: [Int]
    let ids_no_special: [Int]
    let pieces: [String]
    let decoded: String
    let decoded_with_special: String
}

/// The text of the one llama2 case where tokenizer.json's added tokens and SentencePiece differ.
let sentencePieceControlTextCase = "hi<|endoftext|>there <s>x</s> <unk>"

@Suite("SentencePiece tokenizer.model")
struct TokenizerSentencePieceTests {
    static let chatGLMFolder = tokenizerFixtures.appendingPathComponent("chatglm3")
    static let llamaModel = tokenizerFixtures.appendingPathComponent("llama2/tokenizer.model")

    /// Loads tokenizer.model alone (no tokenizer.json beside it) with an optional config.
    static func llamaFromModel(config: String? = nil) throws -> Tokenizer {
        try Tokenizer(sentencePieceModel: Data(contentsOf: llamaModel), config: config.map { Data($0.utf8) })
    }

    static func chatGLMCases() throws -> [ChatGLMCase] {
        try String(contentsOf: chatGLMFolder.appendingPathComponent("cases.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.isEmpty }
            .map { try JSONDecoder().decode(ChatGLMCase.self, from: Data($0.utf8)) }
    }

    @Test("ChatGLM3: every case matches ids, ids_no_special, pieces, decoded and decoded_with_special")
    func chatGLMCases() throws {
        let tok = try Tokenizer(folder: Self.chatGLMFolder)
        let cases = try Self.chatGLMCases()
        #expect(cases.count == 47)
        var mismatches: [String] = []
        for (i, c) in cases.enumerated() {
            let label = "chatglm3#\(i) \(String(reflecting: String(c.text.prefix(40))))"
            let ids = tok.encode(c.text), plain = tok.encode(c.text, addSpecialTokens: false)
            if ids != c.ids { mismatches.append("\(label) ids \(ids) != \(c.ids)") }
            if plain != c.ids_no_special { mismatches.append("\(label) ids_no_special \(plain) != \(c.ids_no_special)") }
            if tok.tokens(for: c.ids_no_special) != c.pieces { mismatches.append("\(label) pieces \(tok.tokens(for: c.ids_no_special))") }
            let d = tok.decode(c.ids_no_special)
            if !d.unicodeScalars.elementsEqual(c.decoded.unicodeScalars) { mismatches.append("\(label) decoded \(String(reflecting: d))") }
            let w = tok.decode(c.ids)
            if !w.unicodeScalars.elementsEqual(c.decoded_with_special.unicodeScalars) {
                mismatches.append("\(label) decoded_with_special \(String(reflecting: w))")
            }
        }
        #expect(mismatches == [], "\(mismatches.count) mismatches")
    }

    @Test("ChatGLM3: specials are numbered from the piece count, known by name, never matched in text")
    func chatGLMSpecials() throws {
        let tok = try Tokenizer(folder: Self.chatGLMFolder)
        #expect(tok.vocabularySize == 1000)
        #expect(Tokenizer.chatGLMSpecials.map { tok.id(for: $0) } == (991...999).map { $0 })
        #expect(tok.tokens(for: [992, 994]) == ["[gMASK]", "sop"])
        #expect(tok.isSpecial(992) && tok.isSpecial(1) && !tok.isSpecial(300))
        #expect(tok.bosTokenId == 1 && tok.eosTokenId == 2)
        #expect(!tok.encode("[gMASK]<|user|>", addSpecialTokens: false).contains { $0 >= 991 })
        #expect(tok.decode([992, 994] + tok.encode("Hi", addSpecialTokens: false), skipSpecialTokens: true) == "Hi")
    }

    @Test("llama2 tokenizer.model: [bos] + sp.encode equals the tokenizers-library ids on 46 of 47 cases")
    func llamaModelMatchesConvertedFile() throws {
        let tok = try Self.llamaFromModel()
        let (_, cases) = try loadTokenizerStyle("llama2")
        #expect(cases.count == 47)
        for c in cases where c.text != sentencePieceControlTextCase {
            let expected = c.ids_tokenizers_lib ?? c.ids
            #expect(tok.encode(c.text) == expected, "\(String(reflecting: c.text))")
            #expect(tok.encode(c.text, addSpecialTokens: false) == Array(expected.dropFirst()), "\(String(reflecting: c.text))")
            #expect(tok.tokens(for: expected) == c.tokens || c.ids_tokenizers_lib != nil, "\(String(reflecting: c.text))")
        }
        // The exception: "<s>", "</s>", "<unk>" stay text (no control or unknown id after the BOS).
        let ids = tok.encode(sentencePieceControlTextCase)
        #expect(ids.first == 1 && !ids.dropFirst().contains { $0 <= 2 })
        #expect(tok.decode(ids) == sentencePieceControlTextCase)
    }

    @Test("llama2 tokenizer.model: pieces in id order equal tokenizer.json's vocabulary")
    func llamaPiecesEqualVocabulary() throws {
        let fromModel = try Self.llamaFromModel()
        let fromJSON = try Tokenizer(folder: tokenizerFixtures.appendingPathComponent("llama2"))
        #expect(fromModel.vocabularySize == 1000)
        #expect((0..<1000).map { fromModel.token(for: $0) } == (0..<1000).map { fromJSON.token(for: $0) })
    }

    @Test("llama2 tokenizer.model: decoding follows sp.decode (controls vanish, bytes fuse, dummy space dropped)")
    func llamaDecode() throws {
        let tok = try Self.llamaFromModel()
        let (_, cases) = try loadTokenizerStyle("llama2")
        for c in cases where c.text != sentencePieceControlTextCase {
            // A literal "▁" in the text is a space symbol to SentencePiece, so it decodes as " ".
            let expected = c.text.replacingOccurrences(of: "\u{2581}", with: " ")
            #expect(tok.decode(tok.encode(c.text)) == expected, "\(String(reflecting: c.text))")
        }
        // An invalid byte run gives one U+FFFD per structurally invalid byte; the ▁ of a later piece stays.
        let bytes = [0xE2, 0x82].map { tok.id(for: String(format: "<0x%02X>", $0))! }
        #expect(tok.decode(bytes) == "\u{FFFD}\u{FFFD}")
        #expect(tok.decode([0, 1, 2]) == " \u{2047} ")
    }

    @Test("Config flags: add_bos_token false, add_eos_token true")
    func llamaConfigFlags() throws {
        let tok = try Self.llamaFromModel(config: #"{"add_bos_token": false, "add_eos_token": true}"#)
        let plain = tok.encode("Hello", addSpecialTokens: false)
        #expect(tok.encode("Hello") == plain + [2])
    }

    @Test("A folder with only tokenizer.model loads; a folder with neither file throws the old error")
    func folderFallback() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: TokenizerError.unreadableFile(dir.appendingPathComponent("tokenizer.json").path)) { try Tokenizer(folder: dir) }
        try Data(contentsOf: Self.llamaModel).write(to: dir.appendingPathComponent("tokenizer.model"))
        let tok = try Tokenizer(folder: dir)
        #expect(tok.encode("Hello world") == (try Self.llamaFromModel()).encode("Hello world"))
    }

    @Test("Unigram, WORD and CHAR model types: Unigram loads, the others name themselves")
    func modelTypes() throws {
        var spec = try SentencePieceSpec(data: Data(contentsOf: Self.llamaModel))
        spec.modelType = 3
        #expect(throws: TokenizerError.unsupportedType(stage: "SentencePiece model", type: "WORD")) {
            try Tokenizer.sentencePieceParts(spec, restartAfterLiteral: false)
        }
        // The BPE pieces read as a Unigram model still cover every character, so text round-trips.
        spec.modelType = 1
        let tok = Tokenizer(parts: try Tokenizer.sentencePieceParts(spec, restartAfterLiteral: false))
        for text in ["Hello world", "  spaces  ", "日本語 🤗", ""] {
            #expect(tok.decode(tok.encode(text)) == text)
        }
    }
}
