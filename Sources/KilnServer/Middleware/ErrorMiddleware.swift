// Turns every error into a typed JSON body (API) or a page (web), so nothing escapes as a bare 500.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData
import Logging

/// Maps errors thrown by routes to responses.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = KilnContext

    func handle(_ request: Request, context: KilnContext, next: (Request, KilnContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            return error.response
        } catch let error as DataError {
            return ErrorResponse.make(error, request: request, context: context)
        } catch let error as HTTPError {
            return ErrorResponse.make(ErrorResponse.dataError(from: error), request: request, context: context)
        } catch {
            context.logger.error("Unhandled error on \(request.method) \(request.uri.path): \(String(describing: error))")
            let internalError = DataError.badRequest(code: "internal_error", message: "The server could not complete the request.")
            return ErrorResponse.make(internalError, status: .internalServerError, request: request, context: context)
        }
    }
}

/// The error body every API route uses: `{"error":{"code","message"}}`.
enum ErrorResponse {
    struct Body: Encodable {
        struct Inner: Encodable {
            var code: String
            var message: String
            var resets_at: String?
        }
        var error: Inner
    }

    static func make(_ error: DataError, status: HTTPResponse.Status? = nil, request: Request, context: KilnContext) -> Response {
        let status = status ?? HTTPResponse.Status(code: error.status)
        var resets: String?
        var headers = HTTPFields()
        if let resetsAt = error.resetsAt {
            resets = ISO8601.string(resetsAt)
            let seconds = resetsAt.timeIntervalSinceNow.rounded(.up)
            headers[.retryAfter] = String(seconds.isFinite ? Int(min(max(1, seconds), 86_400 * 2)) : 1)
        }
        if case .rateLimited(_, let retryAfter) = error {
            headers[.retryAfter] = String(max(1, retryAfter))
        }
        if error.status == 401 {
            headers[.wwwAuthenticate] = "Bearer"
        }
        if OpenAIError.applies(to: request.uri.path) {
            var converted = OpenAIError.from(error)
            if status == .internalServerError { (converted.status, converted.type) = (status, "server_error") }
            var response = converted.response
            for field in headers { response.headers[field.name] = field.value }
            return response
        }
        if !request.uri.path.hasPrefix("/api") {
            return WebErrorPage.response(error, status: status, context: context, headers: headers)
        }
        let body = Body(error: .init(code: error.code, message: error.message, resets_at: resets))
        return JSON.response(body, status: status, headers: headers)
    }

    /// Hummingbird's own errors (unknown route, body too large) in Kiln's terms.
    static func dataError(from error: HTTPError) -> DataError {
        let message = error.body ?? HTTPResponse.Status(code: error.status.code).reasonPhrase
        switch error.status.code {
        case 404: return .notFound(error.body ?? "There is nothing at this address.")
        case 405: return .badRequest(code: "method_not_allowed", message: message)
        case 413: return .tooLarge(limit: 0, message: error.body ?? "The request body is too large.")
        case 401: return .unauthorized(message)
        case 403: return .forbidden(message)
        case 415: return .unsupportedMediaType(message)
        default: return .badRequest(code: "bad_request", message: message)
        }
    }
}
