// The Knowledge pages: the bases a user may search with a form to create one; a base with its documents, an upload
// box (files sent one by one with a progress bar each), a published Datanet version to add, and a search that shows
// BM25, dense and hybrid results side by side with their scores; a document's chunks, each addressable as
// #chunk-<id> so that a chat citation opens on it.
import Foundation
import Hummingbird
import KilnAPI
import KilnData

extension WebController {
    /// The knowledge base named by `:id` if the signed-in caller may see it.
    func visibleKnowledgeBase(_ context: KilnContext, _ user: User) async throws -> KnowledgeBaseRecord {
        let id = try context.numberParameter("id")
        guard let base = try await services.knowledge.base(id), base.visible(to: user) else {
            throw DataError.notFound("There is no knowledge base \(id).")
        }
        return base
    }

    /// The list of bases and the form to create one.
    @Sendable func knowledgeListPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
        let bases = try await services.knowledge.bases(visibleTo: user)
        let rows: [HTML] = bases.map { base in
            """
            <tr><td><a href="/knowledge/\(base.id)" class="kb-link">\(base.name)</a>\(base.isBuiltin ? HTML(" <span class=\"tag\">built-in</span>") : "")\
            \(base.isPublic && !base.isBuiltin ? HTML(" <span class=\"tag\">public</span>") : "")<br><span class="muted">\(base.description)</span></td>
            <td class="num">\(base.documentCount)</td><td class="num">\(base.chunkCount)</td><td>\(Format.date(base.updatedAt))</td></tr>
            """
        }
        return Layout.render("Knowledge", context, """
            <div class="page-head"><h1>Knowledge</h1><p class="lead">Documents a chat can draw on, each answer citing the chunks it used.</p></div>
            <div class="kb-layout"><section class="card"><h2>Knowledge bases</h2>
            \(bases.isEmpty ? HTML("<p class=\"muted\">None yet.</p>") : """
                <table class="table" id="kb-table"><thead><tr><th>Name</th><th class="num">Documents</th><th class="num">Chunks</th><th>Updated</th></tr></thead>
                <tbody>\(rows)</tbody></table>
                """)</section>
            <section class="card"><h2>New knowledge base</h2><form id="kb-create" data-knowledge-create>
            <label for="kb-name">Name</label><input id="kb-name" name="name" required maxlength="100" placeholder="Studio handbook">
            <label for="kb-description">Description</label><textarea id="kb-description" name="description" rows="2" maxlength="2000"></textarea>
            <label class="check-box"><input type="checkbox" id="kb-public"> Every signed-in user may search it</label>
            <details><summary>Chunking and index settings</summary><div class="two">
            <div><label for="kb-max-tokens">Chunk size (word pieces)</label><input type="number" id="kb-max-tokens" value="200" min="16" max="4096"></div>
            <div><label for="kb-overlap">Overlap</label><input type="number" id="kb-overlap" value="32" min="0" max="2047"></div>
            <div><label for="kb-k1">BM25 k1</label><input type="number" id="kb-k1" value="1.5" min="0" step="0.1"></div>
            <div><label for="kb-b">BM25 b</label><input type="number" id="kb-b" value="0.75" min="0" max="1" step="0.05"></div>
            <div><label for="kb-m">HNSW M</label><input type="number" id="kb-m" value="16" min="2" max="512"></div>
            <div><label for="kb-ef">HNSW efSearch</label><input type="number" id="kb-ef" value="64" min="1" max="100000"></div>
            </div></details>
            <div class="actions"><button class="button primary" id="kb-create-button">Create</button></div>
            <div class="alert error" id="kb-create-error" role="alert" hidden></div></form></section></div>
            """)
    }

    /// One base: documents, upload, Datanet versions and the side-by-side search.
    @Sendable func knowledgeBasePage(_ request: Request, context: KilnContext) async throws -> Response {
        guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
        let base = try await visibleKnowledgeBase(context, user)
        let documents = try await services.knowledge.documents(base: base.id)
        let editable = base.editable(by: user)
        let rows: [HTML] = documents.map { document in
            """
            <tr data-document="\(document.id)"><td><a href="/knowledge/\(base.id)/documents/\(document.id)">\(document.name)</a></td><td>\(document.format)</td>
            <td class="num">\(document.chunkCount)</td><td class="num">\(Format.bytes(document.byteCount))</td><td>\(Format.date(document.createdAt))</td>
            <td>\(editable ? HTML("<button type=\"button\" class=\"button small ghost\" data-delete-document=\"\(document.id)\">Remove</button>") : "")</td></tr>
            """
        }
        var versions: [HTML] = []
        if editable {
            let readable = try await services.datanets.list(page: try PageRequest(limit: "100", cursor: nil), viewer: user).items
            versions = readable.filter { $0.datanet.kind == .text }.map { "<option value=\"\($0.datanet.slug)\">\($0.datanet.title)</option>" }
        }
        let settings = KnowledgeSettings.decode(base.settings)
        let upload: HTML = editable ? """
            <section class="card"><h2>Add documents</h2><form id="kb-upload">
            <label for="kb-files">Markdown, text, HTML or PDF files (a file with the name of one already here replaces it)</label>
            <input type="file" id="kb-files" multiple accept=".md,.markdown,.txt,.text,.html,.htm,.pdf,text/markdown,text/plain,text/html,application/pdf">
            <div class="actions"><button class="button primary" id="kb-upload-button">Upload and index</button></div>
            <ul class="plain uploads" id="kb-progress"></ul><div class="alert error" id="kb-upload-error" role="alert" hidden></div></form>
            \(versions.isEmpty ? HTML("") : """
                <form id="kb-version" class="inline-form"><h3>A published Datanet version</h3><div class="two">
                <div><label for="kb-datanet">Datanet</label><select id="kb-datanet">\(versions)</select></div>
                <div><label for="kb-version-number">Version</label><input type="number" id="kb-version-number" min="1" value="1"></div></div>
                <p class="hint">Each text item becomes a chunk that keeps its contributor, so answers credit them.</p>
                <div class="actions"><button class="button" id="kb-version-button">Add version</button></div></form>
                """)
            <p class="danger-zone"><button type="button" class="button small ghost" id="kb-delete">Delete this knowledge base</button></p></section>
            """ : ""
        return Layout.render(base.name, context, """
            <div class="page-head" data-knowledge-base="\(base.id)"><p class="eyebrow"><a href="/knowledge">Knowledge</a></p><h1>\(base.name)</h1>
            <p class="lead">\(base.description.isEmpty ? "\(base.documentCount) documents, \(base.chunkCount) chunks." : base.description)</p>
            <p class="muted">Embedder \(base.embedder) · chunks of \(settings.chunking.maxTokens) word pieces, overlap \(settings.chunking.overlapTokens) ·
            BM25 k1 \(String(settings.bm25.k1)), b \(String(settings.bm25.b)) · HNSW M \(settings.hnsw.m), efSearch \(settings.hnsw.efSearch)</p></div>
            <div class="kb-layout"><section class="card"><h2>Documents</h2>
            \(documents.isEmpty ? HTML("<p class=\"muted\" id=\"kb-no-documents\">No documents yet.</p>") : """
                <table class="table" id="kb-documents"><thead><tr><th>Name</th><th>Format</th><th class="num">Chunks</th><th class="num">Size</th><th>Added</th><th></th></tr></thead>
                <tbody>\(rows)</tbody></table>
                """)</section>\(upload)</div>
            <section class="card"><h2>Try a search</h2><form id="kb-search" class="search-row">
            <input type="search" id="kb-query" placeholder="Ask something the documents answer" required maxlength="4000">
            <button class="button primary" id="kb-search-button">Search</button></form>
            <div class="kb-results"><div><h3>BM25</h3><ol id="results-bm25" class="results"></ol></div>
            <div><h3>Dense (\(base.embedder))</h3><ol id="results-dense" class="results"></ol></div>
            <div><h3>Hybrid (reciprocal rank fusion)</h3><ol id="results-hybrid" class="results"></ol></div></div></section>
            """)
    }

    /// A document's chunks.
    @Sendable func knowledgeDocumentPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
        let base = try await visibleKnowledgeBase(context, user)
        let id = try context.numberParameter("document")
        guard let document = try await services.knowledge.document(id, base: base.id) else {
            throw DataError.notFound("The knowledge base has no document \(id).")
        }
        let chunks = try await services.knowledge.chunks(document: id)
        let items: [HTML] = chunks.map { chunk in
            let origin: HTML = chunk.itemID.map { item in
                "<p class=\"chunk-origin\">From <a href=\"/ledger/receipts/submission/\(item)\">item \(item)</a>\(chunk.contributor.map { HTML(" by <span class=\"contributor\">\($0)</span>") } ?? "")</p>"
            } ?? ""
            return """
                <article class="card chunk" id="chunk-\(chunk.id)"><p class="chunk-path">#\(chunk.position + 1) · \(chunk.headingPath.isEmpty ? "—" : chunk.headingPath.joined(separator: " › "))</p>
                <div class="chunk-text">\(chunk.text)</div>\(origin)</article>
                """
        }
        return Layout.render(document.name, context, """
            <div class="page-head"><p class="eyebrow"><a href="/knowledge">Knowledge</a> › <a href="/knowledge/\(base.id)">\(base.name)</a></p>
            <h1>\(document.name)</h1><p class="muted">\(document.format) · \(Format.bytes(document.byteCount)) · \(chunks.count) chunks · sha256 <code>\(String(document.sha256.prefix(16)))…</code></p></div>
            <div class="chunks">\(items)</div>
            """)
    }
}
