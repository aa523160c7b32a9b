// Leaderboards: contributors ranked by accepted items, for one Datanet and across all of them.
import Foundation
import Hummingbird
import KilnData

extension WebController {
    /// One Datanet's leaderboard.
    @Sendable func datanetLeaderboardPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let page = try await services.leaderboards.standings(in: datanet, page: try pageRequest(request, limit: 100, keyset: true))
        let head = Views.datanetTabs(datanet, current: "leaderboard", canCurate: try await canCurate(context, datanet))
        return Layout.render("Leaderboard · \(datanet.title)", context,
                           LeaderboardViews.page(head: head, page, path: "/datanets/\(datanet.slug)/leaderboard", you: context.credential?.user.username))
    }

    /// The leaderboard across every Datanet.
    @Sendable func globalLeaderboardPage(_ request: Request, context: KilnContext) async throws -> Response {
        let page = try await services.leaderboards.standings(in: nil, page: try pageRequest(request, limit: 100, keyset: true))
        let head: HTML = """
            <section class="page-head"><h1>Leaderboard</h1><p class="lead">Contributors across every Datanet, ranked by accepted items, then accepted bytes.</p></section>
            """
        return Layout.render("Leaderboard", context, LeaderboardViews.page(head: head, page, path: "/leaderboard", you: context.credential?.user.username))
    }
}

/// The leaderboard table.
enum LeaderboardViews {
    /// The ranking under `head`; the signed-in user's row is highlighted.
    static func page(head: HTML, _ page: KilnData.Page<Standing>, path: String, you: String?) -> HTML {
        let rows: [HTML] = page.items.map { standing in
            let medal: HTML = standing.rank <= 3 ? "<span class=\"medal rank-\(standing.rank)\" aria-hidden=\"true\"></span>" : ""
            return """
                <tr\(standing.username == you ? HTML(" class=\"you\"") : "") data-username="\(standing.username)"><td class="rank">\(medal)\(standing.rank)</td>
                <td class="user">\(standing.username)</td><td class="num accepted">\(Format.count(standing.accepted))</td>
                <td class="num">\(Format.bytes(standing.acceptedBytes))</td></tr>
                """
        }
        let table: HTML = page.items.isEmpty
            ? "<div class=\"card empty\"><h2>No accepted items yet</h2><p>The first accepted contribution puts its author on the board.</p></div>"
            : """
              <div class="card table-card"><table class="table" id="leaderboard"><thead><tr><th scope="col">Rank</th><th scope="col">Contributor</th>
              <th scope="col" class="num">Accepted</th><th scope="col" class="num">Accepted bytes</th></tr></thead><tbody>\(rows)</tbody></table></div>
              """
        return """
            \(head)\(table)
            <p class="muted">Rejected items never lower a standing.</p>\(Views.nextLink(path, next: page.next))
            """
    }
}
