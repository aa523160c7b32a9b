// The bf16 kernels (AVX-512 BF16, where the CPU has it) against their Swift reference: rounding cases worked by hand,
// both product forms on shapes with edges, and the fast path through QuantizedMatMul and a whole bf16 model. Under
// KILN_CPU=avx2 (scripts/test's second run) the kernels are still compared where the CPU has them, and the fast path must
// then equal the exact one.
import Foundation
import KilnKernels
import KilnTensor
import Testing
@testable import KilnModels

@Suite("BF16MatMul")
struct BF16MatMulTests {
    /// Whether this CPU runs the kernels (the AVX2 floor has none, so there is nothing to compare).
    static let native = KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).bf16

    typealias Stream = QuantizedIntegerTests.Stream

    @Test("Rounding to bf16: nearest, ties to even, NaN quiet, subnormals to zero, overflow to infinity",
          arguments: [(0x3F80_0000, 0x3F80),
                       (0x3F80_8000, 0x3F80),  // halfway, even below
                       (0x3F81_8000, 0x3F82),  // halfway, even above
                       (0x3F80_8001, 0x3F81),  // just past halfway
                       (0xBF80_7FFF, 0xBF80),  // just below halfway, negative
                       (0x0000_8000, 0x0000),  // subnormal
                       (0x8040_0000, 0x8000),  // negative subnormal
                       (0x7F7F_FFFF, 0x7F80),  // the largest float rounds up to infinity
                       (0x7F80_0001, 0x7FC0),  // a signalling NaN made quiet
                       (0xFF80_0000, 0xFF80)] as [(UInt32, UInt16)])
    func rounding(_ bits: UInt32, _ expected: UInt16) {
        let value = Float(bitPattern: bits)
        #expect(BF16MatMul.round(value) == expected)
        guard Self.native else { return }
        var out: UInt16 = 0
        var input = value
        kiln_bf16_round_avx512(&input, 1, &out)
        #expect(out == expected)
    }

    @Test("The kernel's rounding equals the reference on random values of every magnitude")
    func roundingMatchesReference() {
        guard Self.native else { return }
        var stream = Stream(state: 3)
        let values = (0..<1000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: stream.next() &* 2_654_435_761)) }
        var out = [UInt16](repeating: 0, count: values.count)
        kiln_bf16_round_avx512(values, values.count, &out)
        for (value, bits) in zip(values, out) {
            #expect(bits == BF16MatMul.round(value), "\(value.bitPattern)")
        }
    }

    /// Random bf16 weights (count, k), as stored bits.
    static func weights(count: Int, k: Int, stream: inout Stream) -> [UInt16] {
        (0..<(count * k)).map { _ in BF16MatMul.round(stream.uniform() * 0.5) }
    }

    /// Whether y is within float32 summation error of the reference.
    static func close(_ y: [Float], _ expected: [Float], x: [Float], w: [UInt16], rows: Int, count: Int, k: Int) -> Bool {
        for n in 0..<rows {
            for o in 0..<count {
                var magnitude: Float = 0
                for j in 0..<k { magnitude += abs(x[n * k + j]) * abs(Float(bitPattern: UInt32(w[o * k + j]) << 16)) }
                // Written so that a NaN fails.
                if !(abs(y[n * count + o] - expected[n * count + o]) <= 1e-6 * magnitude + 1e-30) { return false }
            }
        }
        return true
    }

    @Test("Dot and broadcast forms equal the reference on shapes with edges")
    func kernelsMatchReference() {
        guard Self.native else { return }
        var stream = Stream(state: 11)
        for (rows, count, k) in [(1, 1, 2), (1, 5, 64), (3, 7, 31), (4, 4, 100), (5, 33, 96), (13, 40, 33), (25, 70, 64),
                                 (100, 32, 18), (97, 65, 7), (20, 50, 577)] {
            let x = (0..<(rows * k)).map { _ in stream.uniform() * 4 }
            let w = Self.weights(count: count, k: k, stream: &stream)
            let expected = BF16MatMul.reference(x: x, rows: rows, w: w, count: count, k: k)
            var xb = [UInt16](repeating: 0, count: x.count)
            kiln_bf16_round_avx512(x, x.count, &xb)
            var dot = [Float](repeating: .nan, count: rows * count)
            kiln_bf16_dot_avx512(xb, Int32(rows), w, k, Int32(count), Int32(k), &dot, count)
            #expect(Self.close(dot, expected, x: x, w: w, rows: rows, count: count, k: k), "dot \(rows)×\(count)×\(k)")
            var panels = [UInt16](repeating: 0xFFFF, count: (count + 31) / 32 * ((k + 1) / 2) * 64)
            var gemm = [Float](repeating: .nan, count: rows * count)
            kiln_bf16_gemm_avx512(xb, Int32(rows), w, k, Int32(count), Int32(k), &gemm, count, &panels)
            #expect(Self.close(gemm, expected, x: x, w: w, rows: rows, count: count, k: k), "gemm \(rows)×\(count)×\(k)")
        }
    }

    @Test("The exact path's decode product widens bf16 exactly: kernel and Swift form against float64 sums",
          arguments: [(1, 1, 32), (1, 7, 64), (2, 5, 96), (4, 33, 576), (3, 130, 160)] as [(Int, Int, Int)])
    func exactDecodeProduct(rows: Int, count: Int, k: Int) throws {
        var stream = Stream(state: 31 + UInt64(count))
        let w = Self.weights(count: count, k: k, stream: &stream)
        let x = (0..<(rows * k)).map { _ in stream.uniform() * 4 }
        // Reference: float64 sums of the unrounded x with the widened weights.
        var expected = [Float](repeating: 0, count: rows * count)
        for n in 0..<rows {
            for o in 0..<count {
                var sum = 0.0
                for j in 0..<k { sum += Double(x[n * k + j]) * Double(Float(bitPattern: UInt32(w[o * k + j]) << 16)) }
                expected[n * count + o] = Float(sum)
            }
        }
        var split = [Float](repeating: 0, count: x.count)
        for n in 0..<rows { QuantizedDot.pairSplit(x.withUnsafeBufferPointer { $0.baseAddress! + n * k }, k, into: &split[n * k]) }
        let swift = w.withUnsafeBytes { raw in
            (0..<(rows * count)).map { i in split.withUnsafeBufferPointer { QuantizedDot.bf16Paired(raw.baseAddress! + (i % count) * 2 * k, $0.baseAddress! + (i / count) * k, k) } }
        }
        #expect(Self.close(swift, expected, x: x, w: w, rows: rows, count: count, k: k), "Swift form")
        let matrix = try QuantizedMatrix(type: .bf16, rows: count, columns: k, bytes: w.withUnsafeBytes { Data($0) })
        let y = QuantizedMatMul.forward(Tensor(shape: [rows, k], storage: x), weight: matrix)
        #expect(Self.close(y.storage, expected, x: x, w: w, rows: rows, count: count, k: k), "through QuantizedMatMul")
        guard KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        var kernel = [Float](repeating: .nan, count: rows * count)
        kiln_bf16_widen_dot_avx512(split, Int32(rows), w, k, Int32(count), Int32(k), &kernel, count)
        #expect(Self.close(kernel, expected, x: x, w: w, rows: rows, count: count, k: k), "kernel")
    }

    @Test("Exact bf16 weights sharing one decode product each get their own product and bias", arguments: [1, 3])
    func sharedDecodeProduct(rows: Int) throws {
        var stream = Stream(state: 41 + UInt64(rows))
        // Row counts off the 16-row chunk, so chunks straddle two weights.
        let (counts, k) = ([37, 16, 50], 64)
        let ws = counts.map { Self.weights(count: $0, k: k, stream: &stream) }
        let matrices = try zip(counts, ws).map { try QuantizedMatrix(type: .bf16, rows: $0, columns: k, bytes: $1.withUnsafeBytes { Data($0) }) }
        let x = (0..<(rows * k)).map { _ in stream.uniform() * 4 }
        let bias = (0..<counts[1]).map { Float($0) - 7.5 }
        let input = Tensor(shape: [rows, k], storage: x)
        let ys = QuantizedMatMul.forward(input, sharing: matrices, biases: [nil, Tensor(shape: [counts[1]], storage: bias), nil])
        #expect(ys.map(\.shape) == counts.map { [rows, $0] })
        for i in counts.indices {
            var expected = [Float](repeating: 0, count: rows * counts[i])
            for n in 0..<rows {
                for o in 0..<counts[i] {
                    var sum = i == 1 ? Double(bias[o]) : 0
                    for j in 0..<k { sum += Double(x[n * k + j]) * Double(Float(bitPattern: UInt32(ws[i][o * k + j]) << 16)) }
                    expected[n * counts[i] + o] = Float(sum)
                }
            }
            #expect(Self.close(ys[i].storage, expected, x: x, w: ws[i], rows: rows, count: counts[i], k: k), "weight \(i)")
        }
    }

    @Test("A bf16 matrix loaded for the fast arithmetic multiplies in bf16 at decode and prefill sizes", arguments: [1, 9, 70])
    func fastPathThroughMatMul(rows: Int) throws {
        var stream = Stream(state: 23 + UInt64(rows))
        let (count, k) = (300, 96)
        let w = Self.weights(count: count, k: k, stream: &stream)
        let bytes = w.withUnsafeBytes { Data($0) }
        let matrix = try QuantizedArithmetic.$loading.withValue(.fast) {
            try QuantizedMatrix(type: .bf16, rows: count, columns: k, bytes: bytes)
        }
        let x = (0..<(rows * k)).map { _ in stream.uniform() * 4 }
        let y = QuantizedMatMul.forward(Tensor(shape: [rows, k], storage: x), weight: matrix)
        guard BF16MatMul.available else {
            // At the floor (no AVX-512 BF16, or KILN_CPU=avx2) the fast arithmetic is the exact one: float32 products of
            // the widened weights with x as given.
            let exact = try QuantizedMatrix(type: .bf16, rows: count, columns: k, bytes: bytes)
            #expect(y.storage == QuantizedMatMul.forward(Tensor(shape: [rows, k], storage: x), weight: exact).storage)
            return
        }
        let expected = BF16MatMul.reference(x: x, rows: rows, w: w, count: count, k: k)
        #expect(Self.close(y.storage, expected, x: x, w: w, rows: rows, count: count, k: k))
    }

    @Test("The llama-bf16 fixture on the fast path equals PyTorch with bf16-rounded Linear inputs within 1e-3")
    func fixtureModelOnFastPath() throws {
        guard BF16MatMul.available else { return }
        let folder = FamilyLlamaTests.folder("llama-bf16")
        let model = try QuantizedArithmetic.$loading.withValue(.fast) { try LlamaModel.load(folder: folder) }
        let reference = try SafeTensorsReader(url: folder.appendingPathComponent("reference.safetensors"))
        let ids = try FamilyLlamaTests.rows(reference, "input_ids")
        let mask = try FamilyLlamaTests.rows(reference, "attention_mask")
        let positions = try FamilyLlamaTests.rows(reference, "position_ids")
        let logits = try model.forward(inputIds: ids, attentionMask: mask, positionIds: positions).logits
        let fast = try SafeTensorsReader(url: LoadingFixtures.root.appendingPathComponent("bf16_fast/llama_bf16_fast_logits.safetensors"))
        let diff = FamilyLlamaTests.maskedMaxDiff(logits, try fast.floats("logits"), mask: mask)
        // 1e-3, not 1e-4: a float32 summation order other than PyTorch's moves a value across a bf16 rounding boundary
        // now and then, and that one value then moves by 2⁻⁹ of itself (0.1e-3 in these logits); the rounding itself
        // moves them by 0.05.
        #expect(diff <= 1e-3, "fast-path logits differ from the bf16-rounded reference by \(diff)")
        // Against transformers' float32 logits the rounding shows (0.05 here), so the bf16 kernels really ran.
        #expect(FamilyLlamaTests.maskedMaxDiff(logits, try reference.floats("logits"), mask: mask) > 1e-2)
    }
}
