// The ledger explorer: the node key, the latest signed tree head, the newest entries, and lookups.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData
import KilnLedger

extension WebController {
    /// How many entries one explorer page lists.
    static let ledgerPageSize = 25

    /// The explorer, newest entries first; `?before=N` pages back to entries below seq N.
    @Sendable func ledgerPage(_ request: Request, context: KilnContext) async throws -> Response {
        try await renderLedger(request, context, error: nil)
    }

    /// Finds the entry for `?seq=`, `?submission=`, or `?datanet=` (with an optional `&version=`) and redirects to it.
    @Sendable func ledgerLookup(_ request: Request, context: KilnContext) async throws -> Response {
        let query = request.uri.queryParameters
        /// A trimmed query value, `nil` when absent or blank.
        func text(_ name: String) -> String? {
            query.get(name).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let subject: LedgerSubject
        if let seq = text("seq") {
            guard let number = LedgerLookup.number(seq) else {
                return try await renderLedger(request, context, error: "An entry number is a whole number such as 12.", status: .badRequest)
            }
            guard number < (try await services.ledger.head()?.treeSize ?? 0) else {
                return try await renderLedger(request, context, error: "There is no entry \(number) on the ledger yet.", status: .notFound)
            }
            return WebSession.redirect("/ledger/entries/\(number)")
        } else if let submission = text("submission") {
            guard let id = LedgerLookup.number(submission.hasPrefix("#") ? String(submission.dropFirst()) : submission) else {
                return try await renderLedger(request, context, error: "A submission id is a whole number such as 12.", status: .badRequest)
            }
            subject = .submission(id)
        } else if let slug = text("datanet") {
            if let version = text("version") {
                guard let number = LedgerLookup.number(version.hasPrefix("v") ? String(version.dropFirst()) : version) else {
                    return try await renderLedger(request, context, error: "A version number is a whole number such as 3.", status: .badRequest)
                }
                subject = .version(slug, number)
            } else {
                subject = .datanet(slug)
            }
        } else {
            return try await renderLedger(request, context, error: "Give an entry number, a submission id, or a Datanet (and version).",
                                          status: .badRequest)
        }
        guard let entry = try await services.ledger.entries(about: subject).last else {
            return try await renderLedger(request, context, error: LedgerLookup.missing(subject), status: .notFound)
        }
        return WebSession.redirect("/ledger/entries/\(entry.seq)")
    }

    /// The explorer with an optional lookup error.
    func renderLedger(_ request: Request, _ context: KilnContext, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let head = try await services.ledger.head()
        let size = head?.treeSize ?? 0
        let before = min(size, request.lenientQueryNumber("before") ?? size)
        let start = max(0, before - Self.ledgerPageSize)
        let entries = before > 0 ? try await services.ledger.entries(from: start, limit: before - start).reversed() : []
        let names = try await services.ledger.usernames(ids: LedgerViews.userIds(Array(entries)))
        return Layout.render("Ledger", context, status: status,
                           LedgerExplorerViews.page(head: head, key: services.ledger.publicKeyHex, entries: Array(entries), names: names,
                                                    before: before, error: error, query: request.uri.queryParameters))
    }
}

/// Parsing and wording for the lookup form.
enum LedgerLookup {
    /// A non-negative whole number, or `nil` (never a crash on odd input such as "-1" or "1e9").
    static func number(_ text: String) -> Int? {
        RequestNumber.parse(text.trimmingCharacters(in: .whitespaces))
    }

    /// What to say when nothing on the ledger is about `subject`.
    static func missing(_ subject: LedgerSubject) -> String {
        let parts = subject.description.split(separator: ":", maxSplits: 2).map(String.init)
        switch parts.first {
        case "submission": return "Item #\(parts.last ?? "") has no ledger entry: it does not exist or is still waiting for review."
        case "version" where parts.count == 3: return "\(parts[1]) has no published version \(parts[2])."
        default: return "There is no Datanet called \(parts.last ?? "") on the ledger."
        }
    }
}

/// The explorer page.
enum LedgerExplorerViews {
    /// Key and head on top, then the lookup forms, then a page of entries, newest first.
    static func page(head: SignedTreeHead?, key: String, entries: [SignedEntry], names: [Int: String], before: Int, error: String?,
                     query: Hummingbird.Parameters) -> HTML {
        let headCard: HTML = head.map { head in
            """
            <section class="card" id="ledger-head"><h2>Latest signed tree head</h2>
            <dl class="stats two-up"><div><dt>entries</dt><dd id="head-size">\(Format.count(head.treeSize))</dd></div>
            <div><dt>signed</dt><dd>\(Format.date(head.timestamp))</dd></div></dl>
            <p class="label spaced">Merkle root</p>\(LedgerViews.hash(head.root, id: "head-root"))
            <p class="label spaced">Signature</p><code class="hash full small">\(head.signature)</code></section>
            """
        } ?? "<section class=\"card empty\" id=\"ledger-head\"><h2>No entries yet</h2><p>The first entry is written when a Datanet is created.</p></section>"
        return """
            <section class="page-head"><p class="eyebrow">Transparency</p><h1>Ledger</h1>
            <p class="lead">Every Datanet created, item accepted or rejected and version published is appended here, hash-chained, signed by this
            node and sealed into a Merkle tree (RFC 9162). Anyone can check an entry's proof; your browser can too.</p></section>
            \(Views.errorBox(error))
            <div class="ledger-top">\(headCard)
            <section class="card" id="ledger-key"><h2>Node key</h2><p class="muted">Ed25519 public key that signs every entry and tree head.</p>
            \(LedgerViews.hash(key, id: "public-key"))
            <p class="hint">Check a receipt offline against it: <code>kiln ledger verify-receipt receipt.json --key \(Format.shortHash(key))</code></p></section></div>
            \(lookup(query))
            <h2 class="section-title">Latest entries</h2>
            \(table(entries, names: names))
            \(paging(before: before, shown: entries.count, size: head?.treeSize ?? 0))
            """
    }

    /// Three small forms: by entry number, by submission id, by Datanet and version; each keeps what was typed.
    static func lookup(_ query: Hummingbird.Parameters) -> HTML {
        let seq = query.get("seq")
        let submission = query.get("submission")
        let datanet = query.get("datanet")
        let version = query.get("version")
        return """
            <section class="card" id="ledger-lookup"><h2>Look up an entry</h2><div class="lookup-forms">
            <form method="get" action="/ledger/lookup" class="lookup" id="lookup-seq"><label for="lookup-seq-input">Entry number</label>
            <div class="lookup-row"><input type="number" min="0" id="lookup-seq-input" name="seq" value="\(seq)" placeholder="e.g. 12" required>
            <button class="button" type="submit">Open</button></div></form>
            <form method="get" action="/ledger/lookup" class="lookup" id="lookup-submission"><label for="lookup-submission-input">Submission id</label>
            <div class="lookup-row"><input type="text" inputmode="numeric" id="lookup-submission-input" name="submission" value="\(submission)" placeholder="e.g. 42" required>
            <button class="button" type="submit" id="lookup-submission-button">Find</button></div></form>
            <form method="get" action="/ledger/lookup" class="lookup" id="lookup-version"><label for="lookup-datanet-input">Datanet and version</label>
            <div class="lookup-row"><input type="text" id="lookup-datanet-input" name="datanet" value="\(datanet)" placeholder="baking-notes" required>
            <input type="text" inputmode="numeric" class="narrow-input" id="lookup-version-input" name="version" value="\(version)" placeholder="3" aria-label="Version number (blank for the Datanet's creation)">
            <button class="button" type="submit">Find</button></div></form>
            </div><p class="hint">Leave the version blank to find the Datanet's creation.</p></section>
            """
    }

    /// The entries table: seq, kind, what happened, when, hash prefix.
    static func table(_ entries: [SignedEntry], names: [Int: String]) -> HTML {
        guard !entries.isEmpty else {
            return "<div class=\"card empty\"><h2>Nothing on the ledger yet</h2><p>Create a <a href=\"/datanets/new\">Datanet</a> to write the first entry.</p></div>"
        }
        let rows: [HTML] = entries.map { entry in
            """
            <tr data-seq="\(entry.seq)"><td class="num"><a href="/ledger/entries/\(entry.seq)"><strong>\(entry.seq)</strong></a></td>
            <td>\(LedgerViews.kindTag(entry.kind))</td><td class="summary"><a href="/ledger/entries/\(entry.seq)">\(LedgerViews.summary(entry, names: names))</a></td>
            <td class="when">\(Format.date(entry.time))</td><td><code class="hash" title="\(entry.hash)">\(Format.shortHash(entry.hash))</code></td></tr>
            """
        }
        return """
            <div class="card table-card"><table class="table" id="ledger-entries"><thead><tr><th scope="col" class="num">Seq</th><th scope="col">Kind</th>
            <th scope="col">What happened</th><th scope="col">Time</th><th scope="col">Hash</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }

    /// Links to newer and older pages.
    static func paging(before: Int, shown: Int, size: Int) -> HTML {
        var links: [HTML] = []
        if before < size {
            links.append("<a class=\"button\" href=\"/ledger?before=\(min(size, before + WebController.ledgerPageSize))\">← Newer</a>")
        }
        if before - shown > 0 {
            links.append("<a class=\"button\" href=\"/ledger?before=\(before - shown)\" id=\"older\">Older →</a>")
        }
        return links.isEmpty ? "" : "<p class=\"paging\">\(links)</p>"
    }
}
