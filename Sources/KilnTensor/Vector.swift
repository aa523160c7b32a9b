// SIMD inner loops shared by the row kernels: 16 lanes at a time with a scalar tail. Summation order
// differs from a left-to-right loop (16 partial sums), which is why each kernel keeps a naive reference.
import Foundation

/// Vectorised reductions and elementwise loops over raw Float buffers (internal building blocks).
enum Vector {
    typealias Lanes = SIMD16<Float>
    static let width = Lanes.scalarCount

    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Lanes {
        UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
    }

    /// Σ x[i], n elements.
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { acc += load(x, i); i += width }
        var total = acc.sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i], n elements.
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { acc = acc.addingProduct(load(x, i), load(y, i)); i += width }
        var total = acc.sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i]·z[i], n elements.
    static func dot3(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { acc = acc.addingProduct(load(x, i) * load(y, i), load(z, i)); i += width }
        var total = acc.sum()
        while i < n { total += x[i] * y[i] * z[i]; i += 1 }
        return total
    }

    /// max x[i] (−∞ for n = 0).
    static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: -.infinity)
        var i = 0
        while i + width <= n { acc = pointwiseMax(acc, load(x, i)); i += width }
        var best = acc.max()
        while i < n { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// out[i] = x[i] · a, n elements (out may alias x).
    static func scale(_ x: UnsafePointer<Float>, by a: Float, into out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store(load(x, i) * a, out, i); i += width }
        while i < n { out[i] = x[i] * a; i += 1 }
    }

    /// out[i] = (x[i] − shift) · a · w[i], n elements (out may alias x).
    static func shiftScaleMultiply(_ x: UnsafePointer<Float>, shift: Float, scale a: Float, _ w: UnsafePointer<Float>,
                                   into out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store((load(x, i) - shift) * a * load(w, i), out, i); i += width }
        while i < n { out[i] = (x[i] - shift) * a * w[i]; i += 1 }
    }

    /// out[i] = x[i] · y[i], n elements.
    static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store(load(x, i) * load(y, i), out, i); i += width }
        while i < n { out[i] = x[i] * y[i]; i += 1 }
    }
}

extension Tensor {
    /// Runs `body` with read-only access to the elements.
    @inline(__always) func withPointer<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        storage.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(bitPattern: 16)!) }
    }

    /// Runs `body` with write access to the elements.
    @inline(__always) mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        storage.withUnsafeMutableBufferPointer { body($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!) }
    }
}
