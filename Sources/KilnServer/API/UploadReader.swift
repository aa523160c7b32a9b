// Reads request bodies under a byte cap, and multipart/form-data uploads part by part.
import Foundation
import Hummingbird
import KilnData

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
        var reader = MultipartReader(boundary: boundary, partLimit: partLimit, maxParts: maxParts)
        var total = 0
        for try await buffer in request.body {
            total += buffer.readableBytes
            guard total <= totalLimit else { throw tooLarge(totalLimit) }
            try reader.append(buffer.readableBytesView)
        }
        // The closing delimiter proves the body arrived whole; without it the upload was cut off.
        guard reader.isComplete else {
            throw DataError.badRequest(code: "truncated_multipart", message: "The multipart/form-data body ends before its closing boundary.")
        }
        return reader.parts
    }

    private static func checkDeclaredLength(_ request: Request, limit: Int) throws {
        guard let header = request.headers[.contentLength] else { return }
        // A declared length beyond 2⁵³ (or not a number at all, which the HTTP parser refuses first) is over any cap.
        if (RequestNumber.parse(header) ?? Int.max) > limit {
            throw tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> DataError {
        .tooLarge(limit: limit, message: "The request body is larger than \(limit) bytes, the most this route takes here.")
    }
}
