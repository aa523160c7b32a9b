// The `Range: bytes=…` request header (RFC 9110 §14), so audio and video players can seek in served media.
import KilnData

/// What a `Range` header asks of a representation of a known size.
enum ByteRange: Equatable {
    /// No usable range (absent, another unit, several ranges, malformed): send the whole representation with 200.
    case whole
    /// These bytes, with 206 and `Content-Range`.
    case part(ClosedRange<Int>)
    /// A well-formed range that starts past the end: 416 with `Content-Range: bytes */size`.
    case unsatisfiable

    /// Reads `header` for a representation of `size` bytes. Numbers go through `RequestNumber`, so no value overflows.
    init(header: String?, size: Int) {
        guard let header, header.hasPrefix("bytes="), size > 0 else {
            self = .whole
            return
        }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        // A multipart/byteranges answer is optional (RFC 9110 §14.2); several ranges get the whole file instead.
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else {
            self = .whole
            return
        }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = RequestNumber.parse(last) else {
                self = .whole
                return
            }
            self = suffix == 0 ? .unsatisfiable : .part(max(0, size - suffix)...(size - 1))
            return
        }
        guard let start = RequestNumber.parse(first) else {
            self = .whole
            return
        }
        var end = size - 1
        if !last.isEmpty {
            guard let stated = RequestNumber.parse(last), stated >= start else {
                self = .whole
                return
            }
            end = min(stated, size - 1)
        }
        self = start < size ? .part(start...end) : .unsatisfiable
    }
}
