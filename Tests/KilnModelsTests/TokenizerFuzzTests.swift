// Robustness: mutated tokenizer.json files load or throw TokenizerError (never crash), and random
// Unicode text round-trips through encode/decode for the byte-level styles.

import Foundation
import Testing
@testable import KilnModels

/// A small deterministic generator (TokenizerFuzzRNG) so failures reproduce.
struct TokenizerFuzzRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Tokenizer robustness")
struct TokenizerFuzzTests {
    /// Structured mutations: replace a random JSON value deep in the tree with something of another kind.
    static func mutate(_ value: Any, rng: inout TokenizerFuzzRNG, depth: Int = 0) -> Any {
        let replacements: [Any] = [NSNull(), 42, -7, 1e300, "", "Regex", ["x"], ["type": "Bogus"], true, [:] as [String: Any], "(?<", [1, 2]]
        if var dict = value as? [String: Any], !dict.isEmpty {
            // Skip into the big vocab rarely so most mutations hit the pipeline stages.
            let keys = dict.keys.sorted()
            let key = keys[Int.random(in: 0..<keys.count, using: &rng)]
            if Int.random(in: 0..<4, using: &rng) == 0 || depth > 6 {
                if Bool.random(using: &rng) { dict[key] = replacements.randomElement(using: &rng)! } else { dict.removeValue(forKey: key) }
            } else {
                dict[key] = mutate(dict[key]!, rng: &rng, depth: depth + 1)
            }
            return dict
        }
        if var array = value as? [Any], !array.isEmpty {
            let i = Int.random(in: 0..<array.count, using: &rng)
            array[i] = Int.random(in: 0..<3, using: &rng) == 0 ? replacements.randomElement(using: &rng)! : mutate(array[i], rng: &rng, depth: depth + 1)
            return array
        }
        return replacements.randomElement(using: &rng)!
    }

    @Test("Thousands of mutated tokenizer.json files load or throw TokenizerError", arguments: ["gpt2", "llama2", "llama3", "deepseek_v3", "minilm"])
    func mutatedFilesNeverCrash(style: String) throws {
        let folder = tokenizerFixtures.appendingPathComponent(style)
        let data = try Data(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let config = try Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json"))
        var root = try JSONSerialization.jsonObject(with: data)
        // Keep fuzzing fast: a 30k-entry WordPiece vocabulary is cut to its first 1,000 ids.
        if var dict = root as? [String: Any], var model = dict["model"] as? [String: Any],
           let vocab = model["vocab"] as? [String: Int], vocab.count > 2000 {
            model["vocab"] = vocab.filter { $0.value < 1000 }
            dict["model"] = model
            root = dict
        }
        let configRoot = try JSONSerialization.jsonObject(with: config)
        var rng = TokenizerFuzzRNG(state: UInt64(style.utf8.count) &* 7919)
        var loaded = 0, rejected = 0
        for i in 0..<750 {
            var candidate: Data
            if i % 4 == 0 {
                // Byte-level damage: flip, cut or splice raw bytes.
                var bytes = [UInt8](data)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                case 1: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
                default: bytes.insert(contentsOf: Array("{\"type\":".utf8), at: Int.random(in: 0..<bytes.count, using: &rng))
                }
                candidate = Data(bytes)
            } else {
                var mutated: Any = root
                for _ in 0..<Int.random(in: 1...3, using: &rng) { mutated = Self.mutate(mutated, rng: &rng) }
                candidate = (try? JSONSerialization.data(withJSONObject: mutated)) ?? Data()
            }
            do {
                // Mostly the real config or none; every fifth run a mutated config as well.
                var cfg: Data? = i % 2 == 0 ? config : nil
                if i % 5 == 4 { cfg = try? JSONSerialization.data(withJSONObject: Self.mutate(configRoot, rng: &rng)) }
                let tok = try Tokenizer(tokenizerJSON: candidate, config: cfg)
                // A file that loads must also encode and decode without trapping.
                let ids = tok.encode("Hello wörld 123 <s> 🤗 <|endoftext|>", addSpecialTokens: true)
                _ = tok.decode(ids, skipSpecialTokens: true)
                _ = tok.tokens(for: ids + [-1, Int.max])
                loaded += 1
            } catch {
                #expect(!error.message.isEmpty)
                rejected += 1
            }
        }
        #expect(loaded + rejected == 750)
        #expect(rejected > 0 && loaded > 0, "loaded \(loaded), rejected \(rejected)")
    }

    @Test("Random Unicode round-trips through byte-level tokenizers", arguments: ["gpt2", "llama3", "qwen2", "qwen3", "bloom", "glm4", "deepseek_v3"])
    func byteLevelRoundTrip(style: String) throws {
        let tok = try Tokenizer(folder: tokenizerFixtures.appendingPathComponent(style))
        var rng = TokenizerFuzzRNG(state: 0xC0FFEE)
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0x00...0x1F, 0xA0...0x2FF, 0x300...0x36F, 0x400...0x4FF,
                                            0x3040...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3, 0x1F300...0x1FAFF, 0xE000...0xF8FF, 0x10000...0x10FFFD]
        for _ in 0..<400 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                let pool = pools.randomElement(using: &rng)!
                if let s = Unicode.Scalar(UInt32.random(in: pool, using: &rng)) { view.append(s) }
            }
            // NFC styles normalize first, so compare against the normalized input there.
            var text = String(view)
            if style.hasPrefix("qwen") { text = text.precomposedStringWithCanonicalMapping }
            let decoded = tok.decode(tok.encode(text, addSpecialTokens: false), skipSpecialTokens: false)
            #expect(Array(decoded.unicodeScalars) == Array(text.unicodeScalars), "\(String(reflecting: text))")
        }
    }

    @Test("Loading errors name the problem")
    func typedErrors() {
        #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: Data("{".utf8), config: nil) }
        #expect(throws: TokenizerError.missingKey("model")) { try Tokenizer(tokenizerJSON: Data("{}".utf8), config: nil) }
        #expect(throws: TokenizerError.unsupportedType(stage: "model", type: "WordLevel")) {
            try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"WordLevel","vocab":{}}}"#.utf8), config: nil)
        }
        #expect(throws: TokenizerError.invalidValue(path: "model.vocab", expected: "a non-empty vocabulary")) {
            try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"Unigram","vocab":[]}}"#.utf8), config: nil)
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"Unigram","vocab":[["a", "x"]],"unk_id":3}}"#.utf8), config: nil)
        }
        #expect(throws: TokenizerError.invalidRegex("(?<")) {
            try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(?<"},"behavior":"Isolated"}}"#.utf8), config: nil)
        }
        #expect(throws: TokenizerError.invalidMerge("a b")) {
            try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}"#.utf8), config: nil)
        }
    }
}
