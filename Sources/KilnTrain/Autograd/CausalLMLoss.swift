// transformers' causal-LM loss (`ForCausalLMLoss`) fused with the LM head: labels shifted left by one (the last
// position predicts nothing), -100 ignored, float32 cross-entropy summed over the remaining tokens and divided by a
// count: the tokens of the batch ("mean"), or the tokens of the whole optimiser step when Trainer passes
// `num_items_in_batch`.
//
// The (B, T, V) logits are never held whole: rows that carry a label go through the head a chunk at a time, and each
// chunk's softmax gradient is multiplied back through the head at once, so only (B, T, C) survives to backward. With
// V in the tens of thousands the logits, their gradient and the probabilities were the largest tensors of a step
// (3 × 200 MB for SmolLM2 at 1024 tokens) and their fresh pages alone cost a fifth of the step. Rows without a label
// (prompts, padding, each row's last position) cost nothing.
import Foundation
import KilnTensor

/// The ignored label id.
public let ignoredLabel = -100

extension Tape {
    /// Σ cross-entropy of `hidden · headᵀ` (hidden: B, T, C) against `labels` (B, T) shifted by one, divided by
    /// `divisor`; a scalar. Also returns the undivided sum and the number of tokens it covers.
    public func causalLMLoss(hidden: Variable, head: FrozenMatrix, labels: [[Int]], divisor: Float) -> (loss: Variable, sum: Double, tokens: Int) {
        let (batch, steps, width) = (hidden.value.shape[0], hidden.value.shape[1], hidden.value.shape[2])
        let vocabulary = head.shape[0]
        precondition(head.shape[1] == width, "head \(head.shape) for hidden states \(hidden.value.shape)")
        precondition(labels.count == batch && labels.allSatisfy { $0.count == steps }, "labels do not match hidden states \(hidden.value.shape)")
        // Row r = b·T + t predicts labels[b][t + 1].
        var active: [(row: Int, target: Int)] = []
        for b in 0..<batch {
            for t in 0..<(steps - 1) where labels[b][t + 1] != ignoredLabel {
                let target = labels[b][t + 1]
                precondition(target >= 0 && target < vocabulary, "label \(target) outside the vocabulary")
                active.append((b * steps + t, target))
            }
        }
        let wantsGradient = isRecording && hidden.needsGradient
        var losses = [Float](repeating: 0, count: active.count)
        var dHidden = wantsGradient ? Tensor(zeros: hidden.value.shape) : nil
        let chunk = max(1, min(active.count, Self.lossChunkRows(head: head)))
        // One chunk's rows of hidden states, logits and input gradient, reused by every chunk.
        var x = [Float](repeating: 0, count: chunk * width)
        var logits = [Float](repeating: 0, count: chunk * vocabulary)
        var dx = [Float](repeating: 0, count: wantsGradient ? chunk * width : 0)
        let scale = 1 / divisor
        hidden.value.withPointer { hp in
            x.withUnsafeMutableBufferPointer { xb in
                logits.withUnsafeMutableBufferPointer { lb in
                    dx.withUnsafeMutableBufferPointer { db in
                        losses.withUnsafeMutableBufferPointer { ob in
                            let (xp, lp, dp, op) = (xb.baseAddress!, lb.baseAddress!, db.baseAddress, ob.baseAddress!)
                            for start in stride(from: 0, to: active.count, by: chunk) {
                                let part = active[start..<min(active.count, start + chunk)]
                                for (index, item) in part.enumerated() { (xp + index * width).update(from: hp + item.row * width, count: width) }
                                head.forward(xp, rows: part.count, into: lp)
                                let targets = part.map(\.target)
                                nonisolated(unsafe) let (o, l) = (op + start, lp)
                                Parallel.rows(targets.count, minimumPerTask: Parallel.minimumRows(width: vocabulary)) { range in
                                    for index in range {
                                        let values = l + index * vocabulary, target = targets[index]
                                        let chosen = values[target]
                                        let largest = Vector.max(values, vocabulary)
                                        // Softmax in place: e^(v − max), then divided by the row's sum.
                                        let total = Vector.shiftedExp(values, shift: largest, into: values, vocabulary)
                                        o[index] = Foundation.log(total) + largest - chosen
                                        guard wantsGradient else { continue }
                                        Vector.scale(values, by: scale / total, into: values, vocabulary)
                                        values[target] -= scale
                                    }
                                }
                                guard wantsGradient, let dp else { continue }
                                // This chunk's share of dHidden = (softmax − onehot) / divisor · head, for a seed of 1.
                                head.backwardInput(lp, rows: part.count, into: dp)
                                dHidden!.withMutablePointer { gp in
                                    for (index, item) in part.enumerated() { (gp + item.row * width).update(from: dp + index * width, count: width) }
                                }
                            }
                        }
                    }
                }
            }
        }
        var sum: Float = 0, sumDouble: Double = 0
        for loss in losses {
            sum += loss
            sumDouble += Double(loss)
        }
        let value = Tensor(shape: [], storage: [sum / divisor])
        let loss = record(value, inputs: [hidden]) { dy in
            let seed = dy.storage[0]
            guard var gradient = dHidden else { return [nil] }
            let count = gradient.count
            if seed != 1 { gradient.withMutablePointer { Vector.scale($0, by: seed, into: $0, count) } }
            return [gradient]
        }
        return (loss, sumDouble, active.count)
    }

    /// Labelled rows per pass through the head: 256 keeps sgemm near its large-matrix speed (85 rows ran at half of
    /// it); a stored or NF4 head takes 512, since each pass widens all of it again.
    static func lossChunkRows(head: FrozenMatrix) -> Int {
        if case .dense = head { return 256 }
        return 512
    }
}
