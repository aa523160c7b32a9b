// Kiln's quantised products against llama.cpp's own, one matrix at a time: three tensors of a Q4_K_M SmolLM2 file (Q5_0
// through tinyBLAS, Q6_K through the tiled kernel and vec_dot, Q4_K through the CPU_REPACK gemm and gemv), with the
// activations and products llama.cpp's compute graph held for an 11-token prompt and the step after it
// (Tests/Fixtures/llamacpp/make_matmul.py, README §llamacpp). Expected bit for bit, from the build whose kernels run here.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("Quantised products equal llama.cpp's")
struct LlamaCppMatMulTests {
    struct Case: Decodable {
        let tensor, type: String
        let rows, columns: Int
        let blocks, x, y: String
        let x_rows: Int
    }

    struct Manifest: Decodable { let cases: [Case] }

    static let root = LoadingFixtures.root.appendingPathComponent("llamacpp")

    static func floats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test("Q5_0, Q6_K and Q4_K products of a prompt and of a decode step equal llama.cpp's bit for bit")
    func products() throws {
        let folder = Self.root.appendingPathComponent(KernelDispatch.current.avx512 ? "avx512" : "avx2").appendingPathComponent("matmul")
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: folder.appendingPathComponent("cases.json")))
        #expect(manifest.cases.count == 6)
        let types: [String: GGMLType] = ["Q5_0": .q5_0, "Q6_K": .q6_K, "Q4_K": .q4_K]
        for item in manifest.cases {
            let type = try #require(types[item.type])
            let bytes = try Data(contentsOf: Self.root.appendingPathComponent(item.blocks))
            let weight = try QuantizedArithmetic.$loading.withValue(.fast) {
                try QuantizedMatrix(type: type, rows: item.rows, columns: item.columns, bytes: bytes)
            }
            let x = try Self.floats(folder.appendingPathComponent(item.x))
            let expected = try Self.floats(folder.appendingPathComponent(item.y))
            #expect(x.count == item.x_rows * item.columns && expected.count == item.x_rows * item.rows)
            let y = QuantizedMatMul.forward(Tensor(shape: [item.x_rows, item.columns], storage: x), weight: weight).storage
            let differing = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
            let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(differing == 0, "\(item.tensor) (\(item.type), \(item.x_rows) rows): \(differing) values differ, max |Δ| \(worst)")
        }
    }
}
