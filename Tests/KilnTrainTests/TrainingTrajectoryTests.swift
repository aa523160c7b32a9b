// The optimiser half of the fixture run (Tests/Fixtures/README.md §10): from the initial adapter and each step's
// accumulated gradients, the step plan, schedule, clipping and AdamW reproduce Trainer's steps 1–9.
import Foundation
import KilnModels
import Testing
@testable import KilnTrain

@Suite("Trainer's optimiser steps")
struct TrainingTrajectoryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/training")

    struct Run: Decodable {
        struct Settings: Decodable {
            var n_train: Int
            var micro_batch_size: Int
            var gradient_accumulation_steps: Int
            var num_epochs: Int
            var learning_rate: Double
            var warmup_steps: Int
            var weight_decay: Double
            var max_grad_norm: Double
        }
        struct Step: Decodable {
            var step: Int
            var epoch: Int
            var micro_batches: [Int]
            var learning_rate: Double
            var grad_norm: Float
        }
        var settings: Settings
        var steps: [Step]
        var adapter_keys: [String]
    }

    @Test("Step plan and cosine schedule equal run.json, step by step", arguments: ["llama", "qwen2"])
    func planAndSchedule(family: String) throws {
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: Self.root.appendingPathComponent("\(family)/run.json")))
        let s = run.settings
        let plan = StepPlan(items: s.n_train, microBatch: s.micro_batch_size, accumulation: s.gradient_accumulation_steps, epochs: s.num_epochs)
        #expect(plan.totalSteps == run.steps.count)
        for step in run.steps {
            let planned = plan.step(step.step)
            #expect(planned.epoch == step.epoch && planned.microBatches == step.micro_batches, "step \(step.step)")
            let rate = LRSchedule.cosine.rate(step: step.step, totalSteps: plan.totalSteps, warmupSteps: s.warmup_steps, base: s.learning_rate)
            #expect(abs(rate - step.learning_rate) <= 1e-12, "step \(step.step): \(rate) vs \(step.learning_rate)")
        }
    }

    @Test("Clipping and AdamW from the recorded gradients give the adapter and moments after steps 3, 6 and 9 within 1e-4",
          arguments: ["llama", "qwen2"])
    func trajectory(family: String) throws {
        let folder = Self.root.appendingPathComponent(family)
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: folder.appendingPathComponent("run.json")))
        let s = run.settings
        let initial = try SafeTensorsReader(url: folder.appendingPathComponent("init.safetensors"))
        let grads = try SafeTensorsReader(url: folder.appendingPathComponent("grads.safetensors"))
        var parameters = try run.adapter_keys.map { try initial.floats("adapter.\($0)") }
        var states = parameters.map { AdamWState(count: $0.count) }
        let optimizer = AdamW(weightDecay: s.weight_decay)
        let plan = StepPlan(items: s.n_train, microBatch: s.micro_batch_size, accumulation: s.gradient_accumulation_steps, epochs: s.num_epochs)
        for step in run.steps {
            var gradients = try run.adapter_keys.map { try grads.floats("step\(step.step).grad.\($0)") }
            let norm = GradientClipping.clip(&gradients, maxNorm: s.max_grad_norm)
            #expect(abs(norm - step.grad_norm) <= 1e-5, "step \(step.step) grad_norm \(norm) vs \(step.grad_norm)")
            let rate = LRSchedule.cosine.rate(step: step.step, totalSteps: plan.totalSteps, warmupSteps: s.warmup_steps, base: s.learning_rate)
            for index in parameters.indices {
                optimizer.step(&parameters[index], gradient: gradients[index], state: &states[index], lr: rate)
            }
            guard [3, 6, 9].contains(step.step) else { continue }
            let expected = try SafeTensorsReader(url: folder.appendingPathComponent("step\(step.step).safetensors"))
            var worst: Float = 0
            for (index, key) in run.adapter_keys.enumerated() {
                worst = max(worst, maxAbsDifference(parameters[index], try expected.floats("adapter.\(key)")))
                worst = max(worst, maxAbsDifference(states[index].expAvg, try expected.floats("adam.exp_avg.\(key)")))
                worst = max(worst, maxAbsDifference(states[index].expAvgSq, try expected.floats("adam.exp_avg_sq.\(key)")))
            }
            print("\(family) after step \(step.step): max abs diff \(worst)")
            #expect(worst <= 1e-4, "\(family) step \(step.step): \(worst)")
        }
    }

    @Test("Schedules: constant ignores warmup; linear and cosine reach 0 at the end; warmup starts at 0")
    func schedules() {
        #expect(LRSchedule.constant.rate(step: 1, totalSteps: 10, warmupSteps: 5, base: 1) == 1)
        #expect(LRSchedule.constantWithWarmup.rate(step: 1, totalSteps: 10, warmupSteps: 4, base: 1) == 0)
        #expect(LRSchedule.constantWithWarmup.rate(step: 3, totalSteps: 10, warmupSteps: 4, base: 1) == 0.5)
        #expect(LRSchedule.linear.rate(step: 11, totalSteps: 10, warmupSteps: 0, base: 1) == 0)
        #expect(LRSchedule.linear.rate(step: 6, totalSteps: 10, warmupSteps: 0, base: 1) == 0.5)
        #expect(abs(LRSchedule.cosine.rate(step: 6, totalSteps: 10, warmupSteps: 0, base: 1) - 0.5) < 1e-15)
    }
}
