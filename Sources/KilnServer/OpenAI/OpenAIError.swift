// The /v1 routes answer errors as OpenAI's API does, `{"error":{"message","type","param","code"}}`, so the official
// clients raise their typed exceptions (BadRequestError, AuthenticationError, NotFoundError…) with the message shown.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

/// An error of an OpenAI-compatible route, with the fields OpenAI's body carries.
struct OpenAIError: Error, Sendable, Equatable {
    /// The HTTP status.
    var status: HTTPResponse.Status
    /// What went wrong, for a person.
    var message: String
    /// OpenAI's error class: `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `rate_limit_error` or `server_error`.
    var type: String
    /// The request field at fault, if one is.
    var param: String?
    /// A stable machine code (`model_not_found`, `context_length_exceeded`, …).
    var code: String?

    /// A 400 about the request field `param`.
    static func invalid(_ message: String, param: String?, code: String? = "invalid_value") -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// A 404 for a model id this node does not serve to the caller.
    static func modelNotFound(_ id: String) -> OpenAIError {
        OpenAIError(status: .notFound, message: "The model `\(id)` does not exist or you do not have access to it.",
                    type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// Kiln's own errors (auth, body limits, content types, unknown routes) in OpenAI's classes.
    static func from(_ error: DataError) -> OpenAIError {
        let status = HTTPResponse.Status(code: error.status)
        let type = switch error.status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
        let code = error.status == 401 ? "invalid_api_key" : error.code
        return OpenAIError(status: status, message: error.message, type: type, param: nil, code: code)
    }

    /// The JSON response.
    var response: Response {
        struct Body: Encodable {
            struct Inner: Encodable {
                var message: String
                var type: String
                var param: String?
                var code: String?

                func encode(to encoder: any Encoder) throws {
                    // OpenAI writes param and code as null rather than leaving them out.
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(message, forKey: .message)
                    try c.encode(type, forKey: .type)
                    try c.encode(param, forKey: .param)
                    try c.encode(code, forKey: .code)
                }

                enum CodingKeys: String, CodingKey { case message, type, param, code }
            }
            var error: Inner
        }
        var headers = HTTPFields()
        if status.code == 401 { headers[.wwwAuthenticate] = "Bearer" }
        return JSON.response(Body(error: .init(message: message, type: type, param: param, code: code)), status: status, headers: headers)
    }

    /// True for paths whose errors take this shape.
    static func applies(to path: String) -> Bool { path == "/v1" || path.hasPrefix("/v1/") }
}
