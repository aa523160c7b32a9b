// Reads request bodies under a byte cap, and multipart/form-data uploads part by part.
import Foundation
import Hummingbird
import KilnData
import MultipartKit

/// One part of a multipart/form-data body.
struct FormPart: Sendable {
    /// The form field's name.
    var name: String
    /// The uploaded file's name, `nil` for plain fields.
    var fileName: String?
    /// The part's bytes.
    var data: Data
}

/// Body reading with caps that refuse oversize uploads before they are read whole.
enum UploadReader {
    /// The media type of a `Content-Type` header, lowercased, without parameters.
    static func mediaType(_ request: Request) -> String {
        let header = request.headers[.contentType] ?? ""
        return header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    /// A parameter of the `Content-Type` header (such as `boundary`), unquoted.
    static func parameter(_ name: String, of request: Request) -> String? {
        parameter(name, in: request.headers[.contentType] ?? "")
    }

    /// A parameter of a header value such as `form-data; name="file"; filename="a.png"`.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            return value
        }
        return nil
    }

    /// The whole body, refused with 413 as soon as it passes `limit` bytes (at once, if `Content-Length` says so).
    static func collect(_ request: Request, limit: Int) async throws -> Data {
        try checkDeclaredLength(request, limit: limit)
        var data = Data()
        for try await buffer in request.body {
            guard data.count + buffer.readableBytes <= limit else { throw tooLarge(limit) }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    /// The parts of a multipart/form-data body; a part over `partLimit` or a body over `totalLimit` is refused with 413
    /// while it streams in, and a body that ends before its closing boundary is refused with 400.
    static func multipart(_ request: Request, partLimit: Int, totalLimit: Int, maxParts: Int = 1000) async throws -> [FormPart] {
        guard let boundary = parameter("boundary", of: request), !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw DataError.badRequest(code: "invalid_multipart", message: "The multipart/form-data Content-Type has no boundary.")
        }
        try checkDeclaredLength(request, limit: totalLimit)
        let parser = MultipartParser(boundary: boundary)
        let collector = PartCollector(partLimit: partLimit, maxParts: maxParts)
        parser.onHeader = { name, value in collector.header(name, value) }
        parser.onBody = { buffer in collector.body(&buffer) }
        parser.onPartComplete = { collector.complete() }
        let closing = Array("--\(boundary)--".utf8)
        var tail: [UInt8] = []
        var total = 0
        for try await buffer in request.body {
            total += buffer.readableBytes
            guard total <= totalLimit else { throw tooLarge(totalLimit) }
            do {
                try parser.execute(buffer)
            } catch {
                throw DataError.badRequest(code: "invalid_multipart", message: "The multipart/form-data body is malformed.")
            }
            if let failure = collector.failure { throw failure }
            tail.append(contentsOf: buffer.readableBytesView.suffix(closing.count + 8))
            if tail.count > 4 * (closing.count + 8) { tail.removeFirst(tail.count - 2 * (closing.count + 8)) }
        }
        // The closing delimiter proves the body arrived whole; without it the upload was cut off.
        guard collector.inPart == false, contains(tail.suffix(closing.count + 8), closing) else {
            throw DataError.badRequest(code: "truncated_multipart", message: "The multipart/form-data body ends before its closing boundary.")
        }
        return collector.parts
    }

    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        let bytes = Array(haystack)
        for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    private static func checkDeclaredLength(_ request: Request, limit: Int) throws {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> DataError {
        .tooLarge(limit: limit, message: "The request body is larger than \(limit) bytes, the most this route takes here.")
    }
}

/// Gathers parts as the parser reports them (the parser calls back synchronously on this task).
private final class PartCollector {
    let partLimit: Int
    let maxParts: Int
    var parts: [FormPart] = []
    var headers: [String: String] = [:]
    var current = Data()
    var inPart = false
    var failure: DataError?

    init(partLimit: Int, maxParts: Int) {
        self.partLimit = partLimit
        self.maxParts = maxParts
    }

    func header(_ name: String, _ value: String) {
        inPart = true
        headers[name.lowercased()] = value
    }

    func body(_ buffer: inout ByteBuffer) {
        inPart = true
        guard failure == nil else { return }
        if current.count + buffer.readableBytes > partLimit {
            failure = .tooLarge(limit: partLimit, message: "A file is larger than \(partLimit) bytes, the most this Datanet takes per item.")
            return
        }
        current.append(contentsOf: buffer.readableBytesView)
    }

    func complete() {
        defer {
            headers = [:]
            current = Data()
            inPart = false
        }
        guard failure == nil else { return }
        let disposition = headers["content-disposition"] ?? ""
        guard disposition.lowercased().hasPrefix("form-data"), let name = UploadReader.parameter("name", in: disposition) else {
            failure = .badRequest(code: "invalid_multipart", message: "A multipart part has no Content-Disposition form-data name.")
            return
        }
        guard parts.count < maxParts else {
            failure = .tooLarge(limit: maxParts, message: "A request holds at most \(maxParts) parts.")
            return
        }
        let fileName = UploadReader.parameter("filename", in: disposition).map { ($0 as NSString).lastPathComponent }
        parts.append(FormPart(name: name, fileName: fileName, data: current))
    }
}
