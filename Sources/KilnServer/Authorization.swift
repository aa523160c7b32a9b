// Who may do what: the one place the access policy of the API table and the web pages is enforced.
import Foundation
import Hummingbird
import KilnData

/// Enforces `Endpoint.Access` for every API route (from the endpoint table) and for the pages that do the same things.
struct Authorization: Sendable {
    let services: KilnServices

    /// Refuses the request unless the caller has `access` to what the route's parameters name.
    /// - Throws: `DataError.unauthorized` (not signed in), `.forbidden` (not a curator of that Datanet), `.notFound`.
    func require(_ access: Endpoint.Access, _ context: KilnContext) async throws {
        switch access {
        case .anyone:
            return
        case .user:
            _ = try context.requireUser()
        case .curator:
            let user = try context.requireUser()
            try await requireCurator(user, of: try await routeDatanet(context))
        }
    }

    /// Refuses `user` unless they curate `datanet` (admins curate every Datanet).
    /// - Throws: `DataError.forbidden`.
    func requireCurator(_ user: User, of datanet: Datanet) async throws {
        guard try await services.datanets.canCurate(user, datanet) else {
            throw DataError.forbidden("Only curators of \(datanet.slug) can do this.")
        }
    }

    /// Whether the signed-in caller, if any, curates `datanet`: what pages show, never what they allow.
    func isCurator(_ context: KilnContext, of datanet: Datanet) async throws -> Bool {
        guard let user = context.credential?.user else { return false }
        return try await services.datanets.canCurate(user, datanet)
    }

    /// The Datanet a curator route acts on: its `:slug`, or the Datanet of the submission `:id`.
    private func routeDatanet(_ context: KilnContext) async throws -> Datanet {
        if let slug = context.parameters.get("slug") {
            return try await services.datanets.get(slug)
        }
        let submission = try await services.submissions.get(try context.numberParameter("id"))
        return try await services.datanets.get(submission.datanet)
    }
}
