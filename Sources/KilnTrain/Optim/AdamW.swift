// torch.optim.AdamW (Loshchilov & Hutter 2019: weight decay decoupled from the gradient), step for step as PyTorch computes it.
import Foundation

/// AdamW's moments for one parameter tensor and the number of steps taken.
public struct AdamWState: Sendable, Equatable {
    /// First moment m (torch's `exp_avg`).
    public var expAvg: [Float]
    /// Second moment v (torch's `exp_avg_sq`).
    public var expAvgSq: [Float]
    /// Steps taken, from 0.
    public var step: Int

    /// Moments restored from a checkpoint.
    public init(expAvg: [Float], expAvgSq: [Float], step: Int) {
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
        self.step = step
    }

    /// Zero moments for a parameter of `count` values, as torch creates them lazily on the first step.
    public init(count: Int) {
        expAvg = [Float](repeating: 0, count: count)
        expAvgSq = [Float](repeating: 0, count: count)
        step = 0
    }
}

/// The hyper-parameters of AdamW; the defaults are torch's except weight decay, which HF Trainer sets itself.
public struct AdamW: Sendable, Equatable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    public var weightDecay: Double = 0

    /// AdamW with these settings.
    public init(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// One step on `parameter` with `gradient` at learning rate `lr`, as `torch.optim.AdamW` (single-tensor, not amsgrad):
    /// decay `p *= 1 − lr·wd`; `m = lerp(m, g, 1 − β1)`; `v = β2·v + (1 − β2)·g²`; `p −= lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε)`.
    /// The bias corrections are Python floats (double); the element-wise work is float32, as torch does it on the CPU.
    /// - Precondition: the three arrays have the same length.
    public func step(_ parameter: inout [Float], gradient: [Float], state: inout AdamWState, lr: Double) {
        precondition(parameter.count == gradient.count && gradient.count == state.expAvg.count, "AdamW: mismatched lengths")
        state.step += 1
        let t = Double(state.step)
        let decay = Float(1 - lr * weightDecay)
        let weight1 = Float(1 - beta1)
        let beta2f = Float(beta2), oneMinusBeta2 = Float(1 - beta2)
        let stepSize = Float(lr / (1 - Foundation.pow(beta1, t)))
        let correction2 = Float((1 - Foundation.pow(beta2, t)).squareRoot())
        let epsilon = Float(eps)
        for index in parameter.indices {
            let g = gradient[index]
            if weightDecay != 0 { parameter[index] *= decay }
            // torch.lerp with weight < 0.5: start + weight·(end − start).
            let m = state.expAvg[index] + weight1 * (g - state.expAvg[index])
            let v = state.expAvgSq[index] * beta2f + oneMinusBeta2 * g * g
            state.expAvg[index] = m
            state.expAvgSq[index] = v
            let denominator = v.squareRoot() / correction2 + epsilon
            parameter[index] += -stepSize * (m / denominator)
        }
    }
}
