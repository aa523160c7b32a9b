// The one error type of the data layer; each case knows its HTTP status and machine-readable code.
import Foundation
import KilnStore

/// Why a data operation was refused; carries what the caller needs to fix the request.
public enum DataError: Error, Equatable, Sendable {
    /// The request is malformed: bad JSON, wrong types, unknown fields, bad parameters.
    case badRequest(code: String, message: String)
    /// No or an invalid credential.
    case unauthorized(String)
    /// The caller is known but may not do this.
    case forbidden(String)
    /// The named thing does not exist.
    case notFound(String)
    /// The request clashes with what is stored (a taken name, an item already reviewed).
    case conflict(code: String, message: String)
    /// The body or an item is over a size cap.
    case tooLarge(limit: Int, message: String)
    /// The body's content type is not one this route takes.
    case unsupportedMediaType(String)
    /// Well-formed but semantically unacceptable (a rejection without a reason, an empty version).
    case unprocessable(code: String, message: String)
    /// The contributor's daily limit is used up until `resetsAt`.
    case dailyLimit(limit: Int, resetsAt: Date)
    /// Too many attempts (logins, registrations) or too much work queued; try again in `retryAfter` seconds.
    case rateLimited(message: String, retryAfter: Int)

    /// The HTTP status this error maps to.
    public var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .unprocessable: 422
        case .dailyLimit, .rateLimited: 429
        }
    }

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .badRequest(let code, _), .conflict(let code, _), .unprocessable(let code, _): code
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .tooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .dailyLimit: "daily_limit_reached"
        case .rateLimited: "rate_limited"
        }
    }

    /// A sentence for people.
    public var message: String {
        switch self {
        case .badRequest(_, let message), .conflict(_, let message), .unprocessable(_, let message): message
        case .unauthorized(let message), .forbidden(let message), .notFound(let message): message
        case .tooLarge(_, let message): message
        case .unsupportedMediaType(let message), .rateLimited(let message, _): message
        case .dailyLimit(let limit, let resetsAt):
            "You have reached this Datanet's limit of \(limit) items per day; it resets at \(ISO8601.string(resetsAt))."
        }
    }

    /// Shorthand for a malformed-request error.
    public static func invalid(_ message: String) -> DataError {
        .badRequest(code: "invalid_request", message: message)
    }
}

/// ISO 8601 timestamps in UTC with milliseconds, as the API writes them.
public enum ISO8601 {
    /// Formats a date such as `2026-11-25T21:13:59.000Z`.
    public static func string(_ date: Date) -> String {
        string(milliseconds: Int((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// Formats Unix milliseconds.
    public static func string(milliseconds: Int) -> String {
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                      milliseconds - milliseconds.floorDivided(by: 1000) * 1000)
    }
}

extension Int {
    /// Division rounding toward negative infinity, so days and seconds before 1970 stay whole.
    func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
extension DataError: CoalescedWriteError {}
