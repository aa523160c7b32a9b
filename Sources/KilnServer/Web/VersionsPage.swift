// Dataset versions: the list with Merkle roots, publishing, and one version's manifest.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension WebController {
    /// A Datanet's versions.
    @Sendable func versionsPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        return try await renderVersions(datanet, context, error: nil)
    }

    /// Publishes a new version (curators only) and shows it.
    @Sendable func publishPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        let datanet = try await datanet(context)
        try await Authorization(services: services).requireCurator(user, of: datanet)
        do {
            let (version, _) = try await services.versions.publish(datanet, by: user)
            return WebSession.redirect("/datanets/\(datanet.slug)/versions/\(version.number)?published=1")
        } catch let error as DataError where error.status != 403 {
            return try await renderVersions(datanet, context, error: error.message, status: .init(code: error.status))
        }
    }

    /// One version's facts and manifest.
    @Sendable func versionPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.version(datanet, number: try context.numberParameter("number"))
        let from = request.lenientQueryNumber("from") ?? 0
        let head = Views.datanetTabs(datanet, current: "versions", canCurate: try await canCurate(context, datanet))
        let published = request.uri.queryParameters.get("published") != nil
        return Layout.render("Version \(version.number) · \(datanet.title)", context,
                           VersionViews.detail(head: head, version, items: items, from: from, published: published))
    }

    /// The versions list with an optional error from a failed publish.
    func renderVersions(_ datanet: Datanet, _ context: KilnContext, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let versions = try await services.versions.list(datanet).sorted { $0.number > $1.number }
        let canCurate = try await canCurate(context, datanet)
        let accepted = try await services.datanets.summary(of: datanet).accepted
        let head = Views.datanetTabs(datanet, current: "versions", canCurate: canCurate)
        return Layout.render("Versions · \(datanet.title)", context, status: status,
                           VersionViews.list(head: head, datanet, versions, accepted: accepted,
                                             csrf: canCurate ? context.credential?.csrf : nil, error: error))
    }
}

/// The version pages.
enum VersionViews {
    /// How many manifest rows one page shows.
    static let manifestPage = 500

    /// Every version, newest first; curators (given a `csrf`) get the publish button.
    static func list(head: HTML, _ datanet: Datanet, _ versions: [DatasetVersion], accepted: Int, csrf: String?, error: String?) -> HTML {
        let publish: HTML = csrf.map { csrf in
            """
            <form method="post" action="/datanets/\(datanet.slug)/versions" class="card publish" id="publish-form">
            <input type="hidden" name="csrf" value="\(csrf)"><div><h2>Publish a new version</h2>
            <p class="muted">Freezes all \(Format.plural(accepted, "accepted item")) into version \(versions.count + 1). Versions never change afterwards.</p></div>
            <button type="submit" class="button primary" id="publish-version">Publish new version</button></form>
            """
        } ?? ""
        let rows: [HTML] = versions.map { version in
            let url = "/datanets/\(datanet.slug)/versions/\(version.number)"
            return """
                <tr data-version="\(version.number)"><td><a href="\(url)"><strong>v\(version.number)</strong></a></td>
                <td class="num">\(Format.count(version.count))</td><td class="num">\(Format.count(version.trainCount)) / \(Format.count(version.validationCount))</td>
                <td class="num">\(Format.bytes(version.bytes))</td><td class="root"><code class="hash wrap">\(version.merkleRoot)</code></td>
                <td>\(version.createdBy)<br><span class="muted">\(Format.date(version.createdAt))</span></td>
                <td><a href="/api/datanets/\(datanet.slug)/versions/\(version.number)/export.jsonl" download>JSONL</a> ·
                <a href="/ledger/receipts/version/\(datanet.slug)/\(version.number)">Receipt</a></td></tr>
                """
        }
        let table: HTML = versions.isEmpty
            ? "<div class=\"card empty\"><h2>No versions yet</h2><p>A curator publishes one once items have been accepted.</p></div>"
            : """
              <div class="card table-card"><table class="table" id="versions"><thead><tr><th scope="col">Version</th><th scope="col" class="num">Items</th>
              <th scope="col" class="num">Train / validation</th><th scope="col" class="num">Size</th><th scope="col">Merkle root</th>
              <th scope="col">Published</th><th scope="col">Download</th></tr></thead><tbody>\(rows)</tbody></table></div>
              """
        return """
            \(head)
            <p class="lead">Each version freezes the accepted items in a fixed order. Its Merkle root (RFC 6962) over the items' SHA-256 hashes
            lets anyone check that an item belongs to it.</p>
            \(Views.errorBox(error))\(publish)\(table)
            """
    }

    /// One version: its facts, download and a page of its manifest.
    static func detail(head: HTML, _ version: DatasetVersion, items: [VersionItem], from: Int, published: Bool) -> HTML {
        let export = "/api/datanets/\(version.datanet)/versions/\(version.number)/export.jsonl"
        let shown = items.dropFirst(from).prefix(manifestPage)
        let rows: [HTML] = shown.map { item in
            """
            <tr><td class="num">\(item.position)</td><td><a href="/api/submissions/\(item.id)">#\(item.id)</a></td>
            <td><code class="hash" title="\(item.sha256)">\(Format.shortHash(item.sha256))</code></td><td><span class="tag">\(item.split.rawValue)</span></td>
            <td>\(item.contributor)</td><td>\(item.format)</td><td class="num">\(Format.bytes(item.bytes))</td></tr>
            """
        }
        var paging: [HTML] = []
        if from > 0 {
            paging.append("<a class=\"button\" href=\"?from=\(max(0, from - manifestPage))\">← Previous</a>")
        }
        if from + manifestPage < items.count {
            paging.append("<a class=\"button\" href=\"?from=\(from + manifestPage)\">Next →</a>")
        }
        let notice = published ? "Version \(version.number) is published. Its items and root will never change." : nil
        return """
            \(head)\(Views.noticeBox(notice))
            <section class="card version-facts" id="version-\(version.number)"><div class="version-title"><h2>Version \(version.number)</h2>
            <div class="actions"><a class="button" id="version-receipt" href="/ledger/receipts/version/\(version.datanet)/\(version.number)">Ledger receipt</a>
            <a class="button primary" id="download-export" href="\(export)" download>Download JSONL</a></div></div>
            <p class="label">Merkle root</p><p><code class="hash full" id="merkle-root">\(version.merkleRoot)</code></p>
            <dl class="stats"><div><dt>items</dt><dd>\(Format.count(version.count))</dd></div>
            <div><dt>train</dt><dd>\(Format.count(version.trainCount))</dd></div><div><dt>validation</dt><dd>\(Format.count(version.validationCount))</dd></div>
            <div><dt>size</dt><dd>\(Format.bytes(version.bytes))</dd></div></dl>
            <p class="muted">Published by \(version.createdBy) on \(Format.date(version.createdAt)).</p></section>
            <h2>Manifest</h2>
            <div class="card table-card"><table class="table" id="manifest"><thead><tr><th scope="col" class="num">#</th><th scope="col">Item</th>
            <th scope="col">SHA-256</th><th scope="col">Split</th><th scope="col">Contributor</th><th scope="col">Format</th><th scope="col" class="num">Size</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            <p class="paging">\(paging)</p>
            """
    }
}
