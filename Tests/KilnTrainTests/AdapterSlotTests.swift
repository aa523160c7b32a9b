// Adapters attached to one loaded base and chosen per batch row: each row's logits equal PEFT's for its own adapter
// (or the base's own, for a row with none) within 1e-4, whatever the other rows of the batch run with.
import Foundation
import KilnModels
import KilnTensor
import Testing
@testable import KilnTrain

@Suite("Adapter slots: many adapters over one base, per batch row")
struct AdapterSlotTests {
    static let llama = LoRAMergeTests.models.appendingPathComponent("llama")

    /// Max |actual − expected| over batch row `row`'s mask-1 positions of (B, T, V) logits.
    static func rowDifference(_ logits: Tensor, _ expected: [Float], mask: [[Int]], row: Int) -> Float {
        let (steps, vocabulary) = (logits.shape[1], logits.shape[2])
        var worst: Float = 0
        for t in 0..<steps where mask[row][t] == 1 {
            let start = (row * steps + t) * vocabulary
            for v in 0..<vocabulary { worst = max(worst, abs(logits.storage[start + v] - expected[start + v])) }
        }
        return worst
    }

    @Test("Rows routed to two adapters and to none, in one batch, each match PEFT's logits for their own")
    func mixedBatch() throws {
        let model = try LoadedModel(folder: Self.llama)
        let plain = try model.attach(LoRAAdapter.updates([try LoRAAdapter(folder: Self.llama.appendingPathComponent("lora"))]))
        let rs = try model.attach(LoRAAdapter.updates([try LoRAAdapter(folder: Self.llama.appendingPathComponent("lora_rslora"))]))
        #expect(plain != rs && model.adapterSlots.count == 2)
        let reference = try SafeTensorsReader(url: Self.llama.appendingPathComponent("reference.safetensors"))
        let ids = try LoRAMergeTests.rows(reference, "input_ids"), mask = try LoRAMergeTests.rows(reference, "attention_mask")
        let positions = try LoRAMergeTests.rows(reference, "position_ids")
        let expected = [
            0: try reference.floats("logits"),
            plain: try SafeTensorsReader(url: Self.llama.appendingPathComponent("lora/lora_reference.safetensors")).floats("logits"),
            rs: try SafeTensorsReader(url: Self.llama.appendingPathComponent("lora_rslora/lora_reference.safetensors")).floats("logits"),
        ]
        for routing in [[plain, rs], [rs, plain], [0, plain], [rs, 0], [0, 0]] {
            let logits = try AdapterSlots.$routing.withValue(routing) {
                try model.model.forward(inputIds: ids, attentionMask: mask, positionIds: positions).logits
            }
            for (row, slot) in routing.enumerated() {
                let worst = Self.rowDifference(logits, expected[slot]!, mask: mask, row: row)
                print("routing \(routing) row \(row): max abs diff \(worst)")
                #expect(worst <= 1e-4, "routing \(routing) row \(row): \(worst)")
            }
        }
        // A detached slot's rows run the base alone.
        model.adapterSlots.detach(plain)
        let logits = try AdapterSlots.$routing.withValue([plain, plain]) {
            try model.model.forward(inputIds: ids, attentionMask: mask, positionIds: positions).logits
        }
        #expect(Self.rowDifference(logits, expected[0]!, mask: mask, row: 1) <= 1e-4)
    }

    @Test("An adapter for weights the base lacks, or of the wrong shape, is a typed error and attaches nothing")
    func misfit() throws {
        let model = try LoadedModel(folder: Self.llama)
        let update = LowRankUpdate(a: Tensor(zeros: [2, 64]), b: Tensor(zeros: [64, 2]), scaling: 1)
        #expect(throws: ModelError.self) { try model.attach(["model.layers.0.self_attn.q_projx.weight": [update]]) }
        let wrong = LowRankUpdate(a: Tensor(zeros: [2, 65]), b: Tensor(zeros: [64, 2]), scaling: 1)
        #expect(throws: ModelError.self) { try model.attach(["model.layers.0.self_attn.q_proj.weight": [wrong]]) }
        #expect(model.adapterSlots.count == 0)
    }

    @Test("On the SmolLM2 GGUF base, an attached adapter gives the logits of the same adapter applied at load")
    func ggufSlotEqualsLoad() throws {
        let base = try #require(DefaultModel.locate())
        let (_, parameters) = try randomAdapter(on: base)
        let updates = LoRAAdapter.updates([parameters.adapter()])
        let ids = [[1, 504, 3458, 282, 4103, 314, 253, 1345], [1, 9519, 28, 638, 359, 346, 47, 2]]
        let atLoad = try LoadedModel(folder: base, adapters: updates).model.forward(inputIds: ids, attentionMask: nil, positionIds: nil).logits
        let shared = try LoadedModel(folder: base)
        let slot = try shared.attach(updates)
        let routed = try AdapterSlots.$routing.withValue([slot, slot]) {
            try shared.model.forward(inputIds: ids, attentionMask: nil, positionIds: nil).logits
        }
        let plain = try shared.model.forward(inputIds: ids, attentionMask: nil, positionIds: nil).logits
        #expect(maxAbsDifference(routed.storage, atLoad.storage) <= 1e-5)
        #expect(maxAbsDifference(plain.storage, atLoad.storage) > 1e-2)
    }
}
