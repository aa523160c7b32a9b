// Named checkpoint tensors as Float32 `Tensor`s, from a model folder (single or sharded safetensors).
import Foundation
import KilnTensor

/// The weights of one checkpoint, read on demand and widened to Float32.
///
/// Checkpoint names stay at this edge: families ask for HF names (`model.layers.0.self_attn.q_proj.weight`),
/// and any rename, fusion or transposition happens in the family's `sanitize` step, not here.
public struct WeightMap: Sendable {
    private enum Source: Sendable {
        case single(SafeTensorsReader)
        case sharded(SafeTensorsIndex)
    }

    private let source: Source

    /// Opens `model.safetensors`, or `model.safetensors.index.json` and its shards, in `folder`.
    /// - Throws: `SafeTensorsError` for a missing or malformed checkpoint.
    public init(folder: URL) throws {
        let index = folder.appendingPathComponent(SafeTensorsIndex.fileName)
        if FileManager.default.fileExists(atPath: index.path) {
            source = .sharded(try SafeTensorsIndex(directory: folder))
        } else {
            source = .single(try SafeTensorsReader(url: folder.appendingPathComponent("model.safetensors")))
        }
    }

    /// Wraps an open reader (tests, GGUF-free tools).
    public init(reader: SafeTensorsReader) {
        source = .single(reader)
    }

    /// Every tensor name in the checkpoint.
    public var names: [String] {
        switch source {
        case .single(let reader): reader.tensorNames
        case .sharded(let index): index.tensorNames
        }
    }

    /// Whether the checkpoint holds `name`.
    public func contains(_ name: String) -> Bool {
        info(name) != nil
    }

    /// The stored dtype and shape of `name`.
    public func info(_ name: String) -> TensorInfo? {
        switch source {
        case .single(let reader): reader.info(name)
        case .sharded(let index): index.info(name)
        }
    }

    /// `name` kept in its stored 16-bit encoding when it is a 2-D F16/BF16 matrix (see `SafeTensorsReader.storedMatrix`).
    public func storedMatrix(_ name: String) -> QuantizedMatrix? {
        switch source {
        case .single(let reader): reader.storedMatrix(name)
        case .sharded(let index): index.reader(for: name)?.storedMatrix(name)
        }
    }

    /// `name` as a Float32 tensor of its stored shape.
    /// - Throws: `SafeTensorsError.tensorNotFound` (naming the tensor) or a conversion error.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name) else { throw SafeTensorsError.tensorNotFound(name) }
        let values: [Float] = switch source {
        case .single(let reader): try reader.floats(name)
        case .sharded(let index): try index.floats(name)
        }
        return Tensor(shape: info.shape, storage: values)
    }
}
