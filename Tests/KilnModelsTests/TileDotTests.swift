// The decode-batch product y = x · Wᵀ against Double sums: x rows that are and are not multiples of the 4-row block,
// weight rows that are and are not multiples of 2 (and of 4), and widths with and without a tail past 16 lanes; in
// the AVX2 form and, where the CPU has them, the AVX-512 tile kernel and the streaming decode kernel (weight rows apart).
import Foundation
import KilnKernels
import KilnTensor
import Testing
@testable import KilnModels

@Suite("TileDot")
struct TileDotTests {
    /// The kernel under test: TileDot's AVX2 form, KilnKernels' AVX-512 tile kernel, or its streaming decode kernel.
    enum Form: Sendable, CaseIterable { case avx2, tile, stream }

    @Test("Every element equals the Double dot product within 1e-5",
          arguments: [(5, 7, 40), (8, 64, 64), (13, 3, 576), (4, 1, 17), (6, 6, 30), (9, 10, 1536)], [Form.avx2, .tile, .stream])
    func matchesDoubleSums(_ shape: (Int, Int, Int), form: Form) {
        guard form == .avx2 || KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        let (rows, count, columns) = shape
        var state: UInt64 = 99
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        let x = (0..<(rows * columns)).map { _ in next() }
        // The streaming kernel reads weight rows `ldw` apart; the others take them packed.
        let ldw = form == .stream ? columns + 5 : columns
        let w = (0..<(count * ldw)).map { _ in next() }
        let ldc = count + 3
        var y = [Float](repeating: .nan, count: rows * ldc)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    switch form {
                    case .tile:
                        kiln_tile_dot_avx512(xp.baseAddress!, Int32(rows), wp.baseAddress!, Int32(count), Int32(columns), yp.baseAddress!, Int32(ldc))
                    case .stream:
                        kiln_f32_stream_dot_avx512(xp.baseAddress!, Int32(rows), wp.baseAddress!, ldw, Int32(count), Int32(columns), yp.baseAddress!, ldc)
                    case .avx2:
                        TileDot.multiplyAVX2(xp.baseAddress!, rows: rows, wp.baseAddress!, count: count, columns: columns, into: yp.baseAddress!, ldc: ldc)
                    }
                }
            }
        }
        for n in 0..<rows {
            for o in 0..<count {
                let expected = (0..<columns).reduce(0.0) { $0 + Double(x[n * columns + $1]) * Double(w[o * ldw + $1]) }
                #expect(abs(Double(y[n * ldc + o]) - expected) <= 1e-5 * max(1, Double(columns) / 64), "y[\(n), \(o)]")
            }
            // Columns of y past `count` belong to other tiles and are left alone.
            for o in count..<ldc { #expect(y[n * ldc + o].isNaN) }
        }
    }
}
