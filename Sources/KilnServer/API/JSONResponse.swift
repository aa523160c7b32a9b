// Every JSON answer the API gives is written here: one encoder, one content type.
import Foundation
import HTTPTypes
import Hummingbird

/// JSON responses.
enum JSON {
    /// The encoder of every answer: no escaped slashes, so URLs read as they are.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response with `value` as its body.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal_error","message":"Could not encode the response."}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
