// A weight matrix kept in its stored encoding (a GGUF block type, or f16/bf16) and widened only while a
// kernel reads it, so a Q4_1 model costs ~0.6 bytes per weight in memory instead of 4, and decoding reads
// (and is bound by) those few bytes. Rows are independent runs of whole blocks, as ggml lays them out.
import Foundation
import KilnTensor

/// A (rows, columns) matrix of `type` blocks over memory-mapped (or owned) bytes, row-major like ggml.
public struct QuantizedMatrix: Sendable {
    /// The block encoding.
    public let type: GGMLType
    /// OC, the output features (ggml `ne1`).
    public let rows: Int
    /// C, the input features (ggml `ne0`), a multiple of the block size.
    public let columns: Int
    /// Bytes of one row: columns / block size × type size.
    public let rowBytes: Int
    /// The bytes; a slice of a mapped file shares the mapping rather than copying it.
    let bytes: Data
    /// How products with it are computed: `QuantizedArithmetic.loading` when it was made.
    public let arithmetic: QuantizedArithmetic

    /// Wraps `bytes` holding exactly rows × rowBytes of `type` blocks.
    /// - Throws: `GGUFError.invalidDimensions` when the sizes disagree.
    public init(type: GGMLType, rows: Int, columns: Int, bytes: Data, name: String = "matrix") throws(GGUFError) {
        guard rows >= 0, columns > 0, columns % type.blockSize == 0 else { throw .invalidDimensions(name: name) }
        let rowBytes = columns / type.blockSize * type.typeSize
        guard bytes.count == rows * rowBytes else { throw .invalidDimensions(name: name) }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = rowBytes
        self.bytes = bytes
        arithmetic = QuantizedArithmetic.loading
    }

    /// The tensor `name` of a GGUF file as a (rowCount, rowLength) matrix sharing the file's mapping.
    /// - Throws: `GGUFError.tensorNotFound`.
    public init(gguf reader: GGUFReader, name: String) throws(GGUFError) {
        guard let info = reader.tensors[name] else { throw .tensorNotFound(name) }
        let start = reader.dataStart + info.offset
        // Slicing the mapped Data keeps the mapping alive without copying the bytes.
        let slice = reader.file[(reader.file.startIndex + start)..<(reader.file.startIndex + start + info.byteCount)]
        try self.init(type: info.type, rows: info.rowCount, columns: info.rowLength, bytes: slice, name: name)
    }

    /// (rows, columns), the PyTorch `Linear` weight shape.
    public var shape: [Int] { [rows, columns] }

    /// Bytes a full pass over the matrix reads (what one decoding step costs in memory traffic).
    public var byteCount: Int { bytes.count }

    /// Calls `body` with the base address of the row-major block bytes.
    @inline(__always)
    func withBase<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in body(raw.baseAddress!) }
    }

    /// Widens rows `range` into `out` (range.count × columns floats), block by block.
    func dequantizeRows(_ range: Range<Int>, base: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let start = base + range.lowerBound * rowBytes
        let count = range.count * columns
        // Element-wise types convert in one flat loop rather than one block call per element.
        switch type {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: start, byteCount: count * 4)
            return
        case .bf16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            return
        case .f16:
            let table = QuantizedDot.halfTable
            for i in 0..<count { out[i] = table[Int(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))] }
            return
        default:
            break
        }
        let blocks = columns / type.blockSize
        // Rows are whole blocks back to back, so a run of rows is one run of blocks.
        if BlockWiden.widen(type, start, blocks: blocks * range.count, into: out) { return }
        var o = out
        for row in range {
            var p = base + row * rowBytes
            for _ in 0..<blocks {
                GGUFQuant.dequantizeBlock(type: type, bytes: UnsafeRawBufferPointer(start: p, count: type.typeSize),
                                          into: UnsafeMutableBufferPointer(start: o, count: type.blockSize))
                p += type.typeSize
                o += type.blockSize
            }
        }
    }

    /// Widens rows `range` into `out` (range.count × columns floats).
    public func widenRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        withBase { dequantizeRows(range, base: $0, into: out) }
    }

    /// Rows `range` as a Float32 (range.count, columns) tensor.
    public func dequantized(rows range: Range<Int>? = nil) -> Tensor {
        let range = range ?? 0..<rows
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        var out = Tensor(zeros: [range.count, columns])
        out.withMutablePointer { op in withBase { dequantizeRows(range, base: $0, into: op) } }
        return out
    }

    /// The rows picked by `ids` (an embedding lookup), each widened on its own: (ids.count, columns).
    public func gather(_ ids: [Int]) -> Tensor {
        var out = Tensor(zeros: [ids.count, columns])
        out.withMutablePointer { op in
            withBase { base in
                for (n, id) in ids.enumerated() {
                    precondition(id >= 0 && id < rows, "row \(id) outside 0..<\(rows)")
                    dequantizeRows(id..<(id + 1), base: base, into: op + n * columns)
                }
            }
        }
        return out
    }
}
