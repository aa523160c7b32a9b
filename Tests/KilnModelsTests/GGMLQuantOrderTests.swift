// The K-quant kernels against their statement in llama.cpp's float order (QuantizedIntegerK.ggmlGemm), bit for bit: each
// order (vec_dot, tiled, CPU_REPACK) in the AVX2 form and, where the CPU has it, the VNNI form, on random super-blocks and
// tile shapes with edges.
import Foundation
import KilnKernels
import KilnTensor
import Testing
@testable import KilnModels

@Suite("GGMLQuantOrder")
struct GGMLQuantOrderTests {
    @Test("K-quant kernels equal llama.cpp's float order bit for bit", arguments: [GGMLType.q4_K, .q6_K])
    func kQuantOrder(_ type: GGMLType) throws {
        var stream = QuantizedIntegerTests.Stream(state: 57 + UInt64(type.rawValue))
        let orders: [QuantizedIntegerK.Order] = type == .q4_K ? [.vecDot, .tiled, .repack] : [.vecDot, .tiled]
        for (wrows, xrows, supers) in [(1, 1, 1), (4, 1, 6), (7, 3, 2), (8, 9, 3), (5, 6, 1)] {
            let columns = supers * 256
            let weight = try QuantizedIntegerKTests.matrix(type, rows: wrows, columns: columns, stream: &stream)
            let x = (0..<(xrows * columns)).map { _ in stream.uniform() * 2 }
            let activations = x.withUnsafeBufferPointer { Q8KActivations($0.baseAddress!, rows: xrows, columns: columns) }
            for (name, dispatch) in QuantizedIntegerTests.forms() {
                for order in orders {
                    let expected = QuantizedIntegerK.ggmlGemm(weight: weight, activations: activations, rows: xrows, order: order)
                    var y = [Float](repeating: .nan, count: expected.count)
                    weight.withBase { base in
                        activations.q.withUnsafeBufferPointer { q in
                            activations.d.withUnsafeBufferPointer { d in
                                activations.sums.withUnsafeBufferPointer { sums in
                                    y.withUnsafeMutableBufferPointer { out in
                                        let call = dispatch.vnni ? kiln_q8k_gemm_vnni : kiln_q8k_gemm_avx2
                                        call(Int32(type == .q4_K ? KILN_Q4_K : KILN_Q6_K), Int32(order.rawValue), base, weight.rowBytes,
                                             Int32(wrows), q.baseAddress, d.baseAddress, sums.baseAddress, Int32(xrows), Int32(supers),
                                             out.baseAddress, wrows)
                                    }
                                }
                            }
                        }
                    }
                    #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "\(name) \(type) \(order) \(wrows)x\(xrows)x\(supers)")
                    // …and every order is the same product up to float rounding.
                    let loose = QuantizedIntegerK.referenceGemm(weight: weight, activations: activations, rows: xrows)
                    for i in 0..<y.count { #expect(abs(y[i] - loose[i]) <= 1e-4 * max(1, abs(loose[i])), "\(name) \(order) [\(i)]") }
                }
            }
        }
    }

    @Test("llama.cpp's kernel choice: Q4_K matrices of a multiple of 8 rows always repacked; otherwise tiled from 8 rows")
    func kernelChoice() throws {
        var stream = QuantizedIntegerTests.Stream(state: 5)
        let repacked = try QuantizedIntegerKTests.matrix(.q4_K, rows: 8, columns: 256, stream: &stream)
        let plain = try QuantizedIntegerKTests.matrix(.q4_K, rows: 12, columns: 256, stream: &stream)
        let six = try QuantizedIntegerKTests.matrix(.q6_K, rows: 8, columns: 256, stream: &stream)
        #expect(QuantizedIntegerK.order(weight: repacked, rows: 1) == .repack && QuantizedIntegerK.order(weight: repacked, rows: 30) == .repack)
        #expect(QuantizedIntegerK.order(weight: plain, rows: 7) == .vecDot && QuantizedIntegerK.order(weight: plain, rows: 8) == .tiled)
        #expect(QuantizedIntegerK.order(weight: six, rows: 1) == .vecDot && QuantizedIntegerK.order(weight: six, rows: 8) == .tiled)
    }
}
