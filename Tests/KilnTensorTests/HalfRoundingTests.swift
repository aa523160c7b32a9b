// Float16 rounding through F16C against Swift's Float16 conversion (IEEE round to nearest, ties to even), on worked
// cases and on random float32 bit patterns across the float16 range, its subnormals and beyond it.
import Testing
@testable import KilnTensor

@Suite("HalfRounding")
struct HalfRoundingTests {
    @Test("Worked cases: ties to even, float16 subnormals, overflow to infinity, NaN kept")
    func workedCases() {
        // 1 + 2⁻¹¹ is halfway between 1 and 1 + 2⁻¹⁰: the even neighbour is 1; 1 + 3·2⁻¹¹ rounds up to 1 + 2⁻⁹.
        var x: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 0x1p-24, 0x1p-26, 70_000, -65_504, 0.1, .nan, -0.0]
        x.withUnsafeMutableBufferPointer { HalfRounding.round($0.baseAddress!, count: $0.count) }
        #expect(Array(x[0..<7]) == [1, 1 + 0x1p-9, 0x1p-24, 0, .infinity, -65_504, Float(Float16(0.1))])
        #expect(x[7].isNaN && x[8] == 0 && x[8].sign == .minus)
    }

    @Test("Equals Swift's Float16 conversion on 20,000 random bit patterns (every length, so the scalar tail runs too)")
    func randomPatterns() {
        var state: UInt64 = 12_345
        for count in [1, 7, 8, 9, 2_000, 17_983] {
            var x = (0..<count).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // Exponents around float16's range: subnormals, normals, overflow.
                let bits = UInt32(truncatingIfNeeded: state >> 32)
                let exponent = UInt32(90 + (state >> 20) % 60) << 23
                return Float(bitPattern: (bits & 0x807F_FFFF) | exponent)
            }
            let expected = x.map { Float(Float16($0)) }
            x.withUnsafeMutableBufferPointer { HalfRounding.round($0.baseAddress!, count: $0.count) }
            #expect(x == expected, "count \(count)")
        }
    }
}
