// The ledger's public routes: key, signed tree head, entries, proofs and receipts.
import Foundation
import Hummingbird
import KilnData
import KilnLedger

extension APIController {
    @Sendable func ledgerKey(_ request: Request, context: KilnContext) async throws -> Response {
        struct Body: Encodable {
            var algorithm = "ed25519"
            var public_key: String
        }
        return JSON.response(Body(public_key: services.ledger.publicKeyHex))
    }

    @Sendable func ledgerHead(_ request: Request, context: KilnContext) async throws -> Response {
        guard let head = try await services.ledger.head() else {
            throw DataError.notFound("The ledger is empty; it gets its first entry when a Datanet is created.")
        }
        return JSON.response(head)
    }

    @Sendable func ledgerEntries(_ request: Request, context: KilnContext) async throws -> Response {
        let from = try queryInt("from", request, default: 0, range: 0...Int.max)
        let limit = try queryInt("limit", request, default: 100, range: 1...1000)
        let entries = try await services.ledger.entries(from: from, limit: limit)
        let next = entries.count == limit ? entries.last.map { String($0.seq + 1) } : nil
        return JSON.response(PageJSON(items: entries, next: next))
    }

    @Sendable func ledgerEntry(_ request: Request, context: KilnContext) async throws -> Response {
        let seq = try intParameter("seq", context)
        guard let entry = try await services.ledger.entries(from: seq, limit: 1).first, entry.seq == seq else {
            throw DataError.notFound("There is no ledger entry \(seq).")
        }
        return JSON.response(entry)
    }

    @Sendable func inclusionProof(_ request: Request, context: KilnContext) async throws -> Response {
        let seq = try queryInt("seq", request, default: nil, range: 0...Int.max)
        let size = try optionalQueryInt("tree_size", request, range: 1...Int.max)
        return JSON.response(try await services.ledger.inclusion(seq: seq, treeSize: size))
    }

    @Sendable func consistencyProof(_ request: Request, context: KilnContext) async throws -> Response {
        let first = try queryInt("first", request, default: nil, range: 1...Int.max)
        let second = try queryInt("second", request, default: nil, range: 1...Int.max)
        return JSON.response(try await services.ledger.consistency(first: first, second: second))
    }

    @Sendable func submissionReceipt(_ request: Request, context: KilnContext) async throws -> Response {
        let submission = try await visibleSubmission(context)
        return JSON.response(try await services.ledger.receipt(about: "submission:\(submission.id)"))
    }

    @Sendable func versionReceipt(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let number = try intParameter("number", context)
        return JSON.response(try await services.ledger.receipt(about: "version:\(datanet.slug):\(number)"))
    }

    /// A required (or defaulted) integer query parameter within `range`.
    func queryInt(_ name: String, _ request: Request, default fallback: Int?, range: ClosedRange<Int>) throws -> Int {
        guard let value = try optionalQueryInt(name, request, range: range) ?? fallback else {
            throw DataError.badRequest(code: "missing_parameter", message: "The query parameter \(name) is required.")
        }
        return value
    }

    /// An optional integer query parameter within `range`.
    func optionalQueryInt(_ name: String, _ request: Request, range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw DataError.badRequest(code: "invalid_parameter", message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }
}
