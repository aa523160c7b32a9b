// Element types of checkpoint tensors and their conversion to Float32.
import Foundation

/// A tensor element type as safetensors and GGUF name it.
public enum DType: String, Sendable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Whether the type holds floating-point values.
    public var isFloat: Bool {
        self == .f64 || self == .f32 || self == .f16 || self == .bf16
    }
}

/// Conversions from half-width floats to Float32.
public enum HalfFloat {
    /// IEEE 754 binary16 to Float32, exact for every value (subnormals, infinities and NaNs included).
    @inlinable
    public static func f16ToF32(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1F
        var mantissa = UInt32(bits & 0x03FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: normalise the mantissa into a Float32 exponent.
            var shift = 0
            while mantissa & 0x0400 == 0 {
                mantissa <<= 1
                shift += 1
            }
            mantissa &= 0x03FF
            return Float(bitPattern: sign | UInt32(127 - 15 - shift + 1) << 23 | mantissa << 13)
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }

    /// bfloat16 to Float32: the top 16 bits of the Float32 pattern.
    @inlinable
    public static func bf16ToF32(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
