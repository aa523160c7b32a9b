// The ledger's public routes: key, signed tree head, entries, proofs and receipts.
import Foundation
import KilnAPI
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
        let from = try request.queryNumber("from", default: 0, in: 0...RequestNumber.maxValue)
        let limit = try request.queryNumber("limit", default: 100, in: 1...1000)
        let entries = try await services.ledger.entries(from: from, limit: limit)
        let next = entries.count == limit ? entries.last.map { String($0.seq + 1) } : nil
        return JSON.response(PageBody(items: entries, next: next))
    }

    @Sendable func ledgerEntry(_ request: Request, context: KilnContext) async throws -> Response {
        let seq = try context.numberParameter("seq")
        guard let entry = try await services.ledger.entries(from: seq, limit: 1).first, entry.seq == seq else {
            throw DataError.notFound("There is no ledger entry \(seq).")
        }
        return JSON.response(entry)
    }

    @Sendable func inclusionProof(_ request: Request, context: KilnContext) async throws -> Response {
        let seq = try request.queryNumber("seq", default: nil, in: 0...RequestNumber.maxValue)
        let size = try request.queryNumber("tree_size", in: 1...RequestNumber.maxValue)
        return JSON.response(try await services.ledger.inclusion(seq: seq, treeSize: size))
    }

    @Sendable func consistencyProof(_ request: Request, context: KilnContext) async throws -> Response {
        let first = try request.queryNumber("first", default: nil, in: 1...RequestNumber.maxValue)
        let second = try request.queryNumber("second", default: nil, in: 1...RequestNumber.maxValue)
        return JSON.response(try await services.ledger.consistency(first: first, second: second))
    }

    @Sendable func submissionReceipt(_ request: Request, context: KilnContext) async throws -> Response {
        let submission = try await visibleSubmission(context)
        return JSON.response(try await services.ledger.receipt(about: .submission(submission.id)))
    }

    @Sendable func versionReceipt(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let number = try context.numberParameter("number")
        return JSON.response(try await services.ledger.receipt(about: .version(datanet.slug, number)))
    }
}
