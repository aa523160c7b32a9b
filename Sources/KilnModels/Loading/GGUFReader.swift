// Memory-mapped GGUF reader (ggml-org/llama.cpp `docs/gguf.md`), validating as gguf-py's
// `gguf/gguf_reader.py` does: magic, version in a supported list, power-of-two `general.alignment`,
// duplicate keys and tensor names rejected, tensors sized from the per-type (block size, type size) table —
// plus what the Python reader leaves to numpy: every count bounded by the file size, offsets aligned,
// in bounds and non-overlapping.
import Foundation

/// One tensor's entry in the GGUF tensor-info table.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// Tensor name (`blk.0.attn_q.weight`).
    public let name: String
    /// Dimensions in GGUF order: `ne0` (contiguous, the row length) first.
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Byte offset from the start of the data section (a multiple of the alignment).
    public let offset: Int
    /// Number of elements.
    public let elementCount: Int
    /// Bytes occupied: elements / block size × type size.
    public let byteCount: Int
    /// Elements per row (`ne0`).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Rows: the product of the other dimensions.
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
}

/// A read-only, memory-mapped GGUF v2/v3 file whose header passed validation.
public final class GGUFReader: Sendable {
    /// Versions with 64-bit counts; v1 (32-bit counts) predates every published model Kiln targets.
    public static let supportedVersions: [UInt32] = [2, 3]
    /// `GGUF_DEFAULT_ALIGNMENT`.
    public static let defaultAlignment = 32
    /// "GGUF" read as a little-endian uint32.
    public static let magic: UInt32 = 0x4655_4747

    /// The file's version.
    public let version: UInt32
    /// All metadata key-value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Tensor infos by name.
    public let tensors: [String: GGUFTensorInfo]
    /// Data-section alignment.
    public let alignment: Int
    /// Absolute file offset of the data section.
    public let dataStart: Int
    let file: Data

    /// Maps and validates the file at `url`.
    /// - Throws: `GGUFError` naming the offset, key or tensor at fault.
    public convenience init(url: URL) throws(GGUFError) {
        let file: Data
        do { file = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: file)
    }

    /// Validates an in-memory GGUF image.
    /// - Throws: `GGUFError`.
    public init(data file: Data) throws(GGUFError) {
        let parsed: Result<Header, GGUFError> = file.withUnsafeBytes { raw in
            do throws(GGUFError) { return .success(try Self.parseHeader(raw)) } catch { return .failure(error) }
        }
        let header = try parsed.get()
        version = header.version
        metadata = header.metadata
        metadataKeys = header.keys
        tensorInfos = header.tensors
        tensors = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        alignment = header.alignment
        dataStart = header.dataStart
        self.file = file
    }

    struct Header {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataStart: Int
    }

    static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) -> Header {
        var cursor = GGUFCursor(bytes: bytes)
        let magic = try cursor.read(UInt32.self)
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version = try cursor.read(UInt32.self)
        guard supportedVersions.contains(version) else { throw .unsupportedVersion(version) }
        // Minimum encoded sizes: a tensor info is ≥ 8 (name) + 4 + 4 + 8 bytes, a KV ≥ 8 + 4 + 1.
        let tensorCount = try cursor.count("tensor count", minimumElementSize: 24)
        let kvCount = try cursor.count("metadata count", minimumElementSize: 13)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for _ in 0..<kvCount {
            let key = try cursor.string()
            let type = try cursor.read(UInt32.self)
            let value = try cursor.value(type: type)
            guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key) }
            keys.append(key)
        }
        var alignment = defaultAlignment
        if let value = metadata["general.alignment"] {
            // The spec stores it as uint32; accept any integer kind but require a power of two.
            guard let a = value.intValue, a > 0, a.nonzeroBitCount == 1, a <= 1 << 30 else {
                throw .badAlignment(UInt64(value.intValue.map { max($0, 0) } ?? 0))
            }
            alignment = a
        }

        var infos: [GGUFTensorInfo] = []
        var seen = Set<String>()
        for _ in 0..<tensorCount {
            let name = try cursor.string()
            guard seen.insert(name).inserted else { throw .duplicateTensor(name: name) }
            let nDims = try cursor.read(UInt32.self)
            guard nDims >= 1, nDims <= 4 else { throw .tooManyDimensions(name: name, count: nDims) }
            var dims: [Int] = []
            var count = 1
            for _ in 0..<nDims {
                let d = try cursor.read(UInt64.self)
                guard d <= UInt64(Int.max) else { throw .invalidDimensions(name: name) }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
                guard !overflow else { throw .invalidDimensions(name: name) }
                count = product
                dims.append(Int(d))
            }
            let rawType = try cursor.read(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else { throw .unsupportedTensorType(name: name, type: rawType) }
            // Rows are made of whole blocks (ggml requires ne0 % block size == 0).
            guard dims[0] % type.blockSize == 0 else { throw .invalidDimensions(name: name) }
            let (byteCount, overflow) = (count / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
            guard !overflow else { throw .invalidDimensions(name: name) }
            let offset = try cursor.read(UInt64.self)
            guard offset % UInt64(alignment) == 0 else { throw .misalignedOffset(name: name, offset: offset) }
            guard offset <= UInt64(bytes.count) else { throw .tensorOutOfBounds(name: name, offset: offset, bytes: byteCount) }
            infos.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset),
                                        elementCount: count, byteCount: byteCount))
        }

        // The data section starts at the next multiple of the alignment after the tensor infos.
        let padding = (alignment - cursor.offset % alignment) % alignment
        let dataStart = cursor.offset + padding
        let dataSize = max(bytes.count - dataStart, 0)
        if !infos.isEmpty && dataStart > bytes.count { throw .truncated(offset: cursor.offset, needed: padding) }
        var end = 0
        var previous = ""
        for info in infos.sorted(by: { ($0.offset, $0.name) < ($1.offset, $1.name) }) {
            guard info.byteCount <= dataSize, info.offset <= dataSize - info.byteCount else {
                throw .tensorOutOfBounds(name: info.name, offset: UInt64(info.offset), bytes: info.byteCount)
            }
            guard info.offset >= end else { throw .overlappingTensors(name: info.name, previous: previous) }
            end = info.offset + info.byteCount
            previous = info.name
        }
        return Header(version: version, metadata: metadata, keys: keys, tensors: infos,
                      alignment: alignment, dataStart: dataStart)
    }

    // MARK: - Tensors

    /// Dequantises rows `rows` (all rows when nil) of `name` to Float32, block by block, row-major
    /// with `rowLength` floats per row.
    /// - Throws: `.tensorNotFound` or `.rowsOutOfRange`.
    public func dequantize(_ name: String, rows: Range<Int>? = nil) throws(GGUFError) -> [Float] {
        guard let info = tensors[name] else { throw .tensorNotFound(name) }
        let rows = rows ?? 0..<info.rowCount
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw .rowsOutOfRange(name: name, rows: rows, rowCount: info.rowCount)
        }
        let blocksPerRow = info.rowLength / info.type.blockSize
        let rowBytes = blocksPerRow * info.type.typeSize
        let n = rows.count * info.rowLength
        return file.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: n) { out, initialized in
                if info.type.blockSize == 1 {
                    // Plain floats: convert element by element without the per-block call.
                    let base = dataStart + info.offset + rows.lowerBound * rowBytes
                    let size = info.type.typeSize
                    for i in 0..<n {
                        let p = base + i * size
                        switch info.type {
                        case .f32: out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
                        case .f16: out[i] = HalfFloat.f16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt16.self)))
                        default: out[i] = HalfFloat.bf16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt16.self)))
                        }
                    }
                    initialized = n
                    return
                }
                var o = 0
                for row in rows {
                    var p = dataStart + info.offset + row * rowBytes
                    for _ in 0..<blocksPerRow {
                        GGUFQuant.dequantizeBlock(
                            type: info.type, bytes: UnsafeRawBufferPointer(rebasing: raw[p..<(p + info.type.typeSize)]),
                            into: UnsafeMutableBufferPointer(rebasing: out[o..<(o + info.type.blockSize)]))
                        p += info.type.typeSize
                        o += info.type.blockSize
                    }
                }
                initialized = n
            }
        }
    }

    /// Calls `body` with the raw (still quantised) bytes of `name`, for on-the-fly dequantising kernels.
    /// - Throws: `GGUFError.tensorNotFound`, or what `body` throws.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let info = tensors[name] else { throw GGUFError.tensorNotFound(name) }
        let start = dataStart + info.offset
        return try file.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.byteCount)])) }
    }

    // MARK: - Metadata

    /// `general.architecture` (e.g. "llama").
    public var architecture: String? { metadata["general.architecture"]?.stringValue }

    /// The `<architecture>.<suffix>` hyper-parameter, e.g. `hyperparameter("attention.head_count")`.
    public func hyperparameter(_ suffix: String) -> GGUFValue? {
        architecture.flatMap { metadata["\($0).\(suffix)"] }
    }

    /// A hyperparameter as a number, whether the file stored it as a float or an integer.
    public func number(_ suffix: String) -> Double? {
        hyperparameter(suffix).flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) }
    }

    /// `tokenizer.ggml.model` ("gpt2" for byte-level BPE, "llama" for SentencePiece).
    public var tokenizerModel: String? { string("tokenizer.ggml.model") }

    /// `tokenizer.ggml.tokens`: the vocabulary, indexed by id.
    /// - Throws: `.wrongValueType` when present but not a string array.
    public func tokenizerTokens() throws(GGUFError) -> [String]? { try strings("tokenizer.ggml.tokens") }

    /// `tokenizer.ggml.merges`: BPE merges as "left right" strings, highest priority first.
    /// - Throws: `.wrongValueType` when present but not a string array.
    public func tokenizerMerges() throws(GGUFError) -> [String]? { try strings("tokenizer.ggml.merges") }

    /// `tokenizer.ggml.scores`: SentencePiece scores per token.
    /// - Throws: `.wrongValueType` when present but not numeric.
    public func tokenizerScores() throws(GGUFError) -> [Float]? { try floats("tokenizer.ggml.scores") }

    /// `tokenizer.ggml.token_type`: llama.cpp token types (1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte).
    /// - Throws: `.wrongValueType` when present but not integers.
    public func tokenizerTokenTypes() throws(GGUFError) -> [Int]? { try ints("tokenizer.ggml.token_type") }

    /// A special-token id such as `tokenizer.ggml.bos_token_id` (pass "bos", "eos", "unknown", "padding").
    public func specialTokenID(_ kind: String) -> Int? { int("tokenizer.ggml.\(kind)_token_id") }

    /// An integer metadata value of any integer kind.
    public func int(_ key: String) -> Int? { metadata[key]?.intValue }

    /// A string metadata value.
    public func string(_ key: String) -> String? { metadata[key]?.stringValue }

    /// A string-array value (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`).
    /// - Throws: `.wrongValueType` when the key holds something else; nil when absent.
    public func strings(_ key: String) throws(GGUFError) -> [String]? {
        guard let value = metadata[key] else { return nil }
        guard let array = value.arrayValue else { throw .wrongValueType(key: key) }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for item in array {
            guard let s = item.stringValue else { throw .wrongValueType(key: key) }
            result.append(s)
        }
        return result
    }

    /// A numeric-array value as Float (`tokenizer.ggml.scores`).
    /// - Throws: `.wrongValueType` for non-numeric elements; nil when absent.
    public func floats(_ key: String) throws(GGUFError) -> [Float]? {
        guard let value = metadata[key] else { return nil }
        guard let array = value.arrayValue else { throw .wrongValueType(key: key) }
        var result: [Float] = []
        for item in array {
            guard let v = item.doubleValue ?? item.intValue.map(Double.init) else { throw .wrongValueType(key: key) }
            result.append(Float(v))
        }
        return result
    }

    /// An integer-array value (`tokenizer.ggml.token_type`).
    /// - Throws: `.wrongValueType` for non-integer elements; nil when absent.
    public func ints(_ key: String) throws(GGUFError) -> [Int]? {
        guard let value = metadata[key] else { return nil }
        guard let array = value.arrayValue else { throw .wrongValueType(key: key) }
        var result: [Int] = []
        for item in array {
            guard let v = item.intValue else { throw .wrongValueType(key: key) }
            result.append(v)
        }
        return result
    }
}
