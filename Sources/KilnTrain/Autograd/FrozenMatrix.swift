// A base weight that training multiplies by but never changes, in whichever encoding it is held: Float32, a
// GGUF/16-bit stored matrix, or NF4. Stored and NF4 matrices are widened a band of rows at a time inside the product
// (bitsandbytes dequantises then multiplies in float32, so this is the same arithmetic), and the backward product
// dy·W reads the same bands: no Float32 copy of a whole quantised weight ever exists.
import KilnModels
import KilnTensor

/// A frozen (OC, C) weight in PyTorch's layout.
public enum FrozenMatrix: Sendable {
    /// Float32.
    case dense(Tensor)
    /// A GGUF block encoding or F16/BF16, read in place.
    case stored(QuantizedMatrix)
    /// bitsandbytes NF4 (QLoRA).
    case nf4(NF4Matrix)

    /// A checkpoint's linear weight, kept in its encoding.
    public init(_ weight: LinearWeight) {
        switch weight {
        case .dense(let tensor): self = .dense(tensor)
        case .quantized(let matrix): self = .stored(matrix)
        }
    }

    /// (OC, C).
    public var shape: [Int] {
        switch self {
        case .dense(let tensor): tensor.shape
        case .stored(let matrix): matrix.shape
        case .nf4(let matrix): [matrix.rows, matrix.columns]
        }
    }

    /// Bytes the weight occupies.
    public var byteCount: Int {
        switch self {
        case .dense(let tensor): tensor.count * 4
        case .stored(let matrix): matrix.byteCount
        case .nf4(let matrix): matrix.byteCount
        }
    }

    /// The whole weight as Float32 (merging, export).
    public func dequantized() -> Tensor {
        switch self {
        case .dense(let tensor): return tensor
        case .stored(let matrix): return matrix.dequantized()
        case .nf4(let matrix): return Tensor(shape: [matrix.rows, matrix.columns], storage: matrix.dequantized())
        }
    }

    /// `y = x Wᵀ + b`: x (…, C) → (…, OC).
    public func forward(_ x: Tensor, bias: Tensor?) -> Tensor {
        if case .dense(let weight) = self { return MatMul.forward(x, weight: weight, bias: bias) }
        let (outer, inner) = (shape[0], shape[1])
        let rows = x.count / inner
        // sgemm with beta 0 writes every element of every band; a bias is accumulated onto.
        var y = bias == nil && inner > 0 ? Tensor(unfilled: Array(x.shape.dropLast()) + [outer]) : Tensor(zeros: Array(x.shape.dropLast()) + [outer])
        if let bias {
            for row in 0..<rows { y.storage.replaceSubrange((row * outer)..<((row + 1) * outer), with: bias.storage) }
        }
        x.withPointer { xp in y.withMutablePointer { forward(xp, rows: rows, into: $0, accumulate: bias != nil) } }
        return y
    }

    /// `y (+)= x Wᵀ` for `rows` rows of x (C wide) into y (OC wide), on buffers the caller owns (the fused loss reuses one
    /// across chunks). Without `accumulate` every element of y is written.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (outer, inner) = (shape[0], shape[1])
        forEachBand { band, weights in
            BLAS.sgemm(transposeB: true, m: rows, n: band.count, k: inner, a: x, b: weights, beta: accumulate ? 1 : 0,
                       c: y + band.lowerBound, ldc: outer)
        }
    }

    /// `dx = dy W`: dy (…, OC) → (…, C), the gradient reaching the layer's input.
    public func backwardInput(_ dy: Tensor) -> Tensor {
        let (outer, inner) = (shape[0], shape[1])
        let rows = dy.count / outer
        // The first product (or band) has beta 0 and writes every element.
        var dx = outer > 0 ? Tensor(unfilled: Array(dy.shape.dropLast()) + [inner]) : Tensor(zeros: Array(dy.shape.dropLast()) + [inner])
        dy.withPointer { dyp in dx.withMutablePointer { backwardInput(dyp, rows: rows, into: $0) } }
        return dx
    }

    /// `dx = dy W` for `rows` rows of dy (OC wide) into dx (C wide), every element written (OC > 0).
    public func backwardInput(_ dy: UnsafePointer<Float>, rows: Int, into dx: UnsafeMutablePointer<Float>) {
        let (outer, inner) = (shape[0], shape[1])
        if case .dense(let weight) = self {
            weight.withPointer { BLAS.sgemm(m: rows, n: inner, k: outer, a: dy, b: $0, c: dx) }
            return
        }
        forEachBand { band, weights in
            BLAS.sgemm(m: rows, n: inner, k: band.count, a: dy + band.lowerBound, b: weights,
                       beta: band.lowerBound == 0 ? 0 : 1, c: dx, lda: outer)
        }
    }

    /// Rows widened per band (4 MiB of Float32): enough that sgemm amortises packing the activations, a small share of a
    /// large weight.
    static let bandElements = 1 << 20

    /// Calls `body` with consecutive row bands of a stored or NF4 weight, widened to Float32 (band.count × C).
    private func forEachBand(_ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let (outer, inner) = (shape[0], shape[1])
        let bandRows = max(1, min(outer, Self.bandElements / max(1, inner)))
        var scratch = [Float](repeating: 0, count: bandRows * inner)
        scratch.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            var start = 0
            while start < outer {
                let band = start..<min(outer, start + bandRows)
                switch self {
                case .dense(let weight):
                    weight.withPointer { body(band, $0 + band.lowerBound * inner) }
                    start = band.upperBound
                    continue
                case .stored(let matrix):
                    matrix.widenRows(band, into: out)
                case .nf4(let matrix):
                    matrix.dequantizeRows(band, into: out)
                }
                body(band, UnsafePointer(out))
                start = band.upperBound
            }
        }
    }
}
