// Moving attention heads between the projection layout and the attention layout, forward and backward
// (HF `view(B, T, H, D).transpose(1, 2)` and its inverse). Each is the other's backward.
import Foundation

/// Reshapes between (B, T, H·D), the output of the q/k/v projections, and (B, H, T, D), the layout of `Attention` and `RoPE`.
public enum Heads {
    /// x is (B, T, H·D); returns (B, H, T, D).
    public static func split(_ x: Tensor, heads: Int) -> Tensor {
        precondition(x.rank == 3 && heads > 0 && x.shape[2] % heads == 0, "cannot split \(x.shape) into \(heads) heads")
        return split(x, parts: 1, heads: heads)[0]
    }

    /// x is a fused projection (B, T, parts·H·D) (GPT-2's and BLOOM's q|k|v); returns each part's (B, H, T, D), copied
    /// once rather than through a split of the last dimension and then of the heads.
    public static func split(_ x: Tensor, parts: Int, heads: Int) -> [Tensor] {
        precondition(x.rank == 3 && parts > 0 && heads > 0 && x.shape[2] % (parts * heads) == 0,
                     "cannot split \(x.shape) into \(parts) parts of \(heads) heads")
        let (batch, steps, headDim) = (x.shape[0], x.shape[1], x.shape[2] / (parts * heads))
        return (0..<parts).map { part in
            var y = Tensor(unfilled: [batch, heads, steps, headDim])
            x.withPointer { xp in
                y.withMutablePointer { yp in
                    for b in 0..<batch {
                        for t in 0..<steps {
                            let token = xp + ((b * steps + t) * parts + part) * heads * headDim
                            for h in 0..<heads {
                                (yp + ((b * heads + h) * steps + t) * headDim).update(from: token + h * headDim, count: headDim)
                            }
                        }
                    }
                }
            }
            return y
        }
    }

    /// Backward of `split`: dy (B, H, T, D) → dx (B, T, H·D). In the forward pass this was: y = split(x).
    public static func splitBackward(_ dy: Tensor) -> Tensor { merge(dy) }

    /// x is (B, H, T, D); returns (B, T, H·D), the input of the output projection.
    public static func merge(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "cannot merge heads of \(x.shape)")
        let (batch, heads, steps, headDim) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = Tensor(unfilled: [batch, steps, heads * headDim])
        x.withPointer { xp in
            y.withMutablePointer { yp in
                for b in 0..<batch {
                    for t in 0..<steps {
                        for h in 0..<heads {
                            (yp + ((b * steps + t) * heads + h) * headDim).update(from: xp + ((b * heads + h) * steps + t) * headDim,
                                                                                 count: headDim)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Backward of `merge`: dy (B, T, H·D) → dx (B, H, T, D). In the forward pass this was: y = merge(x).
    public static func mergeBackward(_ dy: Tensor, heads: Int) -> Tensor { split(dy, heads: heads) }
}
