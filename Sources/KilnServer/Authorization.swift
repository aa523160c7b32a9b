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

    /// The Datanet `slug` if the caller may see it: a public one anyone; a private one its curators and admins. For
    /// everyone else a private Datanet does not exist, so the answer is the same 404 as for a slug nobody took.
    func readableDatanet(_ slug: String, _ context: KilnContext) async throws -> Datanet {
        let datanet = try await services.datanets.get(slug)
        guard try await canRead(datanet, context) else { throw DataError.notFound("There is no Datanet named \"\(slug)\".") }
        return datanet
    }

    /// Whether the caller may see `datanet`.
    func canRead(_ datanet: Datanet, _ context: KilnContext) async throws -> Bool {
        if !datanet.isPrivate { return true }
        return try await isCurator(context, of: datanet)
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

/// Who may see and act on a training run: a public run is readable by anyone; a private one exists only for its owner
/// and admins (others get the same 404 as for a run that does not exist); acting on a run (cancel, resume) is for its
/// owner and admins.
enum RunAccess {
    /// Whether the caller may see `job`.
    static func canRead(_ job: TrainingJob, _ context: KilnContext) -> Bool {
        !job.isPrivate || isOwnerOrAdmin(job, context)
    }

    /// Whether the caller owns `job` or is an admin.
    static func isOwnerOrAdmin(_ job: TrainingJob, _ context: KilnContext) -> Bool {
        guard let user = context.credential?.user else { return false }
        return user.isAdmin || user.username == job.owner
    }

    /// The run `id` if the caller may see it.
    /// - Throws: `DataError.notFound` when there is none or it is another user's private run.
    static func readable(_ id: Int, _ jobs: JobStore, _ context: KilnContext) async throws -> TrainingJob {
        guard let job = try await jobs.job(id), canRead(job, context) else { throw DataError.notFound("There is no run \(id).") }
        return job
    }

    /// The run `id` if the signed-in caller may act on it.
    /// - Throws: `DataError.unauthorized`, `.notFound` (as `readable`), or `.forbidden` for someone else's public run.
    static func actionable(_ id: Int, _ jobs: JobStore, _ context: KilnContext) async throws -> TrainingJob {
        _ = try context.requireUser()
        let job = try await readable(id, jobs, context)
        guard isOwnerOrAdmin(job, context) else { throw DataError.forbidden("Only \(job.owner), who started run \(id), or an admin can do this.") }
        return job
    }
}
