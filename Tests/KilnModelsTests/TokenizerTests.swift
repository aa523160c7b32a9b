// Every case of Tests/Fixtures/tokenizers/<style>/cases.jsonl (made with transformers 5.24):
// ids with and without special tokens, token strings, and the three decoded texts, exactly.

import Foundation
import Testing
@testable import KilnModels

/// The fixture folder, found next to this file so tests never read the shared fixtures folder outside the repository.
let tokenizerFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizers")

/// One line of cases.jsonl.
struct TokenizerCase: Decodable {
    let text: String
    let ids: [Int]
    let ids_no_special: [Int]
    let tokens: [String]
    let decoded: String
    let decoded_skip_special: String
    let decoded_no_special: String
    /// Present only where the raw `tokenizers` library disagrees with transformers (5 llama2 rows).
    let ids_tokenizers_lib: [Int]?
    let ids_no_special_tokenizers_lib: [Int]?
}

/// Loads a style's tokenizer and cases.
func loadTokenizerStyle(_ style: String) throws -> (Tokenizer, [TokenizerCase]) {
    let folder = tokenizerFixtures.appendingPathComponent(style)
    let tokenizer = try Tokenizer(folder: folder)
    let lines = try String(contentsOf: folder.appendingPathComponent("cases.jsonl"), encoding: .utf8)
        .split(separator: "\n").filter { !$0.isEmpty }
    let cases = try lines.map { try JSONDecoder().decode(TokenizerCase.self, from: Data($0.utf8)) }
    return (tokenizer, cases)
}

/// Every mismatch of one style, as readable lines (empty when all cases match).
func tokenizerMismatches(_ style: String) throws -> [String] {
    let (tok, cases) = try loadTokenizerStyle(style)
    var out: [String] = []
    for (i, c) in cases.enumerated() {
        let ids = tok.encode(c.text, addSpecialTokens: true)
        let plain = tok.encode(c.text, addSpecialTokens: false)
        let label = "\(style)#\(i) \(String(reflecting: String(c.text.prefix(40))))"
        if ids != c.ids { out.append("\(label) ids \(ids) != \(c.ids)") }
        if plain != c.ids_no_special { out.append("\(label) ids_no_special \(plain) != \(c.ids_no_special)") }
        if tok.tokens(for: c.ids) != c.tokens { out.append("\(label) tokens \(tok.tokens(for: c.ids)) != \(c.tokens)") }
        let d = tok.decode(c.ids, skipSpecialTokens: false)
        if d != c.decoded || !d.unicodeScalars.elementsEqual(c.decoded.unicodeScalars) {
            out.append("\(label) decoded \(String(reflecting: d)) != \(String(reflecting: c.decoded))")
        }
        let s = tok.decode(c.ids, skipSpecialTokens: true)
        if !s.unicodeScalars.elementsEqual(c.decoded_skip_special.unicodeScalars) {
            out.append("\(label) decoded_skip_special \(String(reflecting: s)) != \(String(reflecting: c.decoded_skip_special))")
        }
        let n = tok.decode(c.ids_no_special, skipSpecialTokens: false)
        if !n.unicodeScalars.elementsEqual(c.decoded_no_special.unicodeScalars) {
            out.append("\(label) decoded_no_special \(String(reflecting: n)) != \(String(reflecting: c.decoded_no_special))")
        }
    }
    return out
}

@Suite("Tokenizer fixtures")
struct TokenizerFixtureTests {
    static let styles = ["gpt2", "llama2", "mistral", "llama3", "qwen2", "qwen3", "bloom", "glm4", "deepseek_v3", "minilm"]

    @Test("Every fixture case matches transformers: ids, tokens and decoded text", arguments: styles)
    func fixtureCases(style: String) throws {
        let mismatches = try tokenizerMismatches(style)
        #expect(mismatches == [], "\(mismatches.count) mismatches")
    }

    // minilm is left out: its file sets padding (Fixed 128) and truncation, which the raw library
    // applies and transformers (and Kiln, which only encodes single unpadded sequences) does not.
    @Test("Without tokenizer_config.json the file's own pipeline gives the tokenizers-library ids",
          arguments: styles.filter { $0 != "minilm" })
    func rawPipeline(style: String) throws {
        let folder = tokenizerFixtures.appendingPathComponent(style)
        let raw = try Tokenizer(tokenizerJSON: Data(contentsOf: folder.appendingPathComponent("tokenizer.json")), config: nil)
        let (_, cases) = try loadTokenizerStyle(style)
        for c in cases {
            #expect(raw.encode(c.text, addSpecialTokens: true) == (c.ids_tokenizers_lib ?? c.ids), "\(String(reflecting: c.text))")
            #expect(raw.encode(c.text, addSpecialTokens: false) == (c.ids_no_special_tokenizers_lib ?? c.ids_no_special), "\(String(reflecting: c.text))")
        }
    }
}
