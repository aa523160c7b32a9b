// The vector widening of Q4_0, Q4_1 and Q8_0, in Swift lanes and in KilnKernels' AVX-512 form, gives bit for bit the
// values of the per-block dequantisation (itself checked against gguf-py's on the SmolLM2 fixture), for random blocks.
import Foundation
import KilnKernels
import KilnTensor
import Testing
@testable import KilnModels

@Suite("Block widening")
struct BlockWidenTests {
    @Test("Random blocks widen to exactly dequantizeBlock's values", arguments: [GGMLType.q4_0, .q4_1, .q8_0], [false, true])
    func matchesPerBlock(_ type: GGMLType, kernel: Bool) {
        guard !kernel || KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        var state: UInt64 = 7
        func byte() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let blocks = 37
        var bytes = (0..<(blocks * type.typeSize)).map { _ in byte() }
        // Finite f16 scales (and Q4_1 minimums): exponent bits below all-ones.
        for b in 0..<blocks {
            for half in type == .q4_1 ? [0, 2] : [0] { bytes[b * type.typeSize + half + 1] &= 0x7B }
        }
        var fast = [Float](repeating: .nan, count: blocks * 32), slow = fast
        bytes.withUnsafeBytes { raw in
            fast.withUnsafeMutableBufferPointer { out in
                if kernel {
                    #expect(kiln_widen_blocks_avx512(BlockWiden.kernelCode(type)!, raw.baseAddress!, blocks, out.baseAddress!) == 1)
                } else {
                    #expect(BlockWiden.widenLanes(type, raw.baseAddress!, blocks: blocks, into: out.baseAddress!))
                }
            }
            for b in 0..<blocks {
                slow.withUnsafeMutableBufferPointer { out in
                    GGUFQuant.dequantizeBlock(type: type, bytes: UnsafeRawBufferPointer(rebasing: raw[(b * type.typeSize)..<((b + 1) * type.typeSize)]),
                                              into: UnsafeMutableBufferPointer(rebasing: out[(b * 32)..<((b + 1) * 32)]))
                }
            }
        }
        #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern))
    }
}
