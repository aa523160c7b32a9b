// NF4 quantisation equals bitsandbytes 0.50.2 byte for byte on the fixture matrices (Tests/Fixtures/README.md §5).
import Foundation
import KilnModels
import Testing
@testable import KilnTrain

@Suite("NF4 as bitsandbytes stores it")
struct NF4Tests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/nf4")

    /// The fixture matrices: file name and shape [out, in].
    static let matrices: [(String, Int, Int)] = [("q_proj_64x64", 64, 64), ("gate_proj_176x64", 176, 64), ("down_proj_64x176", 64, 176)]

    static func bytes(_ file: SafeTensorsReader, _ name: String) throws -> [UInt8] {
        try file.withBytes(name) { Array($0) }
    }

    @Test("The code book is bitsandbytes' NF4 map")
    func codebook() throws {
        let file = try SafeTensorsReader(url: Self.root.appendingPathComponent("q_proj_64x64.safetensors"))
        #expect(NF4.codebook == (try file.floats("nf4.code")))
    }

    @Test("Packed codes, absmax and dequantised weights equal quantize_4bit / dequantize_4bit", arguments: matrices)
    func plain(name: String, rows: Int, columns: Int) throws {
        let file = try SafeTensorsReader(url: Self.root.appendingPathComponent("\(name).safetensors"))
        let matrix = NF4Matrix(quantizing: try file.floats("weight"), rows: rows, columns: columns)
        #expect(matrix.packed == (try Self.bytes(file, "nf4.packed")))
        #expect(matrix.absmax == (try file.floats("nf4.absmax")))
        #expect(matrix.dequantized() == (try file.floats("nf4.dequant")))
    }

    @Test("Double quantisation: absmax codes, offset, second-level absmax and effective absmax equal bitsandbytes'", arguments: matrices)
    func double(name: String, rows: Int, columns: Int) throws {
        let file = try SafeTensorsReader(url: Self.root.appendingPathComponent("\(name).safetensors"))
        let matrix = NF4Matrix(quantizing: try file.floats("weight"), rows: rows, columns: columns, doubleQuantization: true)
        #expect(matrix.packed == (try Self.bytes(file, "nf4_dq.packed")))
        guard case .double(let codes, let offset, let state) = matrix.scales else {
            Issue.record("expected double-quantised scales")
            return
        }
        #expect(offset == (try file.floats("nf4_dq.offset"))[0])
        #expect(state.absmax == (try file.floats("nf4_dq.state2.absmax")))
        #expect(codes == (try Self.bytes(file, "nf4_dq.absmax_q")))
        #expect(matrix.absmax == (try file.floats("nf4_dq.absmax_dequant")))
        #expect(matrix.dequantized() == (try file.floats("nf4_dq.dequant")))
    }

    @Test("The 8-bit dynamic map equals create_dynamic_map(signed=True)")
    func dynamicMap() throws {
        let file = try SafeTensorsReader(url: Self.root.appendingPathComponent("q_proj_64x64.safetensors"))
        #expect(BlockwiseQuantization.dynamicMap == (try file.floats("nf4_dq.state2.code")))
    }
}
