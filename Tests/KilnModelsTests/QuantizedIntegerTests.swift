// The integer kernels (AVX2 always; AVX-512 VNNI where the CPU has it) against their Swift reference on random blocks of
// every type and on tile shapes with and without edges, the activation quantiser against llama.cpp's rules worked by
// hand, and the dispatch rule's environment switches.
import Foundation
import KilnKernels
import KilnTensor
import Testing
@testable import KilnModels

@Suite("QuantizedInteger")
struct QuantizedIntegerTests {
    /// A reproducible stream of numbers.
    struct Stream {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        mutating func uniform() -> Float { Float(next() % 20_001) / 10_000 - 1 }
    }

    /// The kernel forms to run here: the AVX2 floor always, VNNI where this CPU has it.
    static func forms() -> [(String, KernelDispatch)] {
        let native = KernelDispatch(cpu: kiln_cpu_features(), environment: [:])
        return [("AVX2", KernelDispatch(cpu: Int32(KILN_CPU_AVX2), environment: [:]))] + (native.vnni ? [("VNNI", native)] : [])
    }

    /// Expects the integer reference `expected` (rows × weight.rows) to equal ggml's dequantised weights (GGUFQuant,
    /// checked against gguf-py) times the dequantised activations: int8 values `q`, one scale in `d` per `perScale` values.
    static func expectDequantised(_ expected: [Float], weight: QuantizedMatrix, q: [Int8], d: [Float], perScale: Int, rows: Int,
                                  tolerance: Double) {
        let (columns, wrows) = (weight.columns, weight.rows)
        let widened = weight.dequantized().storage
        for t in 0..<rows {
            for r in 0..<wrows {
                var sum = 0.0
                for i in 0..<columns {
                    sum += Double(widened[r * columns + i]) * Double(q[t * columns + i]) * Double(d[(t * columns + i) / perScale])
                }
                #expect(abs(Double(expected[t * wrows + r]) - sum) <= tolerance * max(1, abs(sum)), "reference \(weight.type) [\(t), \(r)]")
            }
        }
    }

    /// Expects every kernel form here (`forms`) to write `expected` (rows × outputs) within float32 rounding through
    /// `run(dispatch, y)`.
    static func expectForms(_ expected: [Float], label: String, _ run: (KernelDispatch, UnsafeMutablePointer<Float>) -> Void) {
        for (name, dispatch) in forms() {
            var y = [Float](repeating: .nan, count: expected.count)
            y.withUnsafeMutableBufferPointer { run(dispatch, $0.baseAddress!) }
            for i in 0..<y.count {
                #expect(abs(y[i] - expected[i]) <= 1e-5 * max(1, abs(expected[i])), "\(name) \(label) [\(i)]")
            }
        }
    }

    /// `rows` rows of random `type` blocks with finite float16 scales (and Q8 values in llama.cpp's −127…127).
    static func matrix(_ type: GGMLType, rows: Int, columns: Int, stream: inout Stream) throws -> QuantizedMatrix {
        var bytes = [UInt8]()
        for _ in 0..<(rows * columns / 32) {
            let scale = Float16(Float(stream.next() % 1000 + 1) / 40_000).bitPattern
            bytes += [UInt8(scale & 0xFF), UInt8(scale >> 8)]
            switch type {
            case .q8_0: bytes += (0..<32).map { _ in UInt8(bitPattern: Int8(Int(stream.next() % 255) - 127)) }
            case .q4_1, .q5_1:
                let minimum = Float16(-Float(stream.next() % 1000) / 10_000).bitPattern
                bytes += [UInt8(minimum & 0xFF), UInt8(minimum >> 8)]
                bytes += (0..<(type == .q5_1 ? 20 : 16)).map { _ in UInt8(stream.next() % 256) }
            case .q5_0: bytes += (0..<20).map { _ in UInt8(stream.next() % 256) }
            default: bytes += (0..<16).map { _ in UInt8(stream.next() % 256) }
            }
        }
        return try QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: Data(bytes))
    }

    @Test("Both kernel forms equal the Swift reference on every tile shape, and the reference equals the dequantised weights",
          arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func kernelsMatchReference(_ type: GGMLType) throws {
        var stream = Stream(state: 7 + UInt64(type.rawValue))
        for (wrows, xrows, blocks) in [(1, 1, 1), (4, 1, 18), (7, 3, 2), (9, 6, 5), (13, 4, 48), (4, 9, 3)] {
            let columns = blocks * 32
            let weight = try Self.matrix(type, rows: wrows, columns: columns, stream: &stream)
            let x = (0..<(xrows * columns)).map { _ in stream.uniform() * 3 }
            let activations = x.withUnsafeBufferPointer { Q8Activations($0.baseAddress!, rows: xrows, columns: columns, type: type) }
            let expected = QuantizedInteger.referenceGemm(weight: weight, activations: activations, rows: xrows)
            // Q4_1's and Q5_1's offsets use llama.cpp's float16-rounded block sums, which moves them by up to 2⁻¹¹ of m·Σx.
            Self.expectDequantised(expected, weight: weight, q: activations.q, d: activations.d, perScale: 32, rows: xrows,
                                   tolerance: type == .q4_1 || type == .q5_1 ? 2e-3 : 1e-4)
            Self.expectForms(expected, label: "\(type) \(wrows)x\(xrows)x\(blocks)") { dispatch, y in
                x.withUnsafeBufferPointer { xp in
                    weight.withBase { base in
                        QuantizedInteger.forward(x: xp.baseAddress!, rows: xrows, weight: weight, base: base, y: y, dispatch: dispatch)
                    }
                }
            }
        }
    }

    @Test("Prefill on the fast path (more than 64 rows, widened weights and sgemm) multiplies the quantised activations",
          arguments: [GGMLType.q4_0, .q4_1, .q5_1, .q8_0, .q4_K, .q6_K])
    func prefillQuantisesActivations(_ type: GGMLType) throws {
        var stream = Stream(state: 101 + UInt64(type.rawValue))
        let (rows, xrows) = (5, 70)
        let kQuant = QuantizedIntegerK.supports(type)
        let columns = kQuant ? 512 : 96
        let weight = try QuantizedArithmetic.$loading.withValue(.fast) {
            kQuant ? try QuantizedIntegerKTests.matrix(type, rows: rows, columns: columns, stream: &stream)
                : try Self.matrix(type, rows: rows, columns: columns, stream: &stream)
        }
        let x = (0..<(xrows * columns)).map { _ in stream.uniform() * 3 }
        let (q, d) = x.withUnsafeBufferPointer { xp -> ([Int8], [Float]) in
            if kQuant {
                let a = Q8KActivations(xp.baseAddress!, rows: xrows, columns: columns)
                return (a.q, a.d)
            }
            let a = Q8Activations(xp.baseAddress!, rows: xrows, columns: columns, type: type)
            return (a.q, a.d)
        }
        let y = QuantizedMatMul.forward(Tensor(shape: [xrows, columns], storage: x), weight: weight)
        Self.expectDequantised(y.storage, weight: weight, q: q, d: d, perScale: kQuant ? 256 : 32, rows: xrows, tolerance: 1e-4)
    }

    @Test("The AVX-512 round trips equal the Swift forms bit for bit: exact ties, a zero block, a negative largest value first",
          arguments: [32, 256])
    func roundTripKernels(block: Int) {
        guard KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        var stream = Stream(state: 313 + UInt64(block))
        var x = (0..<(6 * block)).map { _ in stream.uniform() * 5 }
        // Block 1: all zero. Block 2: amax 127 with ties at halves and −127 before +127. Block 3: tiny values.
        for j in 0..<block { x[block + j] = 0 }
        for j in 0..<block { x[2 * block + j] = Float(j % 9) - 4.5 }
        x[2 * block] = -127
        x[2 * block + 7] = 127
        for j in 0..<block { x[3 * block + j] *= 1e-6 }
        let blocks = x.count / block
        var kernel = [Float](repeating: .nan, count: x.count), swift = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { xp in
            if block == 32 { kiln_q8_0_round_trip_avx512(xp.baseAddress!, blocks, &kernel) } else { kiln_q8_k_round_trip_avx512(xp.baseAddress!, blocks, &kernel) }
            swift.withUnsafeMutableBufferPointer { out in
                for b in 0..<blocks {
                    if block == 32 {
                        QuantizedInteger.roundTrip32(xp.baseAddress! + b * 32, into: out.baseAddress! + b * 32)
                    } else {
                        QuantizedInteger.roundTrip256(xp.baseAddress! + b * 256, into: out.baseAddress! + b * 256)
                    }
                }
            }
        }
        #expect(kernel.map(\.bitPattern) == swift.map(\.bitPattern))
        // The Swift form's own anchor: block 2 keeps ±127 exactly (scale 1) and rounds the halves to even.
        #expect(swift[2 * block] == -127 && swift[2 * block + 1] == -4 && swift[2 * block + 2] == -2)
    }

    @Test("Activations quantise as llama.cpp's AVX2 quantiser: scale amax/127 stored as float16, values x·127/amax rounded half to even")
    func activationRounding() {
        // Block 0 has amax 127, so 127/amax is exactly 1 and the halves below are exact ties; block 1's scale 0.02 is not a
        // float16 value, so its stored scale shows the rounding.
        var x = [Float](repeating: 0, count: 64)
        x[0] = 127
        x[1] = -127
        x[2] = 0.5
        x[3] = 1.5
        x[4] = -2.5
        x[5] = 3.5
        x[32] = 2.54
        x[33] = 1
        let a = x.withUnsafeBufferPointer { Q8Activations($0.baseAddress!, rows: 1, columns: 64, type: .q4_1) }
        #expect(Array(a.q[0..<6]) == [127, -127, 0, 2, -2, 4])
        #expect(a.d[0] == 1 && a.s[0] == 4)
        #expect(a.q[32] == 127 && a.q[33] == 50)   // 1 · 127/2.54 = 50.000004
        #expect(a.d[1] == Float(Float16(Float(2.54) / 127)) && a.d[1] != Float(2.54) / 127)
        #expect(a.s[1] == Float(Float16(Float(2.54) / 127 * 177)))
        let q40 = x.withUnsafeBufferPointer { Q8Activations($0.baseAddress!, rows: 1, columns: 64, type: .q4_0) }
        #expect(q40.s[1] == Float(Float16(Float(2.54) / 127)) * 177)
        let zero = [Float](repeating: 0, count: 32).withUnsafeBufferPointer { Q8Activations($0.baseAddress!, rows: 1, columns: 32, type: .q4_0) }
        #expect(zero.q.allSatisfy { $0 == 0 } && zero.d == [0] && zero.s == [0])
    }

    @Test("KILN_CPU=avx2 and KILN_NO_AVX512 keep the floor; KILN_CPU=avx512 stops below VNNI and BF16")
    func dispatchRule() {
        let all = Int32(KILN_CPU_AVX2 | KILN_CPU_AVX512 | KILN_CPU_AVX512_VNNI | KILN_CPU_AVX512_BF16)
        #expect(KernelDispatch(cpu: all, environment: [:]) == KernelDispatch(cpu: all, environment: ["KILN_CPU": "native"]))
        let full = KernelDispatch(cpu: all, environment: [:])
        #expect(full.avx512 && full.vnni && full.bf16 && full.summary == "AVX2 + AVX-512 + VNNI + BF16")
        #expect(KernelDispatch(cpu: all, environment: ["KILN_CPU": "avx2"]).summary == "AVX2")
        #expect(KernelDispatch(cpu: all, environment: ["KILN_NO_AVX512": "1"]).summary == "AVX2")
        #expect(KernelDispatch(cpu: all, environment: ["KILN_CPU": "AVX512"]).summary == "AVX2 + AVX-512")
        #expect(KernelDispatch(cpu: Int32(KILN_CPU_AVX2 | KILN_CPU_AVX512_VNNI), environment: [:]).summary == "AVX2")
    }
}

@Suite("QuantizedIntegerK")
struct QuantizedIntegerKTests {
    /// Random Q4_K or Q6_K super-blocks (any bytes are valid blocks; the float16 scales are kept finite and small).
    static func matrix(_ type: GGMLType, rows: Int, columns: Int, stream: inout QuantizedIntegerTests.Stream) throws -> QuantizedMatrix {
        var bytes = [UInt8]()
        for _ in 0..<(rows * columns / 256) {
            var block = (0..<type.typeSize).map { _ in UInt8(stream.next() % 256) }
            let scale = Float16(Float(stream.next() % 1000 + 1) / 100_000).bitPattern
            let at = type == .q4_K ? 0 : 208
            block[at] = UInt8(scale & 0xFF)
            block[at + 1] = UInt8(scale >> 8)
            if type == .q4_K {
                let minimum = Float16(Float(stream.next() % 1000) / 100_000).bitPattern
                block[2] = UInt8(minimum & 0xFF)
                block[3] = UInt8(minimum >> 8)
            }
            bytes += block
        }
        return try QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: Data(bytes))
    }

    @Test("Both kernel forms equal the Swift reference, and the reference equals the dequantised weights", arguments: [GGMLType.q4_K, .q6_K])
    func kernelsMatchReference(_ type: GGMLType) throws {
        var stream = QuantizedIntegerTests.Stream(state: 31 + UInt64(type.rawValue))
        for (wrows, xrows, supers) in [(1, 1, 1), (4, 1, 3), (7, 3, 2), (5, 6, 1)] {
            let columns = supers * 256
            let weight = try Self.matrix(type, rows: wrows, columns: columns, stream: &stream)
            let x = (0..<(xrows * columns)).map { _ in stream.uniform() * 2 }
            let activations = x.withUnsafeBufferPointer { Q8KActivations($0.baseAddress!, rows: xrows, columns: columns) }
            let expected = QuantizedIntegerK.referenceGemm(weight: weight, activations: activations, rows: xrows)
            QuantizedIntegerTests.expectDequantised(expected, weight: weight, q: activations.q, d: activations.d, perScale: 256,
                                                    rows: xrows, tolerance: 1e-4)
            QuantizedIntegerTests.expectForms(expected, label: "\(type) \(wrows)x\(xrows)x\(supers)") { dispatch, y in
                x.withUnsafeBufferPointer { xp in
                    weight.withBase { base in
                        QuantizedIntegerK.forward(x: xp.baseAddress!, rows: xrows, weight: weight, base: base, y: y, dispatch: dispatch)
                    }
                }
            }
        }
    }

    @Test("Q8_K: scale −max/127 from the largest-magnitude value, rounding half to even, sums of 16")
    func activationRounding() {
        var x = [Float](repeating: 0, count: 256)
        x[0] = -127   // the largest magnitude, negative: scale = 1, values unchanged
        x[1] = 0.5
        x[2] = 1.5
        x[3] = -2.5
        x[17] = 100
        let a = x.withUnsafeBufferPointer { Q8KActivations($0.baseAddress!, rows: 1, columns: 256) }
        #expect(Array(a.q[0..<4]) == [-127, 0, 2, -2] && a.q[17] == 100)
        #expect(a.d == [1] && a.sums[0] == -127 && a.sums[1] == 100)
        x[0] = 127    // positive: scale −1, values negated
        let b = x.withUnsafeBufferPointer { Q8KActivations($0.baseAddress!, rows: 1, columns: 256) }
        #expect(Array(b.q[0..<4]) == [-127, 0, -2, 2] && b.d == [-1])
    }
}
