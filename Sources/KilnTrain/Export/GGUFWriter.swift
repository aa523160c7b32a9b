// A GGUF v3 file (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): header, metadata key/values in order,
// tensor infos (dimensions innermost first), then the tensor data, each tensor aligned to `general.alignment` (32).
import Foundation
import KilnModels

/// Collects metadata and tensors and writes them as one GGUF file.
struct GGUFWriter {
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [(name: String, dimensions: [Int], type: GGMLType, bytes: Data)] = []
    static let alignment = 32

    /// Sets a metadata value (replacing one of the same key, keeping its place).
    mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.0 == key }) { metadata[index].1 = value } else { metadata.append((key, value)) }
    }

    /// Adds a tensor: `dimensions` in GGUF order (ne0 = the row length first), `bytes` already encoded as `type`.
    mutating func add(_ name: String, dimensions: [Int], type: GGMLType, bytes: Data) {
        tensors.append((name, dimensions, type, bytes))
    }

    /// Writes the file atomically.
    /// - Throws: file-system errors.
    func write(to url: URL) throws {
        var out = Data()
        GGUFEncoding.append(GGUFReader.magic, to: &out)
        GGUFEncoding.append(UInt32(3), to: &out)
        GGUFEncoding.append(UInt64(tensors.count), to: &out)
        GGUFEncoding.append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            Self.appendString(key, to: &out)
            GGUFEncoding.append(Self.typeCode(value), to: &out)
            Self.appendValue(value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            Self.appendString(tensor.name, to: &out)
            GGUFEncoding.append(UInt32(tensor.dimensions.count), to: &out)
            for dimension in tensor.dimensions { GGUFEncoding.append(UInt64(dimension), to: &out) }
            GGUFEncoding.append(tensor.type.rawValue, to: &out)
            GGUFEncoding.append(UInt64(offset), to: &out)
            offset += Self.padded(tensor.bytes.count)
        }
        out.append(Data(count: Self.padded(out.count) - out.count))
        for tensor in tensors {
            out.append(tensor.bytes)
            out.append(Data(count: Self.padded(tensor.bytes.count) - tensor.bytes.count))
        }
        try out.write(to: url, options: .atomic)
    }

    static func padded(_ count: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    static func appendString(_ string: String, to data: inout Data) {
        let bytes = Data(string.utf8)
        GGUFEncoding.append(UInt64(bytes.count), to: &data)
        data.append(bytes)
    }

    /// The GGUF value type code.
    static func typeCode(_ value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    static func appendValue(_ value: GGUFValue, to data: inout Data) {
        switch value {
        case .uint8(let v): data.append(v)
        case .int8(let v): data.append(UInt8(bitPattern: v))
        case .uint16(let v): GGUFEncoding.append(v, to: &data)
        case .int16(let v): GGUFEncoding.append(v, to: &data)
        case .uint32(let v): GGUFEncoding.append(v, to: &data)
        case .int32(let v): GGUFEncoding.append(v, to: &data)
        case .float32(let v): GGUFEncoding.append(v.bitPattern, to: &data)
        case .bool(let v): data.append(v ? 1 : 0)
        case .string(let v): appendString(v, to: &data)
        case .uint64(let v): GGUFEncoding.append(v, to: &data)
        case .int64(let v): GGUFEncoding.append(v, to: &data)
        case .float64(let v): GGUFEncoding.append(v.bitPattern, to: &data)
        case .array(let elements):
            // An empty array's element type is not recoverable; uint8 is what readers skip fastest.
            GGUFEncoding.append(elements.first.map(typeCode) ?? 0, to: &data)
            GGUFEncoding.append(UInt64(elements.count), to: &data)
            for element in elements { appendValue(element, to: &data) }
        }
    }
}
