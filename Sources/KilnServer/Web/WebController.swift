// The server-rendered web pages.
import Foundation
import Hummingbird
import KilnData

/// Web pages: Datanets, submit, review, leaderboard, versions, accounts.
struct WebController: Sendable {
    let services: KilnServices

    /// Registers every page route on `router`.
    func addRoutes(to router: Router<KilnContext>) {
        router.get("/", use: home)
        router.get("static/kiln.css", use: { _, _ in Assets.response(Assets.css, type: "text/css; charset=utf-8") })
        router.get("static/kiln.js", use: { _, _ in Assets.response(Assets.js, type: "text/javascript; charset=utf-8") })
    }

    @Sendable func home(_ request: Request, context: KilnContext) async throws -> Response {
        let datanets = try await services.datanets.list()
        let rows: [HTML] = datanets.map { summary in
            """
            <li class="card"><a href="/datanets/\(summary.datanet.slug)"><h2>\(summary.datanet.title)</h2></a>
            <p>\(summary.datanet.description)</p><p class="meta"><span class="tag">\(summary.datanet.kind.rawValue)</span>
            \(summary.accepted) accepted · \(summary.pending) pending · \(summary.versions) versions</p></li>
            """
        }
        return Page.render(title: "Datanets", user: context.credential?.user, csrf: context.credential?.csrf, """
            <h1>Datanets</h1><ul class="datanets">\(rows)</ul>
            """)
    }
}

/// The stylesheet and script, served from memory.
enum Assets {
    static func response(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let css = """
        body { font-family: system-ui, sans-serif; margin: 0; color: #1f2328; background: #faf8f5; }
        """

    static let js = """
        "use strict";
        """
}
