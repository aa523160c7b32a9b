// Request numbers in routes: every path and query number is read here, through `RequestNumber`'s bounds.
import Hummingbird
import KilnData

extension KilnContext {
    /// A whole-number path parameter (an id, a version, a sequence number), or 404 when it is not one within 0...2⁵³.
    /// - Throws: `DataError.notFound`.
    func numberParameter(_ name: String) throws -> Int {
        guard let text = parameters.get(name), let value = RequestNumber.parse(text) else {
            throw DataError.notFound("There is nothing at this address.")
        }
        return value
    }
}

extension Request {
    /// An optional whole-number query parameter within `range`.
    /// - Throws: `DataError.badRequest` (`invalid_NAME`) when present but not a number in `range`.
    func queryNumber(_ name: String, in range: ClosedRange<Int> = 0...RequestNumber.maxValue) throws -> Int? {
        try RequestNumber.optional(uri.queryParameters.get(name), name: name, in: range)
    }

    /// A whole-number query parameter within `range`, `fallback` when absent (required when `fallback` is `nil`).
    /// - Throws: `DataError.badRequest` when invalid, or missing without a fallback.
    func queryNumber(_ name: String, default fallback: Int?, in range: ClosedRange<Int> = 0...RequestNumber.maxValue) throws -> Int {
        guard let value = try queryNumber(name, in: range) ?? fallback else {
            throw DataError.badRequest(code: "missing_parameter", message: "The query parameter \(name) is required.")
        }
        return value
    }

    /// A query number for a web page, where a bad value is ignored as if absent (pages fall back to their first page).
    func lenientQueryNumber(_ name: String, in range: ClosedRange<Int> = 0...RequestNumber.maxValue) -> Int? {
        uri.queryParameters.get(name).flatMap { RequestNumber.parse($0, in: range) }
    }
}
