// Attention with linear biases (Press et al. 2021, arXiv:2108.12409) as BLOOM builds them:
// transformers `models/bloom/modeling_bloom.py` `build_alibi_tensor`, slopes in float32.
import Foundation

/// ALiBi slopes and the per-key bias they give; the bias goes to `Attention` as `AttentionOptions.bias`.
public enum ALiBi {
    /// One slope per head, (H). For a power of two n: 2^(−8/n)^(1…n). Otherwise the n′ = 2^⌊log2 n⌋ slopes,
    /// then every other slope of the 2n′ sequence (odd powers of 2^(−8/2n′)) until there are n.
    public static func slopes(heads: Int) -> [Float] {
        precondition(heads > 0, "ALiBi needs at least one head")
        let closest = 1 << (Int.bitWidth - 1 - heads.leadingZeroBitCount)
        // BLOOM: base = 2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3))) in Python, then a float32 tensor.
        let base = Float(Foundation.pow(2.0, -Foundation.pow(2.0, -(log2(Double(closest)) - 3))))
        var slopes = (1...closest).map { Foundation.pow(base, Float($0)) }
        if closest != heads {
            let extraBase = Float(Foundation.pow(2.0, -Foundation.pow(2.0, -(log2(Double(2 * closest)) - 3))))
            let remaining = min(closest, heads - closest)
            slopes += stride(from: 1, to: 1 + 2 * remaining, by: 2).map { Foundation.pow(extraBase, Float($0)) }
        }
        return slopes
    }

    /// BLOOM's key positions `(attention_mask.cumsum(-1) − 1) · attention_mask`, (B·T) in (b, t) order:
    /// a left-padded row counts its real tokens from 0, and padding gets 0. mask is (B·T), true for real tokens.
    public static func keyPositions(mask: [Bool], batch: Int, steps: Int) -> [Float] {
        precondition(mask.count == batch * steps, "mask has \(mask.count) entries for B·T = \(batch * steps)")
        var positions = [Float](repeating: 0, count: mask.count)
        for b in 0..<batch {
            var seen = 0
            for t in 0..<steps where mask[b * steps + t] {
                positions[b * steps + t] = Float(seen)
                seen += 1
            }
        }
        return positions
    }

    /// The additive bias slope[h] · position[b, j], (B, H, T): one value per key, broadcast over queries by
    /// `Attention` (equivalent to −slope·(i − j) after the softmax, which ignores per-row constants).
    public static func bias(slopes: [Float], keyPositions: [Float], batch: Int) -> Tensor {
        let steps = batch == 0 ? 0 : keyPositions.count / batch
        precondition(keyPositions.count == batch * steps, "\(keyPositions.count) positions for batch \(batch)")
        var bias = Tensor(zeros: [batch, slopes.count, steps])
        for b in 0..<batch {
            for (h, slope) in slopes.enumerated() {
                for t in 0..<steps { bias.storage[(b * slopes.count + h) * steps + t] = slope * keyPositions[b * steps + t] }
            }
        }
        return bias
    }
}
