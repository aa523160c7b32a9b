// The linear layer of the LLaMA-shaped families (and DeepSeek-V3's): a weight dense or in its stored encoding, an
// optional bias, and the LoRA updates and routed adapters added beside it. Projections of the same input (q, k, v; gate,
// up) go through as one product, which is where prefill transposes x once and decoding hands out their rows once.
import Foundation
import KilnTensor

/// A `nn.Linear`: weight (OC, C), dense or quantised, and an optional bias (OC).
struct LlamaLinear: Sendable {
    var weight: LinearWeight
    var bias: Tensor?
    /// LoRA updates added beside the frozen weight.
    var updates: [LowRankUpdate]
    /// The weight's name, and the per-row adapters of the model it belongs to (when loaded with slots).
    let name: String
    let slots: AdapterSlots?

    /// Takes `<name>.weight` (OC, C), when `bias` `<name>.bias` (OC), and any adapter updates of the weight.
    init(_ tensors: CheckpointTensors, _ name: String, outputs: Int, inputs: Int, bias: Bool) throws(ModelError) {
        weight = try tensors.takeLinear("\(name).weight", [outputs, inputs])
        self.bias = bias ? try tensors.take("\(name).bias", [outputs]) : nil
        updates = try tensors.updates("\(name).weight", outputs: outputs, inputs: inputs)
        self.name = "\(name).weight"
        slots = AdapterSlots.loading
        slots?.register(self.name, outputs: outputs, inputs: inputs)
    }

    /// x (…, C) → (…, OC).
    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = weight.apply(x, bias: bias)
        addUpdates(to: &y, input: x)
        return y
    }

    /// The LoRA updates and routed adapters on top of the base product y = x Wᵀ + b.
    func addUpdates(to y: inout Tensor, input x: Tensor) {
        for update in updates { update.add(to: &y, input: x) }
        if let slots, let rows = AdapterSlots.routing { slots.apply(name, to: &y, input: x, rows: rows) }
    }

    /// Projections of the same x (q, k, v; gate, up) as one product: Float32 weights transpose x once for prefill, and
    /// Float32 and exact bf16 weights share one hand-out of rows when decoding.
    static func apply(_ layers: [LlamaLinear], to x: Tensor) -> [Tensor] {
        let dense = layers.compactMap { layer -> Tensor? in
            if case .dense(let w) = layer.weight { return w }
            return nil
        }
        let stored = layers.compactMap { layer -> QuantizedMatrix? in
            if case .quantized(let q) = layer.weight { return q }
            return nil
        }
        var outputs: [Tensor]
        if dense.count == layers.count {
            outputs = MatMul.forward(x, sharing: dense, biases: layers.map(\.bias))
        } else if stored.count == layers.count {
            outputs = QuantizedMatMul.forward(x, sharing: stored, biases: layers.map(\.bias))
        } else {
            return layers.map { $0(x) }
        }
        for (i, layer) in layers.enumerated() { layer.addUpdates(to: &outputs[i], input: x) }
        return outputs
    }
}
