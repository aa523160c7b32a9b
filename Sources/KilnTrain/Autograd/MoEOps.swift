// The operations a mixture-of-experts layer and multi-head latent attention need beyond a dense decoder's: rows
// picked per expert, expert outputs combined with differentiable routing weights, and one key head shared by all.
import Foundation
import KilnTensor

extension Tape {
    /// Rows `rows` of a (N, C) value, in that order: (rows.count, C).
    public func gather(_ x: Variable, rows: [Int]) -> Variable {
        let width = x.value.shape.last!, count = x.value.count / width
        var y = Tensor(zeros: [rows.count, width])
        for (i, row) in rows.enumerated() {
            y.storage.replaceSubrange((i * width)..<((i + 1) * width), with: x.value.storage[(row * width)..<((row + 1) * width)])
        }
        return record(y, inputs: [x]) { dy in
            var dx = Tensor(zeros: [count, width])
            for (i, row) in rows.enumerated() {
                for j in 0..<width { dx.storage[row * width + j] += dy.storage[i * width + j] }
            }
            return [dx]
        }
    }

    /// (B, 1, T, D) → (B, heads, T, D), the one head repeated; its gradient sums over the heads.
    public func broadcastHeads(_ x: Variable, heads: Int) -> Variable {
        let (batch, steps, width) = (x.value.shape[0], x.value.shape[2], x.value.shape[3])
        let slab = steps * width
        var y = Tensor(zeros: [batch, heads, steps, width])
        for b in 0..<batch {
            for h in 0..<heads {
                y.storage.replaceSubrange(((b * heads + h) * slab)..<((b * heads + h + 1) * slab), with: x.value.storage[(b * slab)..<((b + 1) * slab)])
            }
        }
        return record(y, inputs: [x]) { dy in
            var dx = Tensor(zeros: [batch, 1, steps, width])
            for b in 0..<batch {
                for h in 0..<heads {
                    for i in 0..<slab { dx.storage[b * slab + i] += dy.storage[(b * heads + h) * slab + i] }
                }
            }
            return [dx]
        }
    }

    /// DeepSeek-V3's routing weights for fixed choices: for token n and its experts `indices[n]`,
    /// `scale · σ(l[n, e]) / (Σ_chosen σ(l[n, ·]) + 1e-20)` (without the division when `normalize` is false); (N, K).
    public func routingWeights(logits: Variable, indices: [[Int]], normalize: Bool, scale: Float) -> Variable {
        let experts = logits.value.shape.last!, k = indices.first?.count ?? 0
        var sigmoids = [Float](), sums = [Float](), y = Tensor(zeros: [indices.count, k])
        for (n, chosen) in indices.enumerated() {
            let s = chosen.map { 1 / (1 + Foundation.exp(-logits.value.storage[n * experts + $0])) }
            let total = normalize ? s.reduce(0, +) + 1e-20 : 1
            sigmoids += s
            sums.append(total)
            for j in 0..<k { y.storage[n * k + j] = s[j] / total * scale }
        }
        let shape = logits.value.shape
        return record(y, inputs: [logits]) { dy in
            var dx = Tensor(zeros: shape)
            for (n, chosen) in indices.enumerated() {
                // w_j = c·s_j / S, S = Σ s_i: ∂w_j/∂s_i = c(δ_ij / S − s_j / S²); ∂s_i/∂l_i = s_i(1 − s_i).
                let total = sums[n]
                var dotted: Float = 0
                for j in 0..<k { dotted += dy.storage[n * k + j] * sigmoids[n * k + j] }
                for (i, expert) in chosen.enumerated() {
                    let s = sigmoids[n * k + i]
                    var ds = dy.storage[n * k + i] * scale / total
                    if normalize { ds -= scale * dotted / (total * total) }
                    dx.storage[n * experts + expert] += ds * s * (1 - s)
                }
            }
            return [dx]
        }
    }

    /// Σ over each token's chosen experts of weight × that expert's output row: `outputs[e]` holds the rows of the
    /// tokens routed to expert e (in `routes[e]` order, each route being (token, slot)); returns (tokens, C).
    public func combineExperts(_ outputs: [Variable], routes: [[(token: Int, slot: Int)]], weights: Variable, tokens: Int) -> Variable {
        let width = outputs.first(where: { $0.value.count > 0 })?.value.shape.last ?? 0, k = weights.value.shape.last!
        var y = Tensor(zeros: [tokens, width])
        for (e, output) in outputs.enumerated() {
            for (row, route) in routes[e].enumerated() {
                let w = weights.value.storage[route.token * k + route.slot]
                for j in 0..<width { y.storage[route.token * width + j] += output.value.storage[row * width + j] * w }
            }
        }
        return record(y, inputs: outputs + [weights]) { dy in
            var dWeights = Tensor(zeros: weights.value.shape)
            var grads: [Tensor?] = outputs.enumerated().map { e, output in
                var d = Tensor(zeros: output.value.shape)
                for (row, route) in routes[e].enumerated() {
                    let w = weights.value.storage[route.token * k + route.slot]
                    var dot: Float = 0
                    for j in 0..<width {
                        d.storage[row * width + j] = dy.storage[route.token * width + j] * w
                        dot += dy.storage[route.token * width + j] * output.value.storage[row * width + j]
                    }
                    dWeights.storage[route.token * k + route.slot] += dot
                }
                return d
            }
            grads.append(dWeights)
            return grads
        }
    }
}
