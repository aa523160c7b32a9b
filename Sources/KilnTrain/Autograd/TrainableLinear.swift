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
        let down = MatMul.forward(adapterInput, weight: lora.a.value)  // (N, r)
        let up = MatMul.forward(down, weight: lora.b.value)  // (N, OC)
        let s = lora.scaling
        y.withMutablePointer { yp in up.withPointer { upp in for index in 0..<up.count { yp[index] += s * upp[index] } } }
        return record(y, inputs: [x], tracked: true) { dy in
            var dDown = Tensor(zeros: [rows, rank])
            dy.withPointer { dyp in
                down.withPointer { dp in
                    // dB += s · dyᵀ down
                    lora.b.gradient.withMutablePointer {
                        BLAS.sgemm(transposeA: true, m: outer, n: rank, k: rows, alpha: s, a: dyp, b: dp, beta: 1, c: $0)
                    }
                }
                lora.b.value.withPointer { bp in
                    dDown.withMutablePointer { BLAS.sgemm(m: rows, n: rank, k: outer, alpha: s, a: dyp, b: bp, c: $0) }
                }
            }
            dDown.withPointer { ddp in
                adapterInput.withPointer { xp in
                    // dA += dDownᵀ dropout(x)
                    lora.a.gradient.withMutablePointer {
                        BLAS.sgemm(transposeA: true, m: rank, n: inner, k: rows, a: ddp, b: xp, beta: 1, c: $0)
                    }
                }
            }
            guard needsInput else { return [nil] }
            var dx = weight.backwardInput(dy)
            var viaAdapter = Tensor(zeros: dx.shape)
            dDown.withPointer { ddp in
                lora.a.value.withPointer { ap in
                    viaAdapter.withMutablePointer { BLAS.sgemm(m: rows, n: inner, k: rank, a: ddp, b: ap, c: $0) }
                }
            }
            if let mask { for index in mask.indices { viaAdapter.storage[index] *= mask[index] } }
            TensorMath.accumulate(viaAdapter, into: &dx)
            return [dx]
        }
    }
}
