// The SIMD building blocks against libm and plain loops (internal API, hence @testable).
import Foundation
@testable import KilnTensor
import Testing

@Suite("SIMD vector loops")
struct VectorTests {
    @Test("SIMD exp is within 3 ulp of libm on [−87, 88] and exactly 0 at −∞")
    func exp() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let lanes = Vector.exp(Vector.Lanes((0..<16).map { x + Float($0) * 0.0007 }))
            for lane in 0..<16 {
                let reference = Foundation.exp(x + Float(lane) * 0.0007)
                worst = max(worst, abs(lanes[lane] - reference) / reference.ulp)
            }
            x += 0.0131
        }
        #expect(worst <= 3, "worst error \(worst) ulp")
        #expect(Vector.exp(Vector.Lanes(repeating: -.infinity)) == Vector.Lanes(repeating: 0))
    }

    @Test("Reductions equal Double loops on lengths around the lane width", arguments: [0, 1, 15, 16, 17, 33, 1000])
    func reductions(count: Int) {
        let x = KernelTests.random([count], seed: 101).storage, y = KernelTests.random([count], seed: 102).storage
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                let (a, b) = (xp.baseAddress ?? UnsafePointer(bitPattern: 16)!, yp.baseAddress ?? UnsafePointer(bitPattern: 16)!)
                #expect(abs(Double(Vector.sum(a, count)) - x.reduce(0.0) { $0 + Double($1) }) < 1e-4)
                #expect(abs(Double(Vector.dot(a, b, count)) - zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }) < 1e-4)
                #expect(Vector.max(a, count) == (x.max() ?? -.infinity))
            }
        }
    }
}
