// A linear layer's weight in whichever form the checkpoint gave it: a Float32 tensor (safetensors, widened)
// or a stored block encoding read in place (GGUF). Families hold this instead of a bare `Tensor` for the
// projections and the embedding, so one forward pass serves both kinds of file.
import Foundation
import KilnTensor

/// A (OC, C) weight, dense or quantised.
public enum LinearWeight: Sendable {
    /// Float32, PyTorch layout (OC, C).
    case dense(Tensor)
    /// Stored blocks, widened while multiplying.
    case quantized(QuantizedMatrix)

    /// (OC, C).
    public var shape: [Int] {
        switch self {
        case .dense(let t): t.shape
        case .quantized(let q): q.shape
        }
    }

    /// `y = x Wᵀ + b`: x (…, C) → (…, OC).
    public func apply(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        switch self {
        case .dense(let w): MatMul.forward(x, weight: w, bias: bias)
        case .quantized(let q): QuantizedMatMul.forward(x, weight: q, bias: bias)
        }
    }

    /// Rows picked by id (the embedding lookup): (ids.count, C).
    public func gather(_ ids: [Int]) -> Tensor {
        switch self {
        case .dense(let table): Embedding.forward(ids: ids, table: table)
        case .quantized(let q): q.gather(ids)
        }
    }

    /// Bytes a full pass over the weight reads.
    public var byteCount: Int {
        switch self {
        case .dense(let t): t.count * 4
        case .quantized(let q): q.byteCount
        }
    }
}
