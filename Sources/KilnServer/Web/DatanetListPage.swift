// The home page: every Datanet with its kind and counts.
import Foundation
import Hummingbird
import KilnData

extension WebController {
    /// The Datanets list.
    @Sendable func home(_ request: Request, context: KilnContext) async throws -> Response {
        let page = try await services.datanets.list(page: try pageRequest(request, limit: 48), viewer: context.credential?.user)
        return Layout.render("Datanets", context, DatanetListViews.page(page.items, next: page.next, first: request.uri.queryParameters.get("cursor") == nil))
    }
}

/// The Datanets list.
enum DatanetListViews {
    /// A page of the list as cards, with an invitation to start one and a link to the next page.
    static func page(_ datanets: [DatanetSummary], next: String?, first: Bool) -> HTML {
        let cards: [HTML] = datanets.map(card)
        let empty: HTML = datanets.isEmpty && first
            ? "<div class=\"card empty\"><h2>No Datanets yet</h2><p>Start the first one: pick what it collects and write its rules.</p></div>"
            : ""
        return """
            <section class="hero"><div><h1>Datanets</h1>
            <p class="lead">Community datasets with clear rules. Every contribution is checked automatically, reviewed by a curator,
            and frozen into versions with a Merkle root anyone can verify.</p></div>
            <a class="button primary" href="/datanets/new" id="new-datanet">New Datanet</a></section>
            \(empty)<ul class="grid datanets" id="datanet-list">\(cards)</ul>\(Views.nextLink("/", next: next))
            """
    }

    /// One Datanet's card.
    static func card(_ summary: DatanetSummary) -> HTML {
        let datanet = summary.datanet
        let schema: HTML = datanet.kind == .text ? "<span class=\"tag\">\(datanet.schema.rawValue)</span>" : ""
        return """
            <li class="card datanet-card" data-slug="\(datanet.slug)"><a class="cover" href="/datanets/\(datanet.slug)">
            <div class="card-top">\(Views.kindTag(datanet.kind))\(schema)<span class="license">\(datanet.license)</span></div>
            <h2>\(datanet.title)</h2><p class="description">\(datanet.description.isEmpty ? "No description yet." : datanet.description)</p>
            <p class="mini-stats"><span><strong>\(Format.count(summary.accepted))</strong> accepted</span>
            <span><strong>\(Format.count(summary.pending))</strong> pending</span>
            <span><strong>\(Format.count(summary.contributors))</strong> \(summary.contributors == 1 ? "contributor" : "contributors")</span>
            <span><strong>\(Format.count(summary.versions))</strong> \(summary.versions == 1 ? "version" : "versions")</span></p></a></li>
            """
    }
}
