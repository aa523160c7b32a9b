// SIMD inner loops shared by the row kernels: 16 lanes at a time with a scalar tail. Summation order
// differs from a left-to-right loop (16 partial sums), which is why each kernel keeps a naive reference.
import Foundation

/// Vectorised reductions and elementwise loops over raw Float buffers (the row kernels' building blocks; training's fused loss uses a few).
public enum Vector {
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
        var total = acc.horizontalSum
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i], n elements.
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { acc = acc.addingProduct(load(x, i), load(y, i)); i += width }
        var total = acc.horizontalSum
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i], n elements, with two accumulators so consecutive FMAs do not wait on each other (the
    /// memory-bound decoding products).
    static func dot2(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var a = Lanes(repeating: 0), b = Lanes(repeating: 0)
        var i = 0
        while i + 2 * width <= n {
            a = a.addingProduct(load(x, i), load(y, i))
            b = b.addingProduct(load(x, i + width), load(y, i + width))
            i += 2 * width
        }
        if i + width <= n { a = a.addingProduct(load(x, i), load(y, i)); i += width }
        var total = (a + b).horizontalSum
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i]·z[i], n elements.
    static func dot3(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { acc = acc.addingProduct(load(x, i) * load(y, i), load(z, i)); i += width }
        var total = acc.horizontalSum
        while i < n { total += x[i] * y[i] * z[i]; i += 1 }
        return total
    }

    /// max x[i] (−∞ for n = 0).
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: -.infinity)
        var i = 0
        while i + width <= n {
            // A compare-and-blend; `pointwiseMax` keeps IEEE maximum's NaN rules and compiles to a per-lane loop.
            let v = load(x, i)
            acc = acc.replacing(with: v, where: acc .< v)
            i += width
        }
        var best = acc.max()
        while i < n { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// eˣ per lane for x ≤ 88 (Cephes `expf`: x = n·ln2 + r, a degree-6 polynomial in r, then ·2ⁿ through the
    /// exponent bits), within ~2 ulp of libm; x below −87.3 (incl. −∞, a masked score) gives exactly 0.
    @inline(__always) static func exp(_ x: Lanes) -> Lanes {
        // Clamped by compare-and-blend: `clamped(lowerBound:upperBound:)` compiles to a per-lane loop.
        let low = x.replacing(with: -87.33654, where: x .< -87.33654)
        let clamped = low.replacing(with: 88.37626, where: low .> 88.37626)
        let n = (clamped * 1.44269504088896341 + 0.5).rounded(.down)
        // ln 2 split in two so n·ln2 is exact in the high part (Cody–Waite reduction).
        var r = clamped.addingProduct(n, Lanes(repeating: -0.693359375))
        r = r.addingProduct(n, Lanes(repeating: 2.12194440e-4))
        var p = Lanes(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * (r * r) + r + 1
        // 2ⁿ from the bits: n + 127 (in 1…255) added to 2²³ lands in the low mantissa bits (the generic
        // Float → Int32 vector conversion is a library call here).
        let biased = unsafeBitCast(n + Lanes(repeating: 8_388_608 + 127), to: SIMD16<UInt32>.self) &- 0x4B00_0000
        let result = y * unsafeBitCast(biased &<< 23, to: Lanes.self)
        return result.replacing(with: 0, where: x .< -87.33654)
    }

    /// y[i] = e^(x[i] − shift) for n elements (y may alias x); returns Σ y[i]. The SIMD lanes use `exp` above, the tail libm.
    public static func shiftedExp(_ x: UnsafePointer<Float>, shift: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n {
            let e = exp(load(x, i) - shift)
            store(e, y, i)
            acc += e
            i += width
        }
        var total = acc.horizontalSum
        while i < n {
            let e = Foundation.exp(x[i] - shift)
            y[i] = e
            total += e
            i += 1
        }
        return total
    }

    /// out[i] = silu(gate[i]) · up[i] over `range`: 16 lanes through `exp` above (libm's scalar expf per element was a
    /// tenth of a float32 prefill), the tail through libm.
    static func swiGLU(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                       _ range: Range<Int>) {
        var i = range.lowerBound
        while i + width <= range.upperBound {
            let g = load(gate, i)
            store(g / (exp(-g) + 1) * load(up, i), out, i)
            i += width
        }
        while i < range.upperBound {
            out[i] = SiLU.silu(gate[i]) * up[i]
            i += 1
        }
    }

    /// out[i] = x[i] · a, n elements (out may alias x).
    public static func scale(_ x: UnsafePointer<Float>, by a: Float, into out: UnsafeMutablePointer<Float>, _ n: Int) {
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

    /// Σ (x[i] − m)², n elements (the two-pass variance's second pass).
    static func squaredDeviation(_ x: UnsafePointer<Float>, from m: Float, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + width <= n {
            let d = load(x, i) - m
            acc = acc.addingProduct(d, d)
            i += width
        }
        var total = acc.horizontalSum
        while i < n { total += (x[i] - m) * (x[i] - m); i += 1 }
        return total
    }

    /// out[i] = (x[i] − shift) · a · w[i] + b[i], n elements (LayerNorm's affine step; out may alias x).
    static func shiftScaleMultiplyAdd(_ x: UnsafePointer<Float>, shift: Float, scale a: Float, _ w: UnsafePointer<Float>,
                                      _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store((load(x, i) - shift) * a * load(w, i) + load(b, i), out, i); i += width }
        while i < n { out[i] = (x[i] - shift) * a * w[i] + b[i]; i += 1 }
    }

    /// y[i] += a · x[i], n elements (attention's weighted sum of value rows).
    @inline(__always) static func addScaled(_ x: UnsafePointer<Float>, by a: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store(load(UnsafePointer(y), i).addingProduct(load(x, i), Lanes(repeating: a)), y, i); i += width }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// out[i] = x[i] + y[i], n elements (the residual stream's additions).
    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n { store(load(x, i) + load(y, i), out, i); i += width }
        while i < n { out[i] = x[i] + y[i]; i += 1 }
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
    @inlinable @inline(__always) public func withPointer<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        storage.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(bitPattern: 16)!) }
    }

    /// Runs `body` with write access to the elements.
    @inlinable @inline(__always) public mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        storage.withUnsafeMutableBufferPointer { body($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!) }
    }
}

extension SIMD16 where Scalar == Float {
    /// The sum of the 16 lanes as a tree of halves; the standard library's `sum()` is a separate generic call
    /// in the hot loops, a measurable share of a decoding step.
    @inlinable @inline(__always)
    public var horizontalSum: Float {
        let eight = lowHalf + highHalf
        let four = eight.lowHalf + eight.highHalf
        return (four[0] + four[1]) + (four[2] + four[3])
    }
}
