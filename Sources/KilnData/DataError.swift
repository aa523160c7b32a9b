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
    /// The contributor's automatic rejections in one Datanet reached the node's daily cap until `resetsAt`.
    case rejectionLimit(limit: Int, resetsAt: Date)
    /// The contributor's stored items would exceed the node's per-user storage quota.
    case quotaExceeded(quota: Int, used: Int, adding: Int)
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
        case .tooLarge, .quotaExceeded: 413
        case .unsupportedMediaType: 415
        case .unprocessable: 422
        case .dailyLimit, .rejectionLimit, .rateLimited: 429
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
        case .rejectionLimit: "rejection_limit_reached"
        case .quotaExceeded: "storage_quota_exceeded"
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
        case .rejectionLimit(let limit, let resetsAt):
            "The automatic checks have rejected \(limit) of your items in this Datanet today, the most a contributor may send; "
                + "check your items against the rules and try again after \(ISO8601.string(resetsAt))."
        case .quotaExceeded(let quota, let used, let adding):
            "Your items would take \(used + adding) bytes on this node, over its quota of \(quota) bytes per contributor."
        }
    }

    /// When a per-day limit resets, for `Retry-After` and `resets_at`.
    public var resetsAt: Date? {
        switch self {
        case .dailyLimit(_, let resetsAt), .rejectionLimit(_, let resetsAt): resetsAt
        default: nil
        }
    }

    /// Shorthand for a malformed-request error.
    public static func invalid(_ message: String) -> DataError {
        .badRequest(code: "invalid_request", message: message)
    }
}

extension DataError: CoalescedWriteError {}
