// Learning-rate schedules with transformers' semantics (get_*_schedule_with_warmup), as HF Trainer applies them.
import Foundation

/// How the learning rate moves over a run.
public enum LRSchedule: String, Sendable, CaseIterable, Codable {
    /// The base rate throughout; warmup is ignored, as transformers' `constant` does.
    case constant
    /// Linear warmup from 0, then the base rate.
    case constantWithWarmup = "constant_with_warmup"
    /// Linear warmup from 0, then linear decay to 0 at the last step.
    case linear
    /// Linear warmup from 0, then half a cosine down to 0 at the last step.
    case cosine

    /// The rate optimiser step `step` (1-based) uses, of `totalSteps`, after `warmupSteps`: `base · f(step − 1)`.
    /// The first step of a warmup uses 0, as Trainer logs it (the scheduler is read before it advances).
    public func rate(step: Int, totalSteps: Int, warmupSteps: Int, base: Double) -> Double {
        let s = Double(step - 1), warmup = Double(warmupSteps), total = Double(totalSteps)
        let warming = self != .constant && s < warmup
        if warming { return base * s / max(1, warmup) }
        switch self {
        case .constant, .constantWithWarmup:
            return base
        case .linear:
            return base * max(0, (total - s) / max(1, total - warmup))
        case .cosine:
            let progress = (s - warmup) / max(1, total - warmup)
            return base * max(0, 0.5 * (1 + Foundation.cos(Double.pi * progress)))
        }
    }
}

/// Which micro-batches each optimiser step of an epoch takes, as Trainer 5.24 groups them: `accumulation` at a time,
/// the last step of an epoch taking what remains (a short step), every epoch the same.
public struct StepPlan: Sendable, Equatable {
    /// Micro-batch indices (within an epoch) per optimiser step of one epoch.
    public let stepsPerEpoch: [[Int]]
    /// Epochs.
    public let epochs: Int

    /// The plan for `items` training items in micro-batches of `microBatch`, accumulating `accumulation`, over `epochs`.
    /// A partial last micro-batch is kept (no drop_last).
    public init(items: Int, microBatch: Int, accumulation: Int, epochs: Int) {
        let micro = (items + microBatch - 1) / microBatch
        stepsPerEpoch = stride(from: 0, to: micro, by: accumulation).map { Array($0..<min($0 + accumulation, micro)) }
        self.epochs = epochs
    }

    /// Optimiser steps in the whole run.
    public var totalSteps: Int { stepsPerEpoch.count * epochs }

    /// The epoch (1-based) and micro-batches of optimiser step `step` (1-based).
    public func step(_ step: Int) -> (epoch: Int, microBatches: [Int]) {
        let index = step - 1
        return (index / stepsPerEpoch.count + 1, stepsPerEpoch[index % stepsPerEpoch.count])
    }
}

/// Clipping by global norm, as `torch.nn.utils.clip_grad_norm_`: the L2 norm over every gradient, then every gradient
/// scaled by `min(1, maxNorm / (norm + 1e-6))`.
public enum GradientClipping {
    /// Clips `gradients` in place and returns the norm before clipping (what Trainer logs as `grad_norm`).
    @discardableResult
    public static func clip(_ gradients: inout [[Float]], maxNorm: Double) -> Float {
        // torch takes each tensor's float32 norm, then the norm of those norms.
        let norms = gradients.map { values in values.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() }
        let total = norms.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        let coefficient = min(Float(1), Float(maxNorm) / (total + 1e-6))
        if coefficient < 1 {
            for index in gradients.indices {
                for element in gradients[index].indices { gradients[index][element] *= coefficient }
            }
        }
        return total
    }
}
