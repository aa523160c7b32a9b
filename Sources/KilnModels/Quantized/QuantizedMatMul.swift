// y = x Wᵀ (+ b) with W in its stored block encoding. A matrix loaded for the fast arithmetic goes to
// `QuantizedInteger` (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0) or `QuantizedIntegerK` (Q4_K/Q6_K), llama.cpp's numerics, or to `BF16MatMul`
// (bf16 at any row count, where the CPU has bf16 dot products); otherwise the exact
// float32 paths, split as llama.cpp splits mul_mat:
// - few rows of x (decoding): each output row is a dot product that widens W's blocks in registers, so
//   the weights are read once, at their stored size, straight from the mapping (bf16 four rows at a time in
//   KilnKernels where the CPU has AVX-512);
// - many rows (prefill): W is widened a tile of rows (≤ 16 MiB) at a time into a scratch buffer and multiplied by
//   OpenBLAS, so the cost is the sgemm's, never a full Float32 copy of W; where Kiln's AVX-512 product `WideGemm.handles`
//   the rows, it widens each 48-row stripe in cache instead.
// Summation order differs from a dense matmul of the dequantised weights by float rounding only.
import Foundation
import KilnKernels
import KilnTensor

/// Matrix products against `QuantizedMatrix` weights.
public enum QuantizedMatMul {
    /// x rows at or below which the fused dot kernels beat widening a tile for sgemm.
    static let fusedRowLimit = 4
    /// x rows at or below which widening small cache-resident tiles beats widening big ones for sgemm (a decode batch).
    static let blockedRowLimit = 64
    /// Weight rows widened at a time by `blocked`: 64 rows of a 576-wide matrix are 147 KB, which stay in L2.
    static let blockedTileRows = 64
    /// Floats of scratch per sgemm tile in the prefill path (16 MiB): a whole layer matrix of a small model in
    /// one product, a big LM head in a few.
    static let tileFloats = 1 << 22

    /// `y = x Wᵀ + b`: x is (…, C), weight (OC, C), bias (OC) or nil; y is (…, OC).
    public static func forward(_ x: Tensor, weight: QuantizedMatrix, bias: Tensor? = nil) -> Tensor {
        let inner = x.shape.last ?? 0
        precondition(inner == weight.columns, "x has \(inner) columns but the weight expects \(weight.columns)")
        let rows = inner == 0 ? 0 : x.count / inner
        let outer = weight.rows
        var y = Tensor(zeros: Array(x.shape.dropLast()) + [outer])
        // llama.cpp converts the other operand of a float16 product to float16.
        let x = weight.type == .f16 && weight.arithmetic == .fast ? HalfRounding.rounded(x) : x
        x.withPointer { xp in
            y.withMutablePointer { yp in
                weight.withBase { base in
                    // Prefill stays on widened tiles and sgemm even for integer matrices, with the activations
                    // quantised and widened back: at 128+ rows OpenBLAS's float kernels ran 1.9× faster than the
                    // integer tiles on AVX2 and 2.3× on VNNI (2 cores; docs/benchmarks.md).
                    let integer = weight.arithmetic == .fast && rows <= blockedRowLimit
                    if BF16MatMul.applies(to: weight) {
                        BF16MatMul.forward(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    } else if integer && QuantizedInteger.supports(weight.type) {
                        QuantizedInteger.forward(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    } else if integer && QuantizedIntegerK.supports(weight.type) {
                        QuantizedIntegerK.forward(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    } else if rows <= fusedRowLimit {
                        fused(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    } else if rows <= blockedRowLimit {
                        blocked(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    } else if weight.arithmetic == .fast && (QuantizedInteger.supports(weight.type) || QuantizedIntegerK.supports(weight.type)) {
                        // llama.cpp quantises the activations of prefill too; without this, prompt logits differ by ~1.
                        let quantised = QuantizedInteger.roundTrip(xp, rows: rows, columns: inner, type: weight.type)
                        quantised.withUnsafeBufferPointer { tiled(x: $0.baseAddress!, rows: rows, weight: weight, base: base, y: yp) }
                    } else {
                        tiled(x: xp, rows: rows, weight: weight, base: base, y: yp)
                    }
                }
            }
        }
        if let bias {
            precondition(bias.count == outer, "bias has \(bias.count) elements for \(outer) outputs")
            for row in 0..<rows {
                for column in 0..<outer { y.storage[row * outer + column] += bias.storage[column] }
            }
        }
        return y
    }

    /// Every output row's dot products with the x rows, output rows split across the cores.
    static func fused(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                      y: UnsafeMutablePointer<Float>) {
        let (columns, outer) = (weight.columns, weight.rows)
        nonisolated(unsafe) let y = y
        if weight.type == .bf16 && columns % 32 == 0 {
            bf16Decode(x: x, rows: rows, parts: [DecodePart(weight, base: base, y: y)])
            return
        }
        // Σx per 32-block lets the Q4 offsets (Q4_1's m, Q4_0's −8) cost one multiply per block.
        blockSums(x: x, rows: rows, columns: columns).withUnsafeBufferPointer { sums in
            Parallel.rows(outer, minimumPerTask: 64) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: QuantizedDot.scratchCount) { scratch in
                    for o in range {
                        let w = base + o * weight.rowBytes
                        for n in 0..<rows {
                            y[n * outer + o] = QuantizedDot.dot(type: weight.type, row: w, x: x + n * columns, columns: columns,
                                                                blockSums: sums.baseAddress! + n * (columns / 32),
                                                                scratch: scratch.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// Σ x over each aligned run of 32 columns, per row: (rows, columns / 32).
    static func blockSums(x: UnsafePointer<Float>, rows: Int, columns: Int) -> [Float] {
        let blocks = columns / 32
        var sums = [Float](repeating: 0, count: rows * blocks)
        for n in 0..<rows {
            for b in 0..<blocks {
                let p = x + n * columns + b * 32
                var acc = SIMD16<Float>(repeating: 0)
                acc += UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
                acc += UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
                sums[n * blocks + b] = acc.horizontalSum
            }
        }
        return sums
    }

    /// Widens `tileRows` output rows at a time (split across the cores) and lets sgemm write y's columns.
    static func tiled(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                      y: UnsafeMutablePointer<Float>) {
        let (columns, outer) = (weight.columns, weight.rows)
        if WideGemm.handles(rows: rows) {
            // Kiln's product widens each 48-row stripe in cache as it goes: no float32 tile written to memory and read back.
            nonisolated(unsafe) let base = base
            WideGemm.multiply(x, rows: rows, inner: columns, products: [
                WideGemm.Product(outer: outer, widening: { weight.dequantizeRows($0, base: base, into: $1) }, output: y)])
            return
        }
        let tile = min(max(64, tileFloats / columns), outer)
        // sgemm with beta 0 writes every element the widening does not, so the scratch needs no zeroing pass.
        var scratch = [Float](unsafeUninitializedCapacity: tile * columns) { _, count in count = tile * columns }
        scratch.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let widened = buffer.baseAddress!
            var start = 0
            while start < outer {
                let count = min(tile, outer - start)
                let first = start
                Parallel.rows(count, minimumPerTask: 16) { range in
                    weight.dequantizeRows((first + range.lowerBound)..<(first + range.upperBound), base: base,
                                          into: widened + range.lowerBound * columns)
                }
                BLAS.sgemm(transposeB: true, m: rows, n: count, k: columns, a: x, b: widened, c: y + start, ldc: outer)
                start += count
            }
        }
    }

    /// A decode batch (a few to 64 rows of x): each core widens its own 64-row tiles of W, which stay in cache, and
    /// takes their dot products with every x row, so W is read once per step at its stored size and never widened to
    /// memory.
    static func blocked(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                        y: UnsafeMutablePointer<Float>) {
        let (columns, outer) = (weight.columns, weight.rows)
        nonisolated(unsafe) let (x, y) = (x, y)
        Parallel.rows(outer, minimumPerTask: blockedTileRows) { range in
            let widened = UnsafeMutablePointer<Float>.allocate(capacity: blockedTileRows * columns)
            defer { widened.deallocate() }
            var start = range.lowerBound
            while start < range.upperBound {
                let count = min(blockedTileRows, range.upperBound - start)
                weight.dequantizeRows(start..<(start + count), base: base, into: widened)
                TileDot.multiply(x, rows: rows, widened, count: count, columns: columns, into: y + start, ldc: outer)
                start += count
            }
        }
    }
}
