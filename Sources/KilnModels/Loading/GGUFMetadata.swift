// GGUF metadata values and the bounds-checked cursor that reads them.
// Spec: ggml-org/llama.cpp `docs/gguf.md` ("File Structure": gguf_metadata_value_type 0…12, gguf_string_t =
// uint64 length + UTF-8 bytes, arrays = element type + uint64 count + elements), little-endian throughout.
import Foundation

/// Why a GGUF file was refused; cases name the key, tensor or byte offset at fault.
public enum GGUFError: Error, Equatable, Sendable {
    /// The file could not be opened or mapped.
    case unreadable(path: String, reason: String)
    /// The first four bytes are not "GGUF".
    case badMagic(UInt32)
    /// A version outside `GGUFReader.supportedVersions`.
    case unsupportedVersion(UInt32)
    /// A read of `needed` bytes at `offset` runs past the end of the file.
    case truncated(offset: Int, needed: Int)
    /// A count or length larger than the rest of the file could hold.
    case countTooLarge(what: String, count: UInt64, offset: Int)
    /// A string that is not UTF-8.
    case invalidString(offset: Int)
    /// A metadata value type id outside 0…12 (or a bool byte other than 0/1).
    case unknownValueType(UInt32, offset: Int)
    /// Arrays nested deeper than the reader allows.
    case nestingTooDeep(offset: Int)
    /// A metadata key that appears twice.
    case duplicateKey(String)
    /// `general.alignment` is not a positive power of two.
    case badAlignment(UInt64)
    /// A metadata accessor found a value of another type.
    case wrongValueType(key: String)
    /// A tensor name that appears twice.
    case duplicateTensor(name: String)
    /// n_dims outside 1…4.
    case tooManyDimensions(name: String, count: UInt32)
    /// Dimensions that overflow or do not fill whole blocks.
    case invalidDimensions(name: String)
    /// A ggml type id Kiln does not read.
    case unsupportedTensorType(name: String, type: UInt32)
    /// A tensor offset that is not a multiple of the alignment.
    case misalignedOffset(name: String, offset: UInt64)
    /// A tensor whose bytes run past the end of the file.
    case tensorOutOfBounds(name: String, offset: UInt64, bytes: Int)
    /// Two tensors share bytes.
    case overlappingTensors(name: String, previous: String)
    /// No tensor with this name.
    case tensorNotFound(String)
    /// A row range outside the tensor.
    case rowsOutOfRange(name: String, rows: Range<Int>, rowCount: Int)
}

/// One metadata value (`gguf_metadata_value_type`).
public indirect enum GGUFValue: Sendable, Equatable {
    /// Type 0.
    case uint8(UInt8)
    /// Type 1.
    case int8(Int8)
    /// Type 2.
    case uint16(UInt16)
    /// Type 3.
    case int16(Int16)
    /// Type 4.
    case uint32(UInt32)
    /// Type 5.
    case int32(Int32)
    /// Type 6.
    case float32(Float)
    /// Type 7 (one byte, 0 or 1).
    case bool(Bool)
    /// Type 8 (uint64 length + UTF-8).
    case string(String)
    /// Type 9 (element type + uint64 count + elements; may nest).
    case array([GGUFValue])
    /// Type 10.
    case uint64(UInt64)
    /// Type 11.
    case int64(Int64)
    /// Type 12.
    case float64(Double)

    /// Any integer kind as Int (nil when not an integer or out of range).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(exactly: v)
        default: nil
        }
    }

    /// Either float kind as Double.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    /// The string payload.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The bool payload.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The array payload.
    public var arrayValue: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }
}

/// A little-endian reader over the mapped file; every read checks bounds and reports the offset.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    /// Array nesting limit: the spec allows nested arrays; real files use one level.
    static let maxDepth = 8

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int) throws(GGUFError) {
        guard n >= 0, n <= remaining else { throw .truncated(offset: offset, needed: n) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size)
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// Reads a uint64 count that must be at most `remaining / minimumElementSize`, so a lying count
    /// can never make us allocate more than the file could hold.
    mutating func count(_ what: String, minimumElementSize: Int) throws(GGUFError) -> Int {
        let start = offset
        let raw = try read(UInt64.self)
        guard raw <= UInt64(remaining / max(minimumElementSize, 1)) else {
            throw .countTooLarge(what: what, count: raw, offset: start)
        }
        return Int(raw)
    }

    mutating func string() throws(GGUFError) -> String {
        let start = offset
        let length = try count("string length", minimumElementSize: 1)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        offset += length
        guard let s = String(bytes: slice, encoding: .utf8) else { throw .invalidString(offset: start) }
        return s
    }

    /// Smallest encoded size of a value of `type` (for bounding array counts).
    static func minimumSize(_ type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 8, 10, 11, 12: 8
        case 9: 12
        default: 1
        }
    }

    mutating func value(type: UInt32, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self))
        case 1: return .int8(try read(Int8.self))
        case 2: return .uint16(try read(UInt16.self))
        case 3: return .int16(try read(Int16.self))
        case 4: return .uint32(try read(UInt32.self))
        case 5: return .int32(try read(Int32.self))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self)))
        case 7:
            // The spec says a bool is one byte, 0 or 1; any other byte is corruption.
            let start = offset
            let b = try read(UInt8.self)
            guard b <= 1 else { throw .unknownValueType(7, offset: start) }
            return .bool(b == 1)
        case 8: return .string(try string())
        case 9:
            guard depth < Self.maxDepth else { throw .nestingTooDeep(offset: offset) }
            let elementTypeOffset = offset
            let elementType = try read(UInt32.self)
            guard elementType <= 12 else { throw .unknownValueType(elementType, offset: elementTypeOffset) }
            let n = try count("array length", minimumElementSize: Self.minimumSize(elementType))
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(type: elementType, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint64(try read(UInt64.self))
        case 11: return .int64(try read(Int64.self))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self)))
        default: throw .unknownValueType(type, offset: offset - 4)
        }
    }
}
