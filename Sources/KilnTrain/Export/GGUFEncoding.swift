// Float32 rows encoded as llama.cpp stores them, by ggml's reference quantisers (`quantize_row_q8_0_ref`,
// `quantize_row_q4_1_ref`, `ggml_fp32_to_fp16`), so a file written here reads back in llama.cpp as it would
// from llama.cpp's own converter.
import Foundation
import KilnModels

/// The tensor types an export writes.
public enum ExportQuantization: String, Sendable, CaseIterable {
    /// IEEE half precision.
    case f16
    /// 32-value blocks: f16 scale, 32 int8.
    case q8_0
    /// 32-value blocks: f16 scale and minimum, 32 4-bit codes.
    case q4_1

    /// The GGML type it writes.
    public var type: GGMLType {
        switch self {
        case .f16: .f16
        case .q8_0: .q8_0
        case .q4_1: .q4_1
        }
    }

    /// `general.file_type` (llama_ftype) of a file whose matrices are all this type.
    public var fileType: UInt32 {
        switch self {
        case .f16: 1
        case .q8_0: 7
        case .q4_1: 3
        }
    }
}

/// ggml's reference encoders.
enum GGUFEncoding {
    /// The bytes of `values` (whole rows; each row's length a multiple of the block size) as `type`.
    static func encode(_ values: [Float], as type: GGMLType) -> Data {
        let blocks = values.count / type.blockSize
        var out = [UInt8](repeating: 0, count: blocks * type.typeSize)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBytes { raw in
                let o = raw.baseAddress!
                func half(_ value: Float, at offset: Int) { o.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self) }
                switch type {
                case .f32:
                    for i in 0..<values.count { o.storeBytes(of: x[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                case .f16:
                    for i in 0..<values.count { half(x[i], at: 2 * i) }
                case .q8_0:
                    for block in 0..<blocks {
                        let (start, base) = (block * 32, block * 34)
                        var amax: Float = 0
                        for j in 0..<32 { amax = max(amax, abs(x[start + j])) }
                        let d = amax / 127, inverse = d != 0 ? 1 / d : 0
                        half(d, at: base)
                        for j in 0..<32 { o.storeBytes(of: Int8((x[start + j] * inverse).rounded()), toByteOffset: base + 2 + j, as: Int8.self) }
                    }
                case .q4_1:
                    for block in 0..<blocks {
                        let (start, base) = (block * 32, block * 20)
                        var (low, high) = (x[start], x[start])
                        for j in 1..<32 { low = min(low, x[start + j]); high = max(high, x[start + j]) }
                        let d = (high - low) / 15, inverse = d != 0 ? 1 / d : 0
                        half(d, at: base)
                        half(low, at: base + 2)
                        for j in 0..<16 {
                            // ggml: MIN(15, (int8_t)(x + 0.5f)) with x = (v − min)·id, truncating toward zero.
                            let first = min(15, Int8(((x[start + j] - low) * inverse + 0.5).rounded(.towardZero)))
                            let second = min(15, Int8(((x[start + j + 16] - low) * inverse + 0.5).rounded(.towardZero)))
                            o.storeBytes(of: UInt8(first) | UInt8(second) << 4, toByteOffset: base + 4 + j, as: UInt8.self)
                        }
                    }
                default:
                    preconditionFailure("no encoder for \(type)")
                }
            }
        }
        return Data(out)
    }

    static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
