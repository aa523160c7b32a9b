// AdamW equals torch.optim.AdamW over two steps on the fixture adapters (Tests/Fixtures/README.md §4: step1, step2, moments).
import Foundation
import KilnModels
import Testing
@testable import KilnTrain

@Suite("AdamW as torch")
struct AdamWTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    @Test("Two steps from PEFT's gradients give torch's parameters and moments within 1e-5",
          arguments: ["gpt2", "llama", "qwen3", "bloom", "glm"])
    func twoSteps(family: String) throws {
        let folder = Self.models.appendingPathComponent(family).appendingPathComponent("lora")
        let initial = try SafeTensorsReader(url: folder.appendingPathComponent("adapter_model.safetensors"))
        let reference = try SafeTensorsReader(url: folder.appendingPathComponent("lora_reference.safetensors"))
        // The fixture's optimiser: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
        let optimizer = AdamW()
        var worst: Float = 0
        for key in initial.tensorNames {
            var parameter = try initial.floats(key)
            var state = AdamWState(count: parameter.count)
            optimizer.step(&parameter, gradient: try reference.floats("grad.\(key)"), state: &state, lr: 1e-3)
            worst = max(worst, maxAbsDifference(parameter, try reference.floats("step1.\(key)")))
            optimizer.step(&parameter, gradient: try reference.floats("step2.grad.\(key)"), state: &state, lr: 1e-3)
            worst = max(worst, maxAbsDifference(parameter, try reference.floats("step2.\(key)")))
            worst = max(worst, maxAbsDifference(state.expAvg, try reference.floats("step2.exp_avg.\(key)")))
            worst = max(worst, maxAbsDifference(state.expAvgSq, try reference.floats("step2.exp_avg_sq.\(key)")))
        }
        print("\(family) AdamW max abs diff over two steps: \(worst)")
        #expect(worst <= 1e-5, "\(family): \(worst)")
    }

    @Test("Weight decay is decoupled: p·(1 − lr·wd) before the Adam update, so a zero gradient still shrinks the weight")
    func decoupledDecay() {
        var parameter: [Float] = [2, -4]
        var state = AdamWState(count: 2)
        AdamW(weightDecay: 0.1).step(&parameter, gradient: [0, 0], state: &state, lr: 0.5)
        // m = v = 0, so the Adam term is 0 / (0 + eps) = 0 and only the decay acts: 2·(1 − 0.05), −4·(1 − 0.05).
        #expect(parameter == [1.9, -3.8])
    }
}
