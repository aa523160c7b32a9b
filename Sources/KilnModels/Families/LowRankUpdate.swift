// A LoRA update run beside its frozen weight, unmerged, so one base can serve with one or more adapters.
import KilnTensor

/// `y += scaling · (x Aᵀ) Bᵀ` for a linear layer: A (r, C), B (OC, r), as PEFT's `lora.Linear.forward` adds it.
public struct LowRankUpdate: Sendable {
    /// A, (r, C).
    public let a: Tensor
    /// B, (OC, r).
    public let b: Tensor
    /// alpha / r (or alpha / √r with rsLoRA).
    public let scaling: Float

    /// An update; `a` is (r, C) and `b` (OC, r).
    public init(a: Tensor, b: Tensor, scaling: Float) {
        self.a = a
        self.b = b
        self.scaling = scaling
    }

    /// Adds the update for input `x` (…, C) to the layer's output `y` (…, OC).
    func add(to y: inout Tensor, input x: Tensor) {
        let update = MatMul.forward(MatMul.forward(x, weight: a), weight: b)
        for index in y.storage.indices { y.storage[index] += scaling * update.storage[index] }
    }
}

/// Unmerged adapters by the name of the weight they update (`model.layers.0.self_attn.q_proj.weight`), in order.
public typealias AdapterUpdates = [String: [LowRankUpdate]]

extension CheckpointTensors {
    /// The updates for the (OC, C) weight `name`, shape-checked.
    /// - Throws: `ModelError.wrongShape` naming the adapter tensor that does not fit.
    func updates(_ name: String, outputs: Int, inputs: Int) throws(ModelError) -> [LowRankUpdate] {
        let found = adapters[name] ?? []
        for update in found {
            let rank = update.a.shape.first ?? 0
            guard update.a.shape == [rank, inputs] else { throw .wrongShape(tensor: "\(name) lora_A", expected: [rank, inputs], found: update.a.shape) }
            guard update.b.shape == [outputs, rank] else { throw .wrongShape(tensor: "\(name) lora_B", expected: [outputs, rank], found: update.b.shape) }
        }
        return found
    }
}
