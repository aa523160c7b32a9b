// Memory-mapped safetensors reader that validates the header before trusting it.
// Format: huggingface/safetensors `docs/source/index.mdx` ("Format"): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
// then the data area; offsets are relative to the data area. The checks mirror the Rust crate's
// `Metadata::validate` (safetensors/src/tensor.rs): known dtype, size = elements × dtype size,
// contiguous non-overlapping ranges covering the whole buffer.
import Foundation

/// Why a safetensors file or index was refused; cases name the tensor or offset at fault.
public enum SafeTensorsError: Error, Equatable, Sendable {
    /// The file could not be opened or mapped.
    case unreadable(path: String, reason: String)
    /// Shorter than the 8-byte header length.
    case fileTooSmall(size: Int)
    /// The header length is < 2, over `maxHeaderLength`, or past the end of the file.
    case headerLengthOutOfBounds(length: UInt64, fileSize: Int)
    /// The header (or index) is not strict JSON; carries the parser error and its offset.
    case invalidHeaderJSON(StrictJSONError)
    /// The header is valid JSON but not an object.
    case headerNotObject
    /// `__metadata__` is not a string-to-string map.
    case invalidMetadata(reason: String)
    /// A tensor entry lacks a well-formed `dtype`, `shape` or `data_offsets`.
    case invalidEntry(tensor: String, reason: String)
    /// A dtype name `DType` does not know.
    case unknownDType(tensor: String, dtype: String)
    /// A negative or non-integer dimension.
    case invalidShape(tensor: String)
    /// The element or byte count overflows Int.
    case elementCountOverflow(tensor: String)
    /// `data_offsets` are reversed, negative or past the data area.
    case offsetsOutOfBounds(tensor: String, begin: Int64, end: Int64, dataSize: Int)
    /// `end - begin` differs from elements × dtype size.
    case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
    /// Two tensors share bytes; names the later one, the earlier one and the offset.
    case overlappingRanges(tensor: String, previous: String, offset: Int)
    /// Bytes of the data area that no tensor covers, starting at `offset`.
    case uncoveredData(offset: Int)
    /// No tensor with this name.
    case tensorNotFound(String)
    /// `floats` on an integer tensor or `int64s` on a float tensor.
    case unsupportedConversion(tensor: String, dtype: DType)
    /// `model.safetensors.index.json` is malformed.
    case invalidIndex(reason: String)
    /// A weight_map entry names a shard file that does not exist.
    case missingShard(tensor: String, file: String)
    /// A shard lacks a tensor the weight_map assigns to it.
    case tensorMissingInShard(tensor: String, file: String)
}

/// The dtype, shape and data-area byte range of one stored tensor.
public struct TensorInfo: Sendable, Equatable {
    /// Element type.
    public let dtype: DType
    /// Dimensions, outermost first (PyTorch order).
    public let shape: [Int]
    /// Byte range inside the data area (after the header).
    public let byteRange: Range<Int>
    /// Number of elements (product of `shape`, 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A read-only, memory-mapped safetensors file whose header passed validation.
public final class SafeTensorsReader: Sendable {
    /// Header-size cap; the Rust crate uses the same 100 MB limit (`MAX_HEADER_SIZE`).
    public static let maxHeaderLength: UInt64 = 100_000_000

    /// Every tensor's description, by name.
    public let tensors: [String: TensorInfo]
    /// The free-form `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// The whole mapped file; tensor ranges are relative to `dataStart` (no copy of the data area).
    let file: Data
    /// Byte offset of the data area in `file` (8 + header length).
    let dataStart: Int

    /// Tensor names in ascending data-offset order.
    public let tensorNames: [String]

    /// Maps the file at `url` and validates its header.
    /// - Parameter requireFullCoverage: refuse gaps between tensors or trailing bytes, as the Rust crate does.
    /// - Throws: `SafeTensorsError` naming the offending tensor or offset.
    public convenience init(url: URL, requireFullCoverage: Bool = true) throws(SafeTensorsError) {
        let file: Data
        do {
            file = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
        try self.init(data: file, requireFullCoverage: requireFullCoverage)
    }

    /// Validates an in-memory safetensors image (used by tests and for non-file sources).
    /// - Throws: `SafeTensorsError`.
    public init(data file: Data, requireFullCoverage: Bool = true) throws(SafeTensorsError) {
        guard file.count >= 8 else { throw .fileTooSmall(size: file.count) }
        let headerLength: UInt64 = file.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength >= 2, headerLength <= Self.maxHeaderLength, headerLength <= UInt64(file.count - 8) else {
            throw .headerLengthOutOfBounds(length: headerLength, fileSize: file.count)
        }
        let headerEnd = 8 + Int(headerLength)
        let parsed: Result<StrictJSON, StrictJSONError> = file.withUnsafeBytes { raw in
            do throws(StrictJSONError) {
                return .success(try StrictJSON.parse(UnsafeRawBufferPointer(rebasing: raw[8..<headerEnd])))
            } catch { return .failure(error) }
        }
        let header: StrictJSON
        switch parsed {
        case .success(let value): header = value
        case .failure(let error): throw .invalidHeaderJSON(error)
        }
        guard case .object(let entries) = header else { throw .headerNotObject }
        let dataSize = file.count - headerEnd

        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case .object(let map) = value else { throw .invalidMetadata(reason: "not an object") }
                for (key, item) in map {
                    guard let s = item.stringValue else { throw .invalidMetadata(reason: "value of \(key) is not a string") }
                    metadata[key] = s
                }
                continue
            }
            tensors[name] = try Self.validateEntry(name: name, value: value, dataSize: dataSize)
        }
        // Sorted sweep: each range must start at or after the previous end (and, with coverage,
        // exactly at it) — O(n log n) instead of pairwise comparison.
        let ordered = tensors.sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
        var end = 0
        var previous = ""
        for (name, info) in ordered {
            if info.byteRange.lowerBound < end {
                throw .overlappingRanges(tensor: name, previous: previous, offset: info.byteRange.lowerBound)
            }
            if requireFullCoverage && info.byteRange.lowerBound != end { throw .uncoveredData(offset: end) }
            end = info.byteRange.upperBound
            previous = name
        }
        if requireFullCoverage && end != dataSize { throw .uncoveredData(offset: end) }
        self.tensors = tensors
        self.metadata = metadata
        self.tensorNames = ordered.map(\.key)
        self.file = file
        self.dataStart = headerEnd
    }

    static func validateEntry(name: String, value: StrictJSON, dataSize: Int) throws(SafeTensorsError) -> TensorInfo {
        guard case .object(let fields) = value else { throw .invalidEntry(tensor: name, reason: "not an object") }
        guard let dtypeName = fields["dtype"]?.stringValue else { throw .invalidEntry(tensor: name, reason: "dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(tensor: name, dtype: dtypeName) }
        guard let dims = fields["shape"]?.arrayValue else { throw .invalidEntry(tensor: name, reason: "shape") }
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let d = dim.intValue, d >= 0, d <= Int64(Int.max) else { throw .invalidShape(tensor: name) }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw .elementCountOverflow(tensor: name) }
            count = product
            shape.append(Int(d))
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else { throw .elementCountOverflow(tensor: name) }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue
        else { throw .invalidEntry(tensor: name, reason: "data_offsets") }
        guard begin >= 0, begin <= end, end <= Int64(dataSize) else {
            throw .offsetsOutOfBounds(tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        guard Int(end - begin) == byteCount else {
            throw .sizeMismatch(tensor: name, expectedBytes: byteCount, actualBytes: Int(end - begin))
        }
        return TensorInfo(dtype: dtype, shape: shape, byteRange: Int(begin)..<Int(end))
    }

    // MARK: - API

    /// The file-relative range of a validated tensor (cannot overflow: it lies inside the file).
    func absolute(_ info: TensorInfo) -> Range<Int> {
        (info.byteRange.lowerBound + dataStart)..<(info.byteRange.upperBound + dataStart)
    }

    /// The description of `name`, or nil when the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// Calls `body` with the raw little-endian bytes of `name` (no copy: the pages stay mapped).
    /// - Throws: `SafeTensorsError.tensorNotFound`, or what `body` throws.
    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let info = tensors[name] else { throw SafeTensorsError.tensorNotFound(name) }
        return try file.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[absolute(info)])) }
    }

    /// The elements of a floating-point tensor as Float32 (F16 and BF16 widened exactly, F64 rounded).
    /// - Throws: `.tensorNotFound`, or `.unsupportedConversion` for integer and bool tensors (use `int64s`).
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        guard let info = tensors[name] else { throw .tensorNotFound(name) }
        guard info.dtype.isFloat else { throw .unsupportedConversion(tensor: name, dtype: info.dtype) }
        let n = info.elementCount
        return file.withUnsafeBytes { whole in
            let raw = UnsafeRawBufferPointer(rebasing: whole[absolute(info)])
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                switch info.dtype {
                case .f32:
                    for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16:
                    for i in 0..<n { out[i] = HalfFloat.f16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bf16:
                    for i in 0..<n { out[i] = HalfFloat.bf16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                default: // .f64; integer types were refused above.
                    for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                }
                initialized = n
            }
        }
    }

    /// The elements of an integer or bool tensor widened to Int64.
    /// - Throws: `.tensorNotFound`, or `.unsupportedConversion` for floating-point tensors.
    public func int64s(_ name: String) throws(SafeTensorsError) -> [Int64] {
        guard let info = tensors[name] else { throw .tensorNotFound(name) }
        guard !info.dtype.isFloat else { throw .unsupportedConversion(tensor: name, dtype: info.dtype) }
        let n = info.elementCount
        return file.withUnsafeBytes { whole in
            let raw = UnsafeRawBufferPointer(rebasing: whole[absolute(info)])
            return (0..<n).map { i -> Int64 in
                switch info.dtype {
                case .i64: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .i32: Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .i16: Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .i8: Int64(Int8(bitPattern: raw[i]))
                default: Int64(raw[i]) // .u8, .bool
                }
            }
        }
    }
}

extension SafeTensorsReader {
    /// A 2-D F16/BF16 tensor kept in its stored 16-bit encoding over the mapped file (half the memory of
    /// widening, and half the bytes a decoding step reads); nil for other dtypes and ranks.
    public func storedMatrix(_ name: String) -> QuantizedMatrix? {
        guard let info = tensors[name], info.shape.count == 2, info.shape[1] > 0 else { return nil }
        let type: GGMLType
        switch info.dtype {
        case .bf16: type = .bf16
        case .f16: type = .f16
        default: return nil
        }
        let range = absolute(info)
        let slice = file[(file.startIndex + range.lowerBound)..<(file.startIndex + range.upperBound)]
        return try? QuantizedMatrix(type: type, rows: info.shape[0], columns: info.shape[1], bytes: slice, name: name)
    }
}
