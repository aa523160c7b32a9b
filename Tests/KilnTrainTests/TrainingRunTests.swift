// The whole fixture run through `TrainingRun` (Tests/Fixtures/README.md §10): micro-batches equal batches.safetensors;
// every step's loss, learning rate and pre-clip grad norm equal run.json; the adapter and AdamW moments in the
// checkpoints after steps 3, 6 and 9 equal step{3,6,9}.safetensors; resuming from step 6 reproduces steps 7–9 exactly.
import Foundation
import KilnModels
import Testing
@testable import KilnTrain

@Suite("A whole training run equals Trainer's", .serialized)
struct TrainingRunTests {
    static let fixtures = TrainingFormatTests.fixtures

    struct Run: Decodable {
        struct Step: Decodable {
            var step: Int
            var epoch: Int
            var learning_rate: Double
            var loss: Double
            var grad_norm: Double
        }
        struct Validation: Decodable {
            var after_step: Int
            var eval_loss: Double
        }
        var steps: [Step]
        var validation: [Validation]
        var adapter_keys: [String]
    }

    /// A fresh folder with train.jsonl (items 1–20), val.jsonl (21–24) and the initial adapter as a PEFT folder.
    static func prepare(_ family: String) throws -> (spec: TrainingSpec, work: URL) {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-run-\(family)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let lines = try String(contentsOf: fixtures.appendingPathComponent("training/dataset.jsonl"), encoding: .utf8).split(separator: "\n")
        try (lines[0..<20].joined(separator: "\n") + "\n").write(to: work.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        try (lines[20..<24].joined(separator: "\n") + "\n").write(to: work.appendingPathComponent("val.jsonl"), atomically: true, encoding: .utf8)
        let initial = try SafeTensorsReader(url: fixtures.appendingPathComponent("training/\(family)/init.safetensors"))
        let config = LoRAConfig(r: 4, alpha: 8, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        var pairs: [LoRAPair] = []
        for name in initial.tensorNames where name.hasSuffix(".lora_A.weight") {
            let module = String(name.dropFirst("adapter.base_model.model.".count).dropLast(".lora_A.weight".count))
            let b = name.replacingOccurrences(of: "lora_A", with: "lora_B")
            let (aShape, bShape) = (initial.info(name)!.shape, initial.info(b)!.shape)
            pairs.append(LoRAPair(module: module, a: try initial.floats(name), b: try initial.floats(b), rank: aShape[0], inFeatures: aShape[1],
                                  outFeatures: bShape[0], scaling: 2))
        }
        try LoRAAdapter(config: config, pairs: pairs).save(to: work.appendingPathComponent("init"), baseModel: "..")
        let source = { (name: String) in DataSource(path: work.appendingPathComponent(name).path, sha256: "") }
        let spec = TrainingSpec(
            base: fixtures.appendingPathComponent("models/\(family)").path, baseSHA256: "", train: source("train.jsonl"),
            validation: source("val.jsonl"), initAdapter: work.appendingPathComponent("init").path, loraR: 4, loraAlpha: 8, useRSLoRA: false,
            loraDropout: 0, targetModules: config.targetModules, learningRate: 2e-3, epochs: 3, maxSteps: nil, microBatchSize: 4,
            gradientAccumulation: 2, maxLength: 64, scheduler: .cosine, warmupSteps: 2, weightDecay: 0.01, maxGradNorm: 1, seed: 42,
            shuffle: false, qlora: nil, doubleQuantization: false, checkpointEvery: 3, backend: "kiln")
        return (spec, work)
    }

    static func metrics(_ output: URL) throws -> [[String: Any]] {
        try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test("Micro-batches equal batches.safetensors", arguments: ["llama", "qwen2"])
    func microBatches(family: String) throws {
        let (spec, work) = try Self.prepare(family)
        defer { try? FileManager.default.removeItem(at: work) }
        let run = try TrainingRun(spec: spec, output: work.appendingPathComponent("out"))
        let expected = try SafeTensorsReader(url: Self.fixtures.appendingPathComponent("training/\(family)/batches.safetensors"))
        for index in 0..<5 {
            let batch = run.microBatch(epoch: 2, index: index)
            for (name, rows) in [("input_ids", batch.inputIds), ("attention_mask", batch.attentionMask), ("labels", batch.labels)] {
                #expect(rows.joined().map(Int64.init) == (try expected.int64s("micro\(index).\(name)")), "micro \(index) \(name)")
            }
        }
    }

    @Test("Losses, rates, grad norms, eval losses and the checkpoints after steps 3, 6, 9 equal Trainer's; resume from 6 is exact",
          arguments: ["llama", "qwen2"])
    func wholeRun(family: String) throws {
        let (spec, work) = try Self.prepare(family)
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = Self.fixtures.appendingPathComponent("training/\(family)")
        let reference = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
        let output = work.appendingPathComponent("out")
        try TrainingRun(spec: spec, output: output).run()

        let lines = try Self.metrics(output)
        let steps = lines.filter { $0["loss"] != nil }, evaluations = lines.filter { $0["eval_loss"] != nil }
        #expect(steps.map { $0["step"] as? Int } == reference.steps.map(\.step))
        for (line, want) in zip(steps, reference.steps) {
            #expect(line["epoch"] as? Int == want.epoch)
            #expect(abs((line["loss"] as! Double) - want.loss) <= 1e-5, "step \(want.step) loss")
            #expect(abs((line["learning_rate"] as! Double) - want.learning_rate) <= 1e-12, "step \(want.step) rate")
            #expect(abs((line["grad_norm"] as! Double) - want.grad_norm) <= 1e-5, "step \(want.step) grad norm")
        }
        #expect(evaluations.map { $0["step"] as? Int } == reference.validation.map(\.after_step))
        for (line, want) in zip(evaluations, reference.validation) {
            #expect(abs((line["eval_loss"] as! Double) - want.eval_loss) <= 1e-5, "eval after \(want.after_step)")
        }
        for step in [3, 6, 9] {
            let expected = try SafeTensorsReader(url: folder.appendingPathComponent("step\(step).safetensors"))
            let saved = try RunCheckpoint.read(output.appendingPathComponent("checkpoints/\(RunCheckpoint.folderName(step: step))"))
            #expect(saved.adamStep == step)
            var worst: Float = 0
            for key in reference.adapter_keys {
                worst = max(worst, maxAbsDifference(try #require(saved.parameters[key]), try expected.floats("adapter.\(key)")))
                worst = max(worst, maxAbsDifference(try #require(saved.expAvg[key]), try expected.floats("adam.exp_avg.\(key)")))
                worst = max(worst, maxAbsDifference(try #require(saved.expAvgSq[key]), try expected.floats("adam.exp_avg_sq.\(key)")))
            }
            print("\(family) checkpoint \(step): max abs diff \(worst)")
            #expect(worst <= 1e-4, "\(family) step \(step): \(worst)")
        }

        // As if killed after step 6's checkpoint, with step 7's line half-logged: resume reproduces 7–9 bit for bit.
        let copy = work.appendingPathComponent("resumed")
        try FileManager.default.copyItem(at: output, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("checkpoints/\(RunCheckpoint.folderName(step: 9))"))
        try FileManager.default.removeItem(at: copy.appendingPathComponent("adapter_model.safetensors"))
        let resumed = try TrainingRun.resume(copy)
        #expect(resumed.completedSteps == 6)
        try resumed.run()
        let again = try Self.metrics(copy)
        #expect(again.count == lines.count)
        for (a, b) in zip(again, lines) { #expect(NSDictionary(dictionary: a).isEqual(to: b), "\(a) vs \(b)") }
        let final = try Data(contentsOf: output.appendingPathComponent("adapter_model.safetensors"))
        #expect(try Data(contentsOf: copy.appendingPathComponent("adapter_model.safetensors")) == final)
    }
}

extension TrainingRunTests {
    @Test("With adapter dropout and a seeded shuffle, resuming from a checkpoint draws the same masks and order: identical metrics")
    func dropoutResume() throws {
        var (spec, work) = try Self.prepare("llama")
        defer { try? FileManager.default.removeItem(at: work) }
        (spec.loraDropout, spec.shuffle, spec.checkpointEvery, spec.maxSteps) = (0.1, true, 2, 5)
        let output = work.appendingPathComponent("out")
        try TrainingRun(spec: spec, output: output).run()
        let copy = work.appendingPathComponent("resumed")
        try FileManager.default.copyItem(at: output, to: copy)
        for step in [4, 5] { try FileManager.default.removeItem(at: copy.appendingPathComponent("checkpoints/\(RunCheckpoint.folderName(step: step))")) }
        let resumed = try TrainingRun.resume(copy)
        #expect(resumed.completedSteps == 2)
        try resumed.run()
        let (first, second) = (try Self.metrics(output), try Self.metrics(copy))
        #expect(first.count == second.count)
        for (a, b) in zip(first, second) { #expect(NSDictionary(dictionary: a).isEqual(to: b), "\(a) vs \(b)") }
        // Dropout changes what is learned: the losses differ from the same run without it.
        var plain = spec
        plain.loraDropout = 0
        try TrainingRun(spec: plain, output: work.appendingPathComponent("plain")).run()
        let without = try Self.metrics(work.appendingPathComponent("plain")).compactMap { $0["grad_norm"] as? Double }
        #expect(without != first.compactMap { $0["grad_norm"] as? Double })
    }
}

@Suite("QLoRA over bitsandbytes NF4 equals bitsandbytes + PEFT")
struct QLoRARunTests {
    @Test("The first three NF4 QLoRA steps: loss and grad norm equal qlora.json, adapter and moments after step 3 within 1e-4")
    func qloraSteps() throws {
        var (spec, work) = try TrainingRunTests.prepare("llama")
        defer { try? FileManager.default.removeItem(at: work) }
        spec.qlora = "nf4"
        let folder = TrainingRunTests.fixtures.appendingPathComponent("training/llama")
        struct Reference: Decodable {
            struct Step: Decodable { var step: Int; var loss: Double; var grad_norm: Double; var learning_rate: Double }
            var steps: [Step]
        }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("qlora.json")))
        // The schedule is the 9-step run's (lr 0, 1e-3, 2e-3): max_steps 3 would shorten the cosine, so stop it after 3.
        let output = work.appendingPathComponent("out")
        let run = try TrainingRun(spec: spec, output: output)
        var seen = 0
        try run.run(observer: { event in if case .step = event { seen += 1 } }, shouldStop: { seen >= 3 })
        let steps = try TrainingRunTests.metrics(output).filter { $0["loss"] != nil }
        #expect(steps.count == 3)
        for (line, want) in zip(steps, reference.steps) {
            #expect(abs((line["loss"] as! Double) - want.loss) <= 1e-5, "step \(want.step) loss \(line["loss"]!) vs \(want.loss)")
            #expect(abs((line["grad_norm"] as! Double) - want.grad_norm) <= 1e-5, "step \(want.step) grad norm")
            #expect(abs((line["learning_rate"] as! Double) - want.learning_rate) <= 1e-12)
        }
        let expected = try SafeTensorsReader(url: folder.appendingPathComponent("qlora_step3.safetensors"))
        let saved = try RunCheckpoint.read(output.appendingPathComponent("checkpoints/\(RunCheckpoint.folderName(step: 3))"))
        var worst: Float = 0
        for name in expected.tensorNames where name.hasPrefix("adapter.") {
            let key = String(name.dropFirst("adapter.".count))
            worst = max(worst, maxAbsDifference(try #require(saved.parameters[key]), try expected.floats(name)))
            worst = max(worst, maxAbsDifference(try #require(saved.expAvg[key]), try expected.floats("adam.exp_avg.\(key)")))
            worst = max(worst, maxAbsDifference(try #require(saved.expAvgSq[key]), try expected.floats("adam.exp_avg_sq.\(key)")))
        }
        print("QLoRA after step 3: max abs diff \(worst)")
        #expect(worst <= 1e-4)
    }
}

@Suite("How many layers a run recomputes")
struct RecomputePlanTests {
    @Test("recompute_layers overrides gradient_checkpointing; unset, QLoRA and quantised bases recompute every layer")
    func plan() throws {
        var (spec, work) = try TrainingRunTests.prepare("llama")
        defer { try? FileManager.default.removeItem(at: work) }
        #expect(spec.recomputedLayers(quantised: false) == 0)
        #expect(spec.recomputedLayers(quantised: true) == Int.max)
        spec.qlora = "nf4"
        #expect(spec.recomputedLayers(quantised: false) == Int.max)
        spec.gradientCheckpointing = false
        #expect(spec.recomputedLayers(quantised: true) == 0)
        spec.recomputeLayers = 12
        #expect(spec.recomputedLayers(quantised: true) == 12)
        let decoded = try JSONDecoder().decode(TrainingSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded.recomputeLayers == 12)
        spec.recomputeLayers = -1
        #expect(throws: TrainingSpecError.invalid(flag: "--recompute-layers", rule: "must be an integer from 0 to 100000")) { try spec.validate() }
    }
}
