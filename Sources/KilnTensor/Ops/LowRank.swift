// The products of a low-rank (LoRA) pair with full activations: one side of each is only r wide (8 or 16), where
// OpenBLAS ran at 15–30 GFLOP/s (its packing and thread hand-off cost more than the arithmetic; measured per call
// shape on `kiln-bench train`). Each kernel here streams the wide operand once, 16 lanes at a time, and splits the
// work across the cores so that no two tasks write the same element.
import Foundation

/// Products of (N, W) activations with an r-row basis, for small r.
public enum LowRank {
    /// out[i, k] = scale · Σ_c x[i, c] · basis[k, c]: x (rows, width) against basis (rank, width), out (rows, rank).
    public static func project(_ x: UnsafePointer<Float>, rows: Int, width: Int, basis: UnsafePointer<Float>, rank: Int,
                               scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let out = out
        Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width * rank)) { range in
            for i in range {
                let row = x + i * width
                for k in 0..<rank { out[i * rank + k] = scale * Vector.dot2(row, basis + k * width, width) }
            }
        }
    }

    /// out[i, :] (+)= scale · Σ_k coefficients[i, k] · basis[k, :]: coefficients (rows, rank), basis (rank, width), out
    /// (rows, width). Without `accumulate` every element of out is written.
    public static func combine(_ coefficients: UnsafePointer<Float>, rows: Int, rank: Int, basis: UnsafePointer<Float>,
                               width: Int, scale: Float = 1, into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        nonisolated(unsafe) let out = out
        Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width * rank)) { range in
            for i in range {
                let c = coefficients + i * rank, y = out + i * width
                var j = 0
                while j + Vector.width <= width {
                    var sum = Vector.Lanes(repeating: 0)
                    for k in 0..<rank { sum = sum.addingProduct(Vector.Lanes(repeating: c[k]), Vector.load(basis + k * width, j)) }
                    Vector.store(accumulate ? Vector.load(y, j).addingProduct(sum, scale) : sum * scale, y, j)
                    j += Vector.width
                }
                while j < width {
                    var sum: Float = 0
                    for k in 0..<rank { sum += c[k] * basis[k * width + j] }
                    y[j] = accumulate ? y[j] + scale * sum : scale * sum
                    j += 1
                }
            }
        }
    }

    /// gradient[k, :] += scale · Σ_i coefficients[i, k] · x[i, :]: coefficients (rows, rank), x (rows, width), gradient
    /// (rank, width). Split by column blocks, so each task owns its columns and sums its rows in order.
    public static func accumulateOuter(_ coefficients: UnsafePointer<Float>, rows: Int, rank: Int, x: UnsafePointer<Float>,
                                       width: Int, scale: Float = 1, into gradient: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let gradient = gradient
        let blocks = (width + Vector.width - 1) / Vector.width
        Parallel.rows(blocks, minimumPerTask: max(1, Parallel.minimumRows(width: rows * rank) / Vector.width)) { range in
            for block in range {
                let j = block * Vector.width
                guard j + Vector.width <= width else {
                    for column in j..<width {
                        for k in 0..<rank {
                            var sum: Float = 0
                            for i in 0..<rows { sum += coefficients[i * rank + k] * x[i * width + column] }
                            gradient[k * width + column] += scale * sum
                        }
                    }
                    continue
                }
                // Four of the r sums at a time, so consecutive FMAs do not wait on each other.
                var k = 0
                while k < rank {
                    let count = min(4, rank - k)
                    var s0 = Vector.Lanes(repeating: 0), s1 = s0, s2 = s0, s3 = s0
                    for i in 0..<rows {
                        let v = Vector.load(x + i * width, j), c = coefficients + i * rank + k
                        s0 = s0.addingProduct(Vector.Lanes(repeating: c[0]), v)
                        if count > 1 { s1 = s1.addingProduct(Vector.Lanes(repeating: c[1]), v) }
                        if count > 2 { s2 = s2.addingProduct(Vector.Lanes(repeating: c[2]), v) }
                        if count > 3 { s3 = s3.addingProduct(Vector.Lanes(repeating: c[3]), v) }
                    }
                    for (offset, sum) in [s0, s1, s2, s3].prefix(count).enumerated() {
                        let g = gradient + (k + offset) * width
                        Vector.store(Vector.load(g, j).addingProduct(sum, scale), g, j)
                    }
                    k += count
                }
            }
        }
    }
}
