// Datanets: create, list, show, curators, leaderboards.
import Foundation
import KilnAPI
import Hummingbird
import KilnData

extension APIController {
    @Sendable func listDatanets(_ request: Request, context: KilnContext) async throws -> Response {
        let page = try await services.datanets.list(page: try page(request), viewer: context.credential?.user)
        return JSON.response(PageBody(items: page.items.map { DatanetBody($0.datanet, summary: $0) }, next: page.next))
    }

    @Sendable func createDatanet(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await decodeBody(CreateDatanetRequest.self, request)
        let datanet = try await services.datanets.create(body, by: user)
        return JSON.response(DatanetBody(datanet, summary: try await services.datanets.summary(of: datanet)), status: .created)
    }

    @Sendable func showDatanet(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        return JSON.response(DatanetBody(datanet, summary: try await services.datanets.summary(of: datanet)))
    }

    @Sendable func addCurator(_ request: Request, context: KilnContext) async throws -> Response {
        struct Body: Decodable {
            var username: String
            init(from decoder: any Decoder) throws {
                try decoder.rejectUnknownKeys(["username"])
                username = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .username)
            }
            enum CodingKeys: String, CodingKey { case username }
        }
        let datanet = try await datanet(context)
        let body = try await decodeBody(Body.self, request)
        guard let added = try await services.accounts.user(named: body.username) else {
            throw DataError.notFound("There is no user named \"\(body.username)\".")
        }
        try await services.datanets.addCurator(added, to: datanet)
        return JSON.response(DatanetBody(datanet, summary: try await services.datanets.summary(of: datanet)))
    }

    @Sendable func datanetLeaderboard(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let page = try await services.leaderboards.standings(in: datanet, page: try page(request, keyset: true))
        return JSON.response(PageBody(items: page.items.map(StandingBody.init), next: page.next))
    }

    @Sendable func globalLeaderboard(_ request: Request, context: KilnContext) async throws -> Response {
        let page = try await services.leaderboards.standings(in: nil, page: try page(request, keyset: true))
        return JSON.response(PageBody(items: page.items.map(StandingBody.init), next: page.next))
    }
}
