// A linear layer of the training graph: a frozen base weight and, when LoRA targets it, a trainable low-rank
// pair beside it, computed as PEFT's `lora.Linear.forward` does: y = x Wᵀ + b + scaling · B(A(dropout(x))).
import KilnModels
import KilnTensor

/// The trainable pair of one adapted module.
public struct LoRAModule {
    /// A (r, C), PEFT's `lora_A.weight`.
    public let a: Parameter
    /// B (OC, r), PEFT's `lora_B.weight`.
    public let b: Parameter
    /// alpha / r, or alpha / √r with rsLoRA.
    public let scaling: Float
    /// Probability of zeroing an input element of the adapter path while training.
    public let dropout: Float

    /// A pair.
    public init(a: Parameter, b: Parameter, scaling: Float, dropout: Float) {
        self.a = a
        self.b = b
        self.scaling = scaling
        self.dropout = dropout
    }
}

/// One linear layer: frozen weight (OC, C), optional frozen bias, optional LoRA pair.
public struct TrainableLinear {
    /// The module's path in the checkpoint (`model.layers.0.self_attn.q_proj`).
    public let module: String
    /// The frozen weight.
    public let weight: FrozenMatrix
    /// The frozen bias (OC), if any.
    public let bias: Tensor?
    /// The adapter, when LoRA targets this module.
    public var lora: LoRAModule?

    /// A layer; `lora` is attached later by the adapter set.
    public init(module: String, weight: FrozenMatrix, bias: Tensor?) {
        self.module = module
        self.weight = weight
        self.bias = bias
    }

    /// (OC, C).
    public var outputs: Int { weight.shape[0] }
    public var inputs: Int { weight.shape[1] }
}

/// Inverted dropout masks from a seeded generator whose state a checkpoint can save (resume draws the same masks).
public struct DropoutSource: Sendable, Equatable {
    private var generator: SplitMix64

    /// A generator seeded with `seed` (or continuing from a saved `state`).
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// The generator's position, what a checkpoint saves.
    public var state: UInt64 { generator.state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { generator.next() }

    /// A uniform draw in [0, 1) from the next 24 high bits.
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// `count` multipliers: 0 with probability `p`, else 1 / (1 − p) (torch's `nn.Dropout` in training mode).
    public mutating func mask(count: Int, p: Float) -> [Float] {
        let keep = 1 / (1 - p)
        return (0..<count).map { _ in nextUnit() < p ? 0 : keep }
    }
}

extension Tape {
    /// `y = x Wᵀ + b (+ scaling · (dropout(x) Aᵀ) Bᵀ)`: x (…, C) → (…, OC). Gradients reach x through W and the pair, and
    /// accumulate into A and B; W and b get none.
    public func linear(_ x: Variable, _ layer: TrainableLinear, dropout: inout DropoutSource?) -> Variable {
        var y = layer.weight.forward(x.value, bias: layer.bias)
        let weight = layer.weight
        let needsInput = x.needsGradient
        guard let lora = layer.lora else {
            return record(y, inputs: [x]) { dy in [needsInput ? weight.backwardInput(dy) : nil] }
        }
        let (rows, inner, outer, rank) = (x.value.count / layer.inputs, layer.inputs, layer.outputs, lora.a.value.shape[0])
        var mask: [Float]? = nil
        var adapterInput = x.value
        if lora.dropout > 0, isRecording, var source = dropout {
            let drawn = source.mask(count: x.value.count, p: lora.dropout)
            dropout = source
            for index in drawn.indices { adapterInput.storage[index] *= drawn[index] }
            mask = drawn
        }
        // The r-wide products go through LowRank (OpenBLAS is slow at that width); Bᵀ (r, OC) is the basis both ways.
        let s = lora.scaling
        var down = Tensor(unfilled: [rows, rank])  // dropout(x) Aᵀ, (N, r)
        var bT = [Float](repeating: 0, count: rank * outer)
        lora.b.value.withPointer { bp in bT.withUnsafeMutableBufferPointer { SmallGemm.transpose(bp, rows: outer, columns: rank, ld: rank, into: $0.baseAddress!) } }
        adapterInput.withPointer { xp in
            lora.a.value.withPointer { ap in
                down.withMutablePointer { LowRank.project(xp, rows: rows, width: inner, basis: ap, rank: rank, into: $0) }
            }
        }
        down.withPointer { dp in
            bT.withUnsafeBufferPointer { bp in
                y.withMutablePointer { LowRank.combine(dp, rows: rows, rank: rank, basis: bp.baseAddress!, width: outer, scale: s, into: $0, accumulate: true) }
            }
        }
        return record(y, inputs: [x], tracked: true) { dy in
            var dDown = Tensor(unfilled: [rows, rank])  // s · dy B, (N, r)
            var dBT = [Float](repeating: 0, count: rank * outer)
            dy.withPointer { dyp in
                down.withPointer { dp in
                    // dB += s · dyᵀ down, summed as its transpose (r, OC).
                    dBT.withUnsafeMutableBufferPointer { LowRank.accumulateOuter(dp, rows: rows, rank: rank, x: dyp, width: outer, scale: s, into: $0.baseAddress!) }
                }
                bT.withUnsafeBufferPointer { bp in
                    dDown.withMutablePointer { LowRank.project(dyp, rows: rows, width: outer, basis: bp.baseAddress!, rank: rank, scale: s, into: $0) }
                }
            }
            lora.b.gradient.withMutablePointer { gp in
                for o in 0..<outer {
                    for k in 0..<rank { gp[o * rank + k] += dBT[k * outer + o] }
                }
            }
            dDown.withPointer { ddp in
                adapterInput.withPointer { xp in
                    // dA += dDownᵀ dropout(x)
                    lora.a.gradient.withMutablePointer { LowRank.accumulateOuter(ddp, rows: rows, rank: rank, x: xp, width: inner, into: $0) }
                }
            }
            guard needsInput else { return [nil] }
            var dx = weight.backwardInput(dy)
            dDown.withPointer { ddp in
                lora.a.value.withPointer { ap in
                    if let mask {
                        // The adapter saw dropout(x): its share of dx is masked the same way.
                        var viaAdapter = [Float](repeating: 0, count: dx.count)
                        viaAdapter.withUnsafeMutableBufferPointer {
                            LowRank.combine(ddp, rows: rows, rank: rank, basis: ap, width: inner, into: $0.baseAddress!, accumulate: false)
                        }
                        dx.withMutablePointer { dxp in for index in mask.indices { dxp[index] += viaAdapter[index] * mask[index] } }
                    } else {
                        dx.withMutablePointer { LowRank.combine(ddp, rows: rows, rank: rank, basis: ap, width: inner, into: $0, accumulate: true) }
                    }
                }
            }
            return [dx]
        }
    }
}
