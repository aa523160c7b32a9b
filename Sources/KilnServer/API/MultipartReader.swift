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
    private(set) var parts: [FormPart] = []

    /// The most header bytes one part may have.
    static let maxHeaderBytes = 16 * 1024

    /// Creates a reader for `boundary`.
    init(boundary: String, partLimit: Int, maxParts: Int) {
        delimiter = Array("\r\n--\(boundary)".utf8)
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
        buffer.append(contentsOf: bytes)
        try parse()
        // Drop what has been consumed so the buffer holds at most one part in progress.
        if position > 64 * 1024 {
            buffer.removeFirst(position)
            position = 0
        }
    }

    private mutating func parse() throws {
        while true {
            switch state {
            case .preamble:
                guard let found = find(delimiter, from: position) else {
                    position = max(position, buffer.count - delimiter.count)
                    return
                }
                position = found + delimiter.count
                state = .afterBoundary
            case .afterBoundary:
                // RFC 2046 §5.1.1: "--" closes the body; otherwise optional whitespace, then CRLF.
                var index = position
                while index < buffer.count, buffer[index] == 0x20 || buffer[index] == 0x09 { index += 1 }
                guard index + 2 <= buffer.count else { return }
                if buffer[index] == 0x2D && buffer[index + 1] == 0x2D {
                    state = .done
                    return
                }
                guard buffer[index] == 0x0D && buffer[index + 1] == 0x0A else { throw malformed("a boundary is followed by stray bytes") }
                position = index + 2
                state = .headers
            case .headers:
                guard buffer.count - position >= 2 else { return }
                let end: Int
                if buffer[position] == 0x0D && buffer[position + 1] == 0x0A {
                    end = position - 2  // no header lines at all
                } else if let found = find([0x0D, 0x0A, 0x0D, 0x0A], from: position) {
                    end = found
                } else {
                    if buffer.count - position > Self.maxHeaderBytes { throw malformed("a part's headers are too long") }
                    return
                }
                let block = end > position ? Array(buffer[position..<end]) : []
                let (name, fileName) = try Self.disposition(block)
                guard parts.count < maxParts else {
                    throw DataError.tooLarge(limit: maxParts, message: "A request holds at most \(maxParts) parts.")
                }
                position = end + 4
                state = .body(name: name, fileName: fileName)
            case .body(let name, let fileName):
                guard let end = find(delimiter, from: position) else {
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

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, buffer.count >= needle.count, start <= buffer.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        let last = buffer.count - needle.count
        while index <= last {
            if buffer[index] == first {
                var matched = true
                for offset in 1..<needle.count where buffer[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }

    private func malformed(_ what: String) -> DataError {
        .badRequest(code: "invalid_multipart", message: "The multipart/form-data body is malformed: \(what).")
    }

    private func partTooLarge() -> DataError {
        .tooLarge(limit: partLimit, message: "A file is larger than \(partLimit) bytes, the most this Datanet takes per item.")
    }
}
