// transformers' causal-LM loss (`ForCausalLMLoss`): labels shifted left by one (the last position predicts nothing),
// -100 ignored, float32 cross-entropy summed over the remaining tokens and divided by a count: the tokens of the
// batch ("mean"), or the tokens of the whole optimiser step when Trainer passes `num_items_in_batch`.
import Foundation
import KilnTensor

/// The ignored label id.
public let ignoredLabel = -100

extension Tape {
    /// Σ cross-entropy of `logits` (B, T, V) against `labels` (B, T) shifted by one, divided by `divisor`; a scalar.
    /// Also returns the undivided sum and the number of tokens it covers.
    public func causalLMLoss(logits: Variable, labels: [[Int]], divisor: Float) -> (loss: Variable, sum: Double, tokens: Int) {
        let (batch, steps, vocabulary) = (logits.value.shape[0], logits.value.shape[1], logits.value.shape[2])
        precondition(labels.count == batch && labels.allSatisfy { $0.count == steps }, "labels do not match logits \(logits.value.shape)")
        // Row r = b·T + t predicts labels[b][t + 1].
        var targets = [Int](repeating: ignoredLabel, count: batch * steps)
        for b in 0..<batch {
            for t in 0..<(steps - 1) { targets[b * steps + t] = labels[b][t + 1] }
        }
        var logSumExp = [Float](repeating: 0, count: targets.count)
        var losses = [Float](repeating: 0, count: targets.count)
        logits.value.withPointer { lp in
            logSumExp.withUnsafeMutableBufferPointer { lse in
                losses.withUnsafeMutableBufferPointer { out in
                    let (lse, out) = (lse.baseAddress!, out.baseAddress!)
                    nonisolated(unsafe) let (l, o) = (lse, out)
                    Parallel.rows(targets.count, minimumPerTask: max(1, 16_384 / vocabulary)) { range in
                        for row in range where targets[row] != ignoredLabel {
                            let values = lp + row * vocabulary
                            var largest = -Float.infinity
                            for j in 0..<vocabulary { largest = max(largest, values[j]) }
                            var total: Float = 0
                            for j in 0..<vocabulary { total += Foundation.exp(values[j] - largest) }
                            l[row] = Foundation.log(total) + largest
                            o[row] = l[row] - values[targets[row]]
                        }
                    }
                }
            }
        }
        var sum: Float = 0, sumDouble: Double = 0, tokens = 0
        for row in targets.indices where targets[row] != ignoredLabel {
            precondition(targets[row] >= 0 && targets[row] < vocabulary, "label \(targets[row]) outside the vocabulary")
            sum += losses[row]
            sumDouble += Double(losses[row])
            tokens += 1
        }
        let value = Tensor(shape: [], storage: [sum / divisor])
        let shape = logits.value.shape
        let loss = record(value, inputs: [logits]) { dy in
            let factor = dy.storage[0] / divisor
            var dLogits = Tensor(zeros: shape)
            logits.value.withPointer { lp in
                dLogits.withMutablePointer { dp in
                    nonisolated(unsafe) let d = dp
                    Parallel.rows(targets.count, minimumPerTask: max(1, 16_384 / vocabulary)) { range in
                        for row in range where targets[row] != ignoredLabel {
                            let values = lp + row * vocabulary, out = d + row * vocabulary
                            let shift = logSumExp[row]
                            for j in 0..<vocabulary { out[j] = Foundation.exp(values[j] - shift) * factor }
                            out[targets[row]] -= factor
                        }
                    }
                }
            }
            return [dLogits]
        }
        return (loss, sumDouble, tokens)
    }
}
