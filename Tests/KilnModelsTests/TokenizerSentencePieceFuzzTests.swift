// Robustness of the protobuf reader and the SentencePiece models: seeded mutations of the fixture
// tokenizer.model files either load or throw TokenizerError (never trap), and anything that loads
// also encodes and decodes without trapping.

import Foundation
import Testing
@testable import KilnModels

@Suite("SentencePiece robustness")
struct TokenizerSentencePieceFuzzTests {
    /// One seeded mutation: flipped bytes, a cut, inserted bytes, a huge varint, or a repeated span.
    static func mutate(_ base: [UInt8], rng: inout TokenizerFuzzRNG) -> [UInt8] {
        var bytes = base
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 1:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 2:
            let junk = (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.insert(contentsOf: junk, at: Int.random(in: 0...bytes.count, using: &rng))
        case 3:
            // An over-long or maximal varint where a length or key was.
            let varint: [UInt8] = Bool.random(using: &rng) ? Array(repeating: 0xFF, count: 11) : [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
            bytes.replaceSubrange(Int.random(in: 0..<bytes.count, using: &rng)..<bytes.count, with: varint + bytes.suffix(16))
        case 4:
            // A piece type, trainer id or model type set to an odd value (fields are [key, value] pairs).
            let i = Int.random(in: 0..<(bytes.count - 1), using: &rng)
            bytes[i] = [0x18, 0x20, 0x28, 0xC0, 0x01].randomElement(using: &rng)!
            bytes[i + 1] = [0x00, 0x01, 0x03, 0x05, 0x07, 0x7F].randomElement(using: &rng)!
        default:
            let a = Int.random(in: 0..<bytes.count, using: &rng)
            let b = min(bytes.count, a + Int.random(in: 1...64, using: &rng))
            bytes.insert(contentsOf: bytes[a..<b], at: Int.random(in: 0...bytes.count, using: &rng))
        }
        return bytes
    }

    @Test("Thousands of mutated tokenizer.model files load or throw TokenizerError", arguments: ["llama2", "chatglm3"])
    func mutatedModelsNeverCrash(style: String) throws {
        let base = [UInt8](try Data(contentsOf: tokenizerFixtures.appendingPathComponent("\(style)/tokenizer.model")))
        var rng = TokenizerFuzzRNG(state: 0x5EED_0000 &+ UInt64(style.utf8.count))
        var loaded = 0, rejected = 0
        for _ in 0..<1500 {
            let candidate = Data(Self.mutate(base, rng: &rng))
            do {
                let tok = try Tokenizer(sentencePieceModel: candidate, config: nil)
                let ids = tok.encode("Hello wörld  123 <s> 🤗\t日本", addSpecialTokens: true)
                _ = tok.decode(ids + [-1, 5, Int.max], skipSpecialTokens: Bool.random(using: &rng))
                _ = tok.tokens(for: ids + [-1, Int.max])
                loaded += 1
            } catch {
                #expect(!error.message.isEmpty)
                rejected += 1
            }
        }
        #expect(loaded > 0 && rejected > 0, "loaded \(loaded), rejected \(rejected)")
    }

    @Test("The wire reader rejects truncated, overlong and mistyped fields")
    func wireErrors() {
        func load(_ bytes: [UInt8]) throws(TokenizerError) { _ = try SentencePieceSpec(data: Data(bytes)) }
        #expect(throws: TokenizerError.self) { try load([]) }                          // no pieces
        #expect(throws: TokenizerError.self) { try load([0x0A, 0x05, 0x0A]) }          // length past the end
        #expect(throws: TokenizerError.self) { try load([0x08] + Array(repeating: 0xFF, count: 10) + [0x01]) } // 11-byte varint
        #expect(throws: TokenizerError.self) { try load([0x0B]) }                      // group wire type
        #expect(throws: TokenizerError.self) { try load([0x0D, 0x00, 0x00]) }          // pieces as a truncated fixed32
        #expect(throws: TokenizerError.self) { try load([0x0A, 0x02, 0x0A, 0x00, 0x00]) } // field number 0
        // One piece "a" of type NORMAL loads (BPE model type); an unknown piece type does not.
        let bpe: [UInt8] = [0x12, 0x02, 0x18, 0x02]
        #expect(throws: Never.self) { try load([0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x01] + bpe + [0x12, 0x03, 0xC0, 0x02, 0x00]) }
        #expect(throws: TokenizerError.self) { try load([0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x09]) }
    }
}
