// Rotary position embeddings (Su et al. 2021, arXiv:2104.09864), forward and backward, in the two layouts
// checkpoints use, with partial rotary and transformers' frequency scalings. Every step is Float32 in the
// same order as transformers (`modeling_rope_utils.py`, `LlamaRotaryEmbedding.forward`): the angle is one
// float32 product position × inv_freq, then cos/sin of it.
import Foundation

/// How the rotated dimensions of a head are paired.
public enum RoPELayout: Sendable {
    /// Dimension i pairs with i + rotaryDim/2 (HF `rotate_half`: LLaMA, Qwen, Mistral, GPT-NeoX).
    case halfSplit
    /// Dimension 2i pairs with 2i + 1 (GPT-J, ChatGLM, GLM-4's `rotate_half` on `x[..., 0::2]`/`x[..., 1::2]`).
    case interleaved
}

/// A frequency scaling from `rope_scaling` / `rope_parameters`.
public enum RoPEScaling: Sendable, Equatable {
    /// Plain inverse frequencies (`rope_type` "default").
    case none
    /// "linear": positions divided by `factor`, done as transformers does it, inv_freq / factor.
    case linear(factor: Float)
    /// "llama3": transformers' `_compute_llama3_parameters`: long wavelengths divided by `factor`, short ones
    /// kept, and the band between smoothly interpolated.
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalMaxPositionEmbeddings: Int)
    /// "yarn": transformers' `_compute_yarn_parameters` (truncated correction range): frequencies above the
    /// `betaFast` band kept, below `betaSlow` divided by `factor`, a linear ramp between. Its cos/sin factor
    /// comes from `RoPE.yarnAttentionFactor`.
    case yarn(factor: Float, originalMaxPositionEmbeddings: Int, betaFast: Double, betaSlow: Double)
}

/// cos and sin of every (row position, frequency), shared by q and k.
public struct RoPETable: Sendable {
    /// cos(position · inv_freq), (N, R/2) with N = B·T rows and R = rotaryDim.
    public var cos: [Float]
    /// sin(position · inv_freq), (N, R/2).
    public var sin: [Float]
    /// R/2, the number of frequencies.
    public var frequencies: Int
    /// Rotate as llama.cpp's compiled C does (GCC contracts x0·cos − x1·sin to fma(x0, cos, −(x1·sin)) and
    /// x0·sin + x1·cos to fma(x0, sin, x1·cos)); set by `LlamaCpp.table`.
    public var fused = false
}

/// Rotary embeddings on (B, H, T, D) tensors, rotating the first `rotaryDim` (R) dims of each head.
public enum RoPE {
    /// The angles as llama.cpp computes them (ggml `ggml_rope_cache_init` / `rope_yarn` without YaRN): per position, θ
    /// starts at the position and is multiplied by base^(−2/R) once per frequency in float32, each θ divided by that
    /// frequency's factor (a Llama 3.1 file's `rope_freqs`) and multiplied by `freqScale` (linear scaling). The
    /// repeated product rounds differently from position × inverse frequency from position 3 on, which is enough to
    /// move a quantised model's float16 keys and logits.
    public struct LlamaCpp: Sendable, Equatable {
        /// `rope.freq_base`.
        public var base: Float
        /// R, the rotated dims per head.
        public var rotaryDim: Int
        /// Per-frequency divisors (R/2), or nil.
        public var divisors: [Float]?
        /// 1 / the linear scaling factor (1 without scaling).
        public var freqScale: Float

        /// Settings for a file's rope metadata.
        public init(base: Float, rotaryDim: Int, divisors: [Float]? = nil, freqScale: Float = 1) {
            (self.base, self.rotaryDim, self.divisors, self.freqScale) = (base, rotaryDim, divisors, freqScale)
        }

        /// cos/sin rows for `positions`.
        public func table(positions: [Int]) -> RoPETable {
            let half = rotaryDim / 2
            let step = Foundation.pow(base, -2 / Float(rotaryDim))
            var cosines = [Float](repeating: 0, count: positions.count * half)
            var sines = cosines
            for (row, position) in positions.enumerated() {
                var theta = Float(position)
                for i in 0..<half {
                    let angle = freqScale * (theta / (divisors?[i] ?? 1))
                    cosines[row * half + i] = Foundation.cos(angle)
                    sines[row * half + i] = Foundation.sin(angle)
                    theta *= step
                }
            }
            return RoPETable(cos: cosines, sin: sines, frequencies: half, fused: true)
        }
    }

    /// The R/2 inverse frequencies `1 / theta^(2i/R)` in Float32, then the scaling (transformers'
    /// `_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`, `_compute_llama3_parameters`).
    public static func inverseFrequencies(rotaryDim: Int, theta: Float, scaling: RoPEScaling = .none) -> [Float] {
        precondition(rotaryDim > 0 && rotaryDim % 2 == 0, "rotary dim \(rotaryDim) must be positive and even")
        // torch: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), each step in float32.
        let base = (0..<rotaryDim / 2).map { i in 1 / pow(theta, Float(2 * i) / Float(rotaryDim)) }
        switch scaling {
        case .none:
            return base
        case .linear(let factor):
            return base.map { $0 / factor }
        case .llama3(let factor, let low, let high, let original):
            let lowFrequencyWavelength = Float(original) / low
            let highFrequencyWavelength = Float(original) / high
            return base.map { inverse in
                // `2 * math.pi / inv_freq` is torch's `__rtruediv__`, reciprocal() · scalar, in float32.
                let wavelength = (1 / inverse) * Float(2 * Double.pi)
                if wavelength < highFrequencyWavelength { return inverse }
                if wavelength > lowFrequencyWavelength { return inverse / factor }
                // smooth = (old_context_len / wavelen − low) / (high − low) (again reciprocal · scalar), then
                // (1 − smooth) · inv_freq / factor + smooth · inv_freq, in that float32 order.
                let smooth = ((1 / wavelength) * Float(original) - low) / (high - low)
                return (1 - smooth) * inverse / factor + smooth * inverse
            }
        case .yarn(let factor, let original, let betaFast, let betaSlow):
            // find_correction_dim / find_correction_range in Python doubles, floored/ceiled and clamped.
            func correctionDimension(_ rotations: Double) -> Double {
                Double(rotaryDim) * Foundation.log(Double(original) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(Double(theta)))
            }
            let low = Swift.max(correctionDimension(betaFast).rounded(.down), 0)
            var high = Swift.min(correctionDimension(betaSlow).rounded(.up), Double(rotaryDim - 1))
            if low == high { high += 0.001 }
            return (0..<rotaryDim / 2).map { i in
                // 1/pos_freq, 1/(factor·pos_freq) and the clamped float32 ramp (i − low)/(high − low), blended in torch's order.
                let positionFrequency = pow(theta, Float(2 * i) / Float(rotaryDim))
                let extrapolation = 1 / positionFrequency
                let interpolation = 1 / (factor * positionFrequency)
                let ramp = Swift.min(Swift.max((Float(i) - Float(low)) / Float(high - low), 0), 1)
                let extrapolationFactor = 1 - ramp
                return interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor
            }
        }
    }

    /// YaRN's cos/sin multiplier (`attention_factor`): given, else mscale(factor, mscale) / mscale(factor,
    /// mscale_all_dim) when both are set and non-zero, else mscale(factor), with mscale(s, m) = 0.1·m·ln s + 1 (1 for s ≤ 1).
    public static func yarnAttentionFactor(factor: Double, mscale: Double?, mscaleAllDim: Double?, attentionFactor: Double?) -> Double {
        if let attentionFactor { return attentionFactor }
        if let mscale, let mscaleAllDim, mscale != 0, mscaleAllDim != 0 {
            return yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim)
        }
        return yarnMscale(factor, 1)
    }

    /// `yarn_get_mscale`.
    public static func yarnMscale(_ scale: Double, _ mscale: Double) -> Double {
        scale <= 1 ? 1 : 0.1 * mscale * Foundation.log(scale) + 1
    }

    /// The cos/sin table for one position per row (positions is (B·T), e.g. `position_ids` flattened);
    /// `attentionScaling` multiplies both, as transformers does (1 for default, linear and llama3).
    public static func table(positions: [Int], inverseFrequencies: [Float], attentionScaling: Float = 1) -> RoPETable {
        let half = inverseFrequencies.count
        var cosines = [Float](repeating: 0, count: positions.count * half)
        var sines = cosines
        for (row, position) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(position) * inverseFrequencies[i]
                cosines[row * half + i] = Foundation.cos(angle) * attentionScaling
                sines[row * half + i] = Foundation.sin(angle) * attentionScaling
            }
        }
        return RoPETable(cos: cosines, sin: sines, frequencies: half)
    }

    /// x is (B, H, T, D), table rows are (B·T) in (b, t) order; rotates dims 0..<2·frequencies of each head,
    /// passes the rest through. Returns a tensor of x's shape.
    public static func forward(_ x: Tensor, table: RoPETable, layout: RoPELayout) -> Tensor {
        rotate(x, table: table, layout: layout, direction: 1)
    }

    /// Backward: the rotation is orthogonal, so dx is dy rotated by −θ. In the forward pass this was:
    /// y = x·cos + rotate(x)·sin.
    public static func backward(_ dy: Tensor, table: RoPETable, layout: RoPELayout) -> Tensor {
        rotate(dy, table: table, layout: layout, direction: -1)
    }

    static func rotate(_ x: Tensor, table: RoPETable, layout: RoPELayout, direction: Float) -> Tensor {
        precondition(x.rank == 4, "RoPE expects (B, H, T, D), got \(x.shape)")
        let (batch, heads, steps, headDim) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let half = table.frequencies
        precondition(2 * half <= headDim, "rotary dim \(2 * half) exceeds head dim \(headDim)")
        precondition(table.cos.count == batch * steps * half, "table has \(table.cos.count / max(1, half)) rows for B·T = \(batch * steps)")
        var y = x
        x.withPointer { xp in
            y.withMutablePointer { yp in
                table.cos.withUnsafeBufferPointer { cp in
                    table.sin.withUnsafeBufferPointer { sp in
                        Parallel.rows(batch * heads * steps, minimumPerTask: Parallel.minimumRows(width: headDim)) { range in
                            for vector in range {
                                let b = vector / (heads * steps), t = vector % steps
                                let base = vector * headDim, row = (b * steps + t) * half
                                for i in 0..<half {
                                    let c = cp[row + i], s = direction * sp[row + i]
                                    let (first, second) = layout == .halfSplit ? (i, i + half) : (2 * i, 2 * i + 1)
                                    let x1 = xp[base + first], x2 = xp[base + second]
                                    // HF: q * cos + rotate_half(q) * sin, rotate_half(x) = (−x2, x1).
                                    if table.fused {
                                        yp[base + first] = (-(x2 * s)).addingProduct(x1, c)
                                        yp[base + second] = (x2 * c).addingProduct(x1, s)
                                    } else {
                                        yp[base + first] = x1 * c - x2 * s
                                        yp[base + second] = x2 * c + x1 * s
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
