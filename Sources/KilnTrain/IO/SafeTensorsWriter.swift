// Writes F32 safetensors files (adapters, merged models) that the Rust crate, transformers and PEFT read.
import Foundation

/// Builds a safetensors file: an 8-byte little-endian header length, a JSON header padded with spaces to 8 bytes,
/// then each tensor's little-endian bytes in header order.
public struct SafeTensorsWriter {
    private var tensors: [(name: String, shape: [Int], values: [Float])] = []
    private var metadata: [String: String]

    /// An empty file; `metadata` goes in `__metadata__` (PEFT and transformers write `{"format": "pt"}`).
    public init(metadata: [String: String] = ["format": "pt"]) {
        self.metadata = metadata
    }

    /// Adds an F32 tensor.
    /// - Precondition: `values.count` equals the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        tensors.append((name, shape, values))
    }

    /// The file's bytes, tensors in name order (as the Python writers sort them).
    public func data() throws -> Data {
        let ordered = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for tensor in ordered {
            let bytes = tensor.values.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for tensor in ordered {
            // Kiln runs on little-endian x86-64, the byte order safetensors stores.
            tensor.values.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public func write(to url: URL) throws {
        try data().write(to: url, options: .atomic)
    }
}
