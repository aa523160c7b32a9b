// Float32 tensors on one contiguous, row-major buffer.
import Foundation

/// A dense Float32 tensor: a shape and its elements in row-major order (copy-on-write).
public struct Tensor: Sendable, Equatable {
    /// The size of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements, row-major.
    public var storage: [Float]

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        storage = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor whose elements the caller writes, every one, before reading any (sgemm outputs with beta 0, kernels
    /// that fill their whole result): it skips the zeroing pass over memory that is about to be overwritten.
    public init(unfilled shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        storage = [Float](unsafeUninitializedCapacity: shape.reduce(1, *)) { _, initialized in initialized = shape.reduce(1, *) }
    }

    /// A tensor over existing elements; `storage.count` must equal the product of `shape`.
    public init(shape: [Int], storage: [Float]) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not hold \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    /// The number of elements.
    public var count: Int { storage.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// The element at a multi-dimensional index.
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(index)] }
        set { storage[offset(index)] = newValue }
    }

    private func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (position, dimension) in zip(index, shape) {
            precondition(position >= 0 && position < dimension, "index \(index) out of \(shape)")
            flat = flat * dimension + position
        }
        return flat
    }

    /// The largest absolute elementwise difference from `other` (same shape), for tests against references.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var worst: Float = 0
        for index in storage.indices {
            worst = max(worst, abs(storage[index] - other.storage[index]))
        }
        return worst
    }
}
