// One Datanet: its rules in words, counts, curators, and the submit form for its kind and schema.
import Foundation
import Hummingbird
import KilnData

extension WebController {
    /// One Datanet: rules, counts, curators and the submit form.
    @Sendable func datanetPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let summary = try await services.datanets.summary(of: datanet)
        let canCurate = try await canCurate(context, datanet)
        let latest = try await services.versions.list(datanet).max { $0.number < $1.number }
        let created = request.uri.queryParameters.get("created") != nil
        return Layout.render(datanet.title, context, DatanetViews.page(summary, latest: latest, signedIn: context.credential != nil,
                                                                     canCurate: canCurate, created: created))
    }
}

/// The Datanet page.
enum DatanetViews {
    /// The page: head, rules and submit form beside the facts.
    static func page(_ summary: DatanetSummary, latest: DatasetVersion?, signedIn: Bool, canCurate: Bool, created: Bool) -> HTML {
        let datanet = summary.datanet
        let rules: [HTML] = RuleWords.sentences(for: datanet).map { "<li>\($0)</li>" }
        let notice = created ? "Your Datanet is ready and you are its curator. Share its address so people can contribute." : nil
        let submit: HTML = signedIn ? submitCard(datanet) : """
            <section class="card"><h2>Contribute</h2><p>Sign in to add items to this Datanet.</p>
            <p><a class="button primary" href="/login?next=/datanets/\(datanet.slug)">Sign in</a> <a class="button" href="/register?next=/datanets/\(datanet.slug)">Create an account</a></p></section>
            """
        return """
            \(Views.datanetTabs(datanet, current: "overview", canCurate: canCurate))
            \(Views.noticeBox(notice))
            <div class="layout">
            <div class="main-col">
            <section class="card"><p class="description">\(datanet.description.isEmpty ? "No description yet." : datanet.description)</p>
            <h2>Rules</h2><ul class="rules" id="rules">\(rules)</ul></section>
            \(submit)
            </div>
            \(aside(summary, latest: latest, canCurate: canCurate))
            </div>
            """
    }

    /// Counts, curators, licence and the latest version.
    static func aside(_ summary: DatanetSummary, latest: DatasetVersion?, canCurate: Bool) -> HTML {
        let datanet = summary.datanet
        let curators: [HTML] = summary.curators.map { "<li>\($0)</li>" }
        let version: HTML = latest.map { version in
            """
            <h3>Latest version</h3><p><a href="/datanets/\(datanet.slug)/versions/\(version.number)">Version \(version.number)</a>
            · \(Format.plural(version.count, "item"))</p><p><code class="hash" title="\(version.merkleRoot)">\(Format.shortHash(version.merkleRoot))</code></p>
            """
        } ?? "<h3>Versions</h3><p class=\"muted\">Nothing published yet.</p>"
        let queue: HTML = canCurate
            ? "<a class=\"button primary block\" id=\"open-queue\" href=\"/datanets/\(datanet.slug)/queue\">Review queue (\(Format.count(summary.pending)))</a>"
            : ""
        return """
            <aside class="side-col"><section class="card facts">
            <dl class="stats big" id="datanet-counts"><div><dt>accepted</dt><dd>\(Format.count(summary.accepted))</dd></div>
            <div><dt>pending</dt><dd>\(Format.count(summary.pending))</dd></div>
            <div><dt>rejected</dt><dd>\(Format.count(summary.rejected))</dd></div>
            <div><dt>contributors</dt><dd>\(Format.count(summary.contributors))</dd></div></dl>
            \(queue)
            <h3>Curators</h3><ul class="plain" id="curators">\(curators)</ul>
            <h3>Licence</h3><p>\(datanet.license)</p>
            \(version)
            <p class="links"><a href="/datanets/\(datanet.slug)/leaderboard">Leaderboard →</a><br><a href="/datanets/\(datanet.slug)/versions">All versions →</a></p>
            </section></aside>
            """
    }

    /// The submit form for the Datanet's kind and schema; kiln.js sends it to the API and shows the checks.
    static func submitCard(_ datanet: Datanet) -> HTML {
        let fields: HTML
        switch (datanet.kind, datanet.schema) {
        case (.text, .plain):
            fields = """
                <label for="item-text">Text</label><textarea id="item-text" name="text" rows="6" required></textarea>\(lengthHint(datanet))
                """
        case (.text, .instruction):
            fields = """
                <label for="item-instruction">Instruction</label><textarea id="item-instruction" name="instruction" rows="3" required></textarea>
                <label for="item-input">Input <span class="muted">(optional)</span></label><textarea id="item-input" name="input" rows="2"></textarea>
                <label for="item-response">Response</label><textarea id="item-response" name="response" rows="4" required></textarea>\(lengthHint(datanet))
                """
        case (.text, .chat):
            fields = """
                <div class="chat-rows" id="chat-rows">\(chatRow("user"))\(chatRow("assistant"))</div>
                <p><button type="button" class="button small" data-add-message>+ Add message</button></p>\(lengthHint(datanet))
                """
        case (.image, _), (.audio, _):
            let accept = datanet.rules.formats.compactMap(MediaFormat.init(rawValue:)).flatMap { [$0.mimeType, "." + $0.fileExtension] }
            let noun = datanet.kind == .image ? "images" : "recordings"
            fields = """
                <div class="dropzone" data-dropzone><input type="file" id="item-files" name="file" multiple accept="\(accept.joined(separator: ","))">
                <p><strong>Drop \(noun) here</strong> or <label for="item-files" class="linkish">choose files</label>.</p>
                <p class="hint">\(datanet.rules.formats.map(RuleWords.formatName).joined(separator: ", ")) · up to \(Format.bytes(datanet.rules.maxItemBytes)) each</p>
                <ul class="file-list" data-file-list></ul></div>
                """
        }
        return """
            <section class="card" id="contribute"><h2>Contribute</h2>
            <form id="submit-form" class="stack" data-submit data-slug="\(datanet.slug)" data-kind="\(datanet.kind.rawValue)" data-schema="\(datanet.schema.rawValue)">
            \(fields)
            <div class="actions"><button type="submit" class="button primary" id="submit-item">Submit</button><span class="busy" data-busy hidden>Checking…</span></div>
            </form>
            <div id="submit-results" class="results" aria-live="polite"></div>
            </section>
            """
    }

    /// One role/content row of the chat form.
    static func chatRow(_ role: String) -> HTML {
        let options: [HTML] = ["system", "user", "assistant"].map {
            "<option value=\"\($0)\"\($0 == role ? HTML(" selected") : "")>\($0)</option>"
        }
        return """
            <div class="chat-row"><select name="role" aria-label="Role">\(options)</select>
            <textarea name="content" rows="2" aria-label="Message" required></textarea>
            <button type="button" class="button small ghost" data-remove-message aria-label="Remove this message">✕</button></div>
            """
    }

    /// The length rule under a text form.
    static func lengthHint(_ datanet: Datanet) -> HTML {
        guard let range = RuleWords.range(datanet.rules.minChars.map(Format.count), datanet.rules.maxChars.map(Format.count)) else { return "" }
        return "<p class=\"hint\">Text \(range) characters.</p>"
    }
}
