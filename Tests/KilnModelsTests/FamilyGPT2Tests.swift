// GPT-2 against transformers 5.24 (Tests/Fixtures/README.md §3: models/gpt2 made by generate/models_gen.py):
// logits and every hidden state on the padded reference batch within 1e-4, and greedy generations token for token.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

/// The reference batch and expected outputs of one `Tests/Fixtures/models/<family>` folder, shared by the family tests.
enum FamilyReference {
    /// The tolerance issue 5 sets for logits and hidden states (max absolute difference).
    static let tolerance: Float = 1e-4

    /// `Tests/Fixtures/models/<family>`.
    static func folder(_ family: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models").appendingPathComponent(family)
    }

    /// reference.safetensors of `family`.
    static func reader(_ family: String) throws -> SafeTensorsReader {
        try SafeTensorsReader(url: folder(family).appendingPathComponent("reference.safetensors"))
    }

    /// A stored (B, T) I64 tensor as rows.
    static func rows(_ reader: SafeTensorsReader, _ name: String) throws -> [[Int]] {
        let info = try #require(reader.info(name))
        let values = try reader.int64s(name).map(Int.init)
        return stride(from: 0, to: values.count, by: info.shape[1]).map { Array(values[$0..<($0 + info.shape[1])]) }
    }

    /// Max |actual − expected| over the (b, t) positions whose mask is 1; both are (B, T, W) in row-major order.
    /// Pad positions are skipped: HF gives a fully masked (left-pad) query uniform attention over all keys, Kiln gives
    /// it zeros. With left padding and causal attention no real position attends to a pad position's output (pad
    /// keys are masked), so the mask-1 rows of every layer are unaffected by that difference.
    static func maxDifference(_ actual: Tensor, _ expected: [Float], mask: [[Int]]) -> Float {
        let steps = mask[0].count
        let width = actual.count / (mask.count * steps)
        var worst: Float = 0
        for (b, row) in mask.enumerated() {
            for (t, real) in row.enumerated() where real == 1 {
                let base = (b * steps + t) * width
                for i in base..<(base + width) { worst = max(worst, abs(actual.storage[i] - expected[i])) }
            }
        }
        return worst
    }

    /// Mean cross-entropy of logits (B, T, V) at t against labels[t + 1], skipping -100 (HF `ForCausalLMLoss`), in Double.
    static func crossEntropy(_ logits: Tensor, labels: [[Int]]) -> Float {
        let (steps, vocabulary) = (logits.shape[1], logits.shape[2])
        var total: Double = 0, count = 0
        for (b, row) in labels.enumerated() {
            for t in 0..<(steps - 1) where row[t + 1] != -100 {
                let base = (b * steps + t) * vocabulary
                let values = logits.storage[base..<(base + vocabulary)].map(Double.init)
                let top = values.max()!
                let logSum = top + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - top) })
                total += logSum - values[row[t + 1]]
                count += 1
            }
        }
        return Float(total / Double(count))
    }

    /// One `generate.json` prompt: its ids and the 16 greedy new ids transformers produced.
    struct GenerateCase: Decodable {
        var prompt: String
        var inputIDs: [Int]
        var newIDs: [Int]

        enum CodingKeys: String, CodingKey {
            case prompt, inputIDs = "input_ids", newIDs = "new_ids"
        }
    }

    /// The prompts of `generate.json`.
    static func generateCases(_ family: String) throws -> [GenerateCase] {
        struct File: Decodable { var prompts: [GenerateCase] }
        let data = try Data(contentsOf: folder(family).appendingPathComponent("generate.json"))
        return try JSONDecoder().decode(File.self, from: data).prompts
    }

    /// Runs `model` on the reference batch (position_ids passed only when `withPositions`) and checks the logits
    /// and every hidden state at mask-1 positions.
    static func checkReference(_ model: some CausalLM, family: String, withPositions: Bool) throws {
        let reader = try reader(family)
        let ids = try rows(reader, "input_ids"), mask = try rows(reader, "attention_mask")
        let positions = withPositions ? try rows(reader, "position_ids") : nil
        let output = try model.forward(inputIds: ids, attentionMask: mask, positionIds: positions)
        let expectedLogits = try reader.floats("logits")
        #expect(output.logits.shape == reader.info("logits")?.shape)
        let logitsDiff = maxDifference(output.logits, expectedLogits, mask: mask)
        print("\(family) logits max abs diff (mask-1 positions): \(logitsDiff)")
        #expect(logitsDiff <= tolerance, "\(family) logits: max abs diff \(logitsDiff)")
        // HF's causal-LM loss over labels whose context is all real tokens (README: depends only on mask-1 logits).
        let loss = crossEntropy(output.logits, labels: try rows(reader, "labels_real_context"))
        let expectedLoss = try reader.floats("loss_real_context")[0]
        #expect(abs(loss - expectedLoss) <= tolerance, "\(family) loss_real_context \(loss) vs \(expectedLoss)")
        let stateCount = reader.tensorNames.filter { $0.hasPrefix("hidden_states.") }.count
        #expect(output.hiddenStates.count == stateCount)
        for (i, state) in output.hiddenStates.enumerated() {
            let name = "hidden_states.\(i)"
            #expect(state.shape == reader.info(name)?.shape, "\(name) shape")
            let diff = maxDifference(state, try reader.floats(name), mask: mask)
            print("\(family) \(name) max abs diff (mask-1 positions): \(diff)")
            #expect(diff <= tolerance, "\(family) \(name): max abs diff \(diff)")
        }
    }
}

@Suite("GPT-2 family")
struct FamilyGPT2Tests {
    let model: GPT2Model

    init() throws {
        model = try GPT2Model.load(folder: FamilyReference.folder("gpt2"))
    }

    @Test("GPT-2 logits and hidden states match transformers 5.24 within 1e-4 on the padded batch")
    func referenceBatch() throws {
        try FamilyReference.checkReference(model, family: "gpt2", withPositions: true)
    }

    @Test("GPT-2 greedy generation with the KV cache matches generate.json token for token")
    func greedyGeneration() throws {
        let generation = try GenerationConfig.load(url: FamilyReference.folder("gpt2").appendingPathComponent("generation_config.json"))
        for testCase in try FamilyReference.generateCases("gpt2") {
            let ids = try model.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count, eosTokenIds: generation.eosTokenIDs)
            #expect(ids == testCase.newIDs, "prompt \(testCase.prompt.debugDescription)")
        }
    }

    @Test("GPT-2 refuses a checkpoint missing a tensor, a misshapen tensor, and out-of-vocabulary ids")
    func typedErrors() throws {
        let folder = FamilyReference.folder("gpt2")
        let configuration = try GPT2Configuration.load(url: folder.appendingPathComponent("config.json"))
        var weights = GPT2Model.sanitize(weights: try CheckpointTensors.read(WeightMap(folder: folder)))
        let ln = weights.removeValue(forKey: "transformer.ln_f.weight")
        #expect(throws: ModelError.missingTensor("transformer.ln_f.weight")) {
            try GPT2Model(configuration: configuration, weights: weights)
        }
        weights["transformer.ln_f.weight"] = ln
        weights["transformer.wpe.weight"] = Tensor(zeros: [3, 64])
        #expect(throws: ModelError.wrongShape(tensor: "transformer.wpe.weight", expected: [256, 64], found: [3, 64])) {
            try GPT2Model(configuration: configuration, weights: weights)
        }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [[1, 1000]], attentionMask: nil, positionIds: nil) }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [[1, 2], [3]], attentionMask: nil, positionIds: nil) }
    }
}
