// The server-rendered web pages, listed in one place.
import Foundation
import Hummingbird
import KilnData

/// Web pages: Datanets, submit, review, leaderboard, versions, the ledger explorer and receipts, accounts.
///
/// Pages read the stores directly; writes go through the same store methods as the API, so rules and
/// permissions are enforced in one place. The submit form posts to the JSON API from kiln.js.
struct WebController: Sendable {
    /// The stores every page reads and writes through.
    let services: KilnServices
    /// The login and registration budgets, shared with the API.
    let attempts: AttemptLimiter
    /// The node's base models and training worker; nil where training is off.
    var training: TrainingNode? = nil
    /// The node's knowledge bases.
    var knowledge: KnowledgeService? = nil

    /// Registers every page route on `router`.
    func addRoutes(to router: Router<KilnContext>) {
        router.get("/", use: home)
        router.get("register", use: registerPage)
        router.post("register", use: registerPost)
        router.get("login", use: loginPage)
        router.post("login", use: loginPost)
        router.post("logout", use: logoutPost)
        router.get("account", use: accountPage)
        router.post("account/password", use: passwordPost)
        router.post("account/revoke-all", use: revokeAllPost)
        router.get("me/submissions", use: mySubmissionsPage)
        router.get("leaderboard", use: globalLeaderboardPage)

        router.get("datanets/new", use: newDatanetPage)
        router.post("datanets/new", use: newDatanetPost)
        router.get("datanets/:slug", use: datanetPage)
        router.get("datanets/:slug/queue", use: queuePage)
        router.post("datanets/:slug/queue/:id", use: reviewPost)
        router.get("datanets/:slug/leaderboard", use: datanetLeaderboardPage)
        router.get("datanets/:slug/versions", use: versionsPage)
        router.post("datanets/:slug/versions", use: publishPost)
        router.get("datanets/:slug/versions/:number", use: versionPage)

        router.get("ledger", use: ledgerPage)
        router.get("ledger/lookup", use: ledgerLookup)
        router.get("ledger/entries/:seq", use: ledgerEntryPage)
        router.get("ledger/receipts/submission/:id", use: submissionReceiptPage)
        router.get("ledger/receipts/version/:slug/:number", use: versionReceiptPage)

        router.get("models", use: modelsPage)
        router.post("models/import", use: importModelPost)
        router.get("runs", use: runsPage)
        router.get("runs/new", use: newRunPage)
        router.get("runs/:id", use: runPage)
        router.get("chat", use: chatPage)
        router.get("knowledge", use: knowledgeListPage)
        router.get("knowledge/:id", use: knowledgeBasePage)
        router.get("knowledge/:id/documents/:document", use: knowledgeDocumentPage)
        router.get("start", use: startPage)

        router.get("static/kiln.css", use: { _, _ in Assets.response(Assets.stylesheet, type: "text/css; charset=utf-8") })
        router.get("static/kiln.js", use: { _, _ in Assets.response(Assets.script, type: "text/javascript; charset=utf-8") })
    }

    // MARK: - Helpers shared by the pages

    /// The Datanet named by the `:slug` parameter.
    /// - Throws: `DataError.notFound`.
    func datanet(_ context: KilnContext) async throws -> Datanet {
        try await Authorization(services: services).readableDatanet(context.parameters.get("slug") ?? "", context)
    }

    /// Whether the signed-in caller may review and publish in `datanet`.
    func canCurate(_ context: KilnContext, _ datanet: Datanet) async throws -> Bool {
        try await Authorization(services: services).isCurator(context, of: datanet)
    }

    /// The page of a list named by `?cursor=`, `limit` items long.
    func pageRequest(_ request: Request, limit: Int, keyset: Bool = false) throws -> PageRequest {
        try PageRequest(limit: String(limit), cursor: request.uri.queryParameters.get("cursor"), keyset: keyset)
    }
}
