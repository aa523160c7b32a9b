// Every JSON route under /api, listed in one place.
import Foundation
import Hummingbird
import KilnData

/// The JSON API: accounts, Datanets, submissions, reviews, leaderboards and versions.
struct APIController: Sendable {
    let services: KilnServices

    /// Registers every API route on `router`.
    func addRoutes(to router: Router<KilnContext>) {
        let api = router.group("api")
        api.post("auth/register", use: register)
        api.post("auth/login", use: login)
        api.post("auth/logout", use: logout)
        api.get("me", use: me)
        api.get("me/submissions", use: mySubmissions)

        api.get("datanets", use: listDatanets)
        api.post("datanets", use: createDatanet)
        api.get("datanets/:slug", use: showDatanet)
        api.post("datanets/:slug/curators", use: addCurator)
        api.post("datanets/:slug/submissions", use: submit)
        api.get("datanets/:slug/queue", use: queue)
        api.get("datanets/:slug/leaderboard", use: datanetLeaderboard)
        api.get("leaderboard", use: globalLeaderboard)

        api.get("submissions/:id", use: showSubmission)
        api.get("submissions/:id/content", use: submissionContent)
        api.post("submissions/:id/review", use: review)

        api.get("datanets/:slug/versions", use: listVersions)
        api.post("datanets/:slug/versions", use: publish)
        api.get("datanets/:slug/versions/:number", use: showVersion)
        api.get("datanets/:slug/versions/:number/export.jsonl", use: exportVersion)
        api.get("datanets/:slug/versions/:number/receipt", use: versionReceipt)
        api.get("submissions/:id/receipt", use: submissionReceipt)

        api.get("ledger/key", use: ledgerKey)
        api.get("ledger/head", use: ledgerHead)
        api.get("ledger/entries", use: ledgerEntries)
        api.get("ledger/entries/:seq", use: ledgerEntry)
        api.get("ledger/proof/inclusion", use: inclusionProof)
        api.get("ledger/proof/consistency", use: consistencyProof)
    }

    /// Decodes a JSON body of at most 64 KiB into `T`, refusing other content types.
    func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let media = UploadReader.mediaType(request)
        guard media == "application/json" || media.hasSuffix("+json") else {
            throw DataError.unsupportedMediaType("Send this request as application/json.")
        }
        let body = try await UploadReader.collect(request, limit: 64 * 1024)
        return try StrictJSON.decode(T.self, from: body)
    }

    /// A page request from `?limit=&cursor=`.
    func page(_ request: Request) throws -> PageRequest {
        try PageRequest(limit: request.uri.queryParameters.get("limit"), cursor: request.uri.queryParameters.get("cursor"))
    }

    /// The Datanet named by the `:slug` parameter.
    func datanet(_ context: KilnContext) async throws -> Datanet {
        try await services.datanets.get(context.parameters.get("slug") ?? "")
    }

    /// An integer path parameter, or 404 if it is not one.
    func intParameter(_ name: String, _ context: KilnContext) throws -> Int {
        guard let text = context.parameters.get(name), let value = Int(text), value >= 0 else {
            throw DataError.notFound("There is nothing at this address.")
        }
        return value
    }
}
