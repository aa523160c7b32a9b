// Half-float conversions against values from numpy (np.frombuffer(bits, np.float16).astype(np.float32)).
import KilnModels
import Testing

@Suite("Element types")
struct DTypeTests {
    /// (float16 bits, float32 value) pairs; the values are numpy's conversions of the bit patterns.
    static let f16Cases: [(UInt16, Float)] = [
        (0x0000, 0.0), (0x3C00, 1.0), (0xC000, -2.0), (0x3555, 0.333251953125), (0x7BFF, 65504.0),
        (0x0001, 5.960464477539063e-08), (0x03FF, 6.097555160522461e-05), (0x0400, 6.103515625e-05),
        (0x7C00, .infinity), (0xFC00, -.infinity),
    ]

    @Test("float16 bit patterns convert as numpy converts them", arguments: f16Cases)
    func f16(bits: UInt16, expected: Float) {
        #expect(HalfFloat.f16ToF32(bits) == expected)
    }

    @Test("float16 NaN stays NaN and negative zero keeps its sign")
    func f16Specials() {
        #expect(HalfFloat.f16ToF32(0x7E00).isNaN)
        #expect(HalfFloat.f16ToF32(0x8000).sign == .minus)
    }

    @Test("bfloat16 is the top half of the float32 pattern", arguments: [(UInt16(0x3F80), Float(1.0)), (0xC0A0, -5.0), (0x3EAB, 0.333984375)])
    func bf16(bits: UInt16, expected: Float) {
        #expect(HalfFloat.bf16ToF32(bits) == expected)
    }

    @Test("Element sizes follow the safetensors dtype names")
    func sizes() {
        #expect(DType(rawValue: "BF16")?.size == 2)
        #expect(DType(rawValue: "I64")?.size == 8)
        #expect(DType(rawValue: "F8_E4M3") == nil)
    }
}
