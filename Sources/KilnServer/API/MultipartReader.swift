// An incremental multipart/form-data parser (RFC 7578 over RFC 2046) that never trusts its input.
import Foundation
import KilnData

/// Parses a multipart body as it streams in, enforcing a per-part size cap before a part arrives whole.
///
/// Written for Kiln rather than taken from MultipartKit 4.7.1, whose parser traps on header bytes
/// ≥ 0x80 (found by Kiln's request fuzzer): every byte here comes from an untrusted upload.
struct MultipartReader {
    private enum State {
        case preamble
        case afterBoundary
        case headers
        case body(name: String, fileName: String?)
        case done
    }

    private let delimiter: [UInt8]      // "\r\n--boundary"
    private let partLimit: Int
    private let maxParts: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var state = State.preamble
    /// The search for the next delimiter (preamble and part bodies) and for the blank line that ends a part's headers;
    /// each remembers how far it has looked, so no byte is examined twice however the body is chunked.
    private var delimiterSearch: StreamSearch
    private var headerEndSearch = StreamSearch([0x0D, 0x0A, 0x0D, 0x0A])
    private(set) var parts: [FormPart] = []
    /// Spaces and tabs read since the last boundary.
    private var padding = 0

    /// The most header bytes one part may have.
    static let maxHeaderBytes = 16 * 1024
    /// The most spaces and tabs allowed between a boundary and its line end (RFC 2046's transport padding).
    static let maxPaddingBytes = 1024

    /// Creates a reader for `boundary`.
    init(boundary: String, partLimit: Int, maxParts: Int) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        delimiterSearch = StreamSearch(delimiter)
        self.partLimit = partLimit
        self.maxParts = maxParts
        // A body may start with the boundary itself, without the leading CRLF.
        buffer = [0x0D, 0x0A]
    }

    /// Whether the closing delimiter has been read.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Feeds the next bytes of the body.
    /// - Throws: `DataError.badRequest` for malformed structure, `.tooLarge` when a part passes the cap.
    mutating func append(_ bytes: some Sequence<UInt8>) throws {
        if case .done = state { return }  // the epilogue is ignored, unread
        buffer.append(contentsOf: bytes)
        try parse()
        // Drop what has been consumed so the buffer holds at most one part in progress.
        if position > 64 * 1024 {
            buffer.removeFirst(position)
            delimiterSearch.shift(by: position)
            headerEndSearch.shift(by: position)
            position = 0
        }
    }

    private mutating func parse() throws {
        while true {
            switch state {
            case .preamble:
                guard let found = delimiterSearch.find(in: buffer) else {
                    position = max(position, buffer.count - delimiter.count)
                    return
                }
                position = found + delimiter.count
                state = .afterBoundary
            case .afterBoundary:
                // RFC 2046 §5.1.1: "--" closes the body; otherwise optional whitespace, then CRLF. Whitespace already
                // read is consumed at once, so a long run of it is never rescanned.
                while position < buffer.count, buffer[position] == 0x20 || buffer[position] == 0x09 {
                    position += 1
                    padding += 1
                    if padding > Self.maxPaddingBytes { throw malformed("a boundary is followed by too much whitespace") }
                }
                guard position + 2 <= buffer.count else { return }
                padding = 0
                if buffer[position] == 0x2D && buffer[position + 1] == 0x2D {
                    state = .done
                    return
                }
                guard buffer[position] == 0x0D && buffer[position + 1] == 0x0A else { throw malformed("a boundary is followed by stray bytes") }
                position += 2
                headerEndSearch.restart(at: position)
                state = .headers
            case .headers:
                guard buffer.count - position >= 2 else { return }
                let end: Int
                if buffer[position] == 0x0D && buffer[position + 1] == 0x0A {
                    end = position - 2  // no header lines at all
                } else if let found = headerEndSearch.find(in: buffer) {
                    end = found
                } else {
                    if buffer.count - position > Self.maxHeaderBytes { throw malformed("a part's headers are too long") }
                    return
                }
                guard end - position <= Self.maxHeaderBytes else { throw malformed("a part's headers are too long") }
                let block = end > position ? Array(buffer[position..<end]) : []
                let (name, fileName) = try Self.disposition(block)
                guard parts.count < maxParts else {
                    throw DataError.tooLarge(limit: maxParts, message: "A request holds at most \(maxParts) parts.")
                }
                position = end + 4
                // The delimiter that ends this part may start with the part's first byte: search from there.
                delimiterSearch.restart(at: position)
                state = .body(name: name, fileName: fileName)
            case .body(let name, let fileName):
                guard let end = delimiterSearch.find(in: buffer) else {
                    if buffer.count - position - delimiter.count > partLimit { throw partTooLarge() }
                    return
                }
                guard end - position <= partLimit else { throw partTooLarge() }
                parts.append(FormPart(name: name, fileName: fileName, data: Data(buffer[position..<end])))
                position = end + delimiter.count
                state = .afterBoundary
            case .done:
                return
            }
        }
    }

    /// The form field name and file name from a part's header block.
    private static func disposition(_ block: [UInt8]) throws -> (String, String?) {
        var disposition: String?
        for line in block.split(separator: 0x0A) {
            let trimmed = line.last == 0x0D ? line.dropLast() : line[...]
            guard let colon = trimmed.firstIndex(of: 0x3A) else {
                if trimmed.isEmpty { continue }
                throw DataError.badRequest(code: "invalid_multipart", message: "A part header line has no colon.")
            }
            let name = String(decoding: trimmed[trimmed.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: trimmed[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if name == "content-disposition" { disposition = value }
        }
        guard let disposition, disposition.lowercased().hasPrefix("form-data"),
              let name = UploadReader.parameter("name", in: disposition) else {
            throw DataError.badRequest(code: "invalid_multipart", message: "A multipart part has no Content-Disposition form-data name.")
        }
        let fileName = UploadReader.parameter("filename", in: disposition).map { ($0 as NSString).lastPathComponent }
        return (name, fileName)
    }

    private func malformed(_ what: String) -> DataError {
        .badRequest(code: "invalid_multipart", message: "The multipart/form-data body is malformed: \(what).")
    }

    private func partTooLarge() -> DataError {
        .tooLarge(limit: partLimit, message: "A file is larger than \(partLimit) bytes, the most this Datanet takes per item.")
    }
}
