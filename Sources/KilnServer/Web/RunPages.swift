// The Runs list and one run's page. The run page is rendered with what is stored now; kiln.js then follows
// `/api/runs/:id/events` (Server-Sent Events) to draw the loss chart and update progress live, offers cancel and
// resume, and, once the run succeeded, loads its evaluation and offers the downloads and the chat.
import Foundation
import Hummingbird
import KilnAPI
import KilnData

extension WebController {
    /// Every run the caller may see, newest first.
    @Sendable func runsPage(_ request: Request, context: KilnContext) async throws -> Response {
        let runs = try await services.jobs.list(limit: 200).filter { RunAccess.canRead($0, context) }
        return Layout.render("Runs", context, RunViews.list(runs, signedIn: context.credential != nil))
    }

    /// One run.
    @Sendable func runPage(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await RunAccess.readable(try context.numberParameter("id"), services.jobs, context)
        return Layout.render("Run \(job.id)", context, RunViews.page(job, canAct: RunAccess.isOwnerOrAdmin(job, context)))
    }
}

/// The runs pages' HTML.
enum RunViews {
    /// A state as a coloured badge.
    static func stateBadge(_ state: TrainingJob.State) -> HTML {
        "<span class=\"badge run-\(state.rawValue)\" data-state-badge>\(state.rawValue)</span>"
    }

    /// The Merkle root of the version a run trains on, from its spec ("" for a spec without one).
    static func merkleRoot(_ job: TrainingJob) -> String {
        if case .object(let train)? = JSONValue(parsing: job.spec)?["train"], case .string(let root)? = train["merkle_root"] { return root }
        return ""
    }

    /// The table of runs.
    static func list(_ runs: [TrainingJob], signedIn: Bool) -> HTML {
        let rows: [HTML] = runs.map { run in
            let progress = run.progress.flatMap { JSONValue(parsing: $0) }
            let step: String = if case .number(let s)? = progress?["step"], case .number(let t)? = progress?["total_steps"] {
                "\(Int(s)) / \(Int(t))"
            } else { "–" }
            return """
                <tr data-run="\(run.id)"><td><a href="/runs/\(run.id)">Run \(run.id)</a>\(run.isPrivate ? HTML(" <span class=\"tag\">private</span>") : "")</td>
                <td>\(stateBadge(run.state))</td><td>\(ServedModels.baseID(run.base))</td>
                <td><a href="/datanets/\(run.datanet)/versions/\(run.version)">\(run.datanet) v\(run.version)</a></td><td>\(step)</td>
                <td>\(run.owner)</td><td>\(Format.date(run.createdAt))</td></tr>
                """
        }
        let table: HTML = runs.isEmpty ? """
            <div class="card empty"><h2>No runs yet</h2><p>Fine-tune a base model on a published Datanet version and watch it learn here.</p></div>
            """ : """
            <div class="card table-card"><table class="table" id="run-list"><thead><tr><th>Run</th><th>State</th><th>Base</th><th>Data</th>
            <th>Step</th><th>By</th><th>Started</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
        return """
            <section class="hero"><div><h1>Runs</h1><p class="lead">Fine-tuning runs on this node: queued, training, and finished with their
            adapters.</p></div>\(signedIn ? HTML("<a class=\"button primary\" href=\"/runs/new\" id=\"new-run\">New run</a>") : "")</section>\(table)
            """
    }

    /// One run: head, live progress and chart, actions, the log; evaluation and downloads once it succeeded.
    static func page(_ job: TrainingJob, canAct: Bool) -> HTML {
        let spec = JSONValue(parsing: job.spec)
        let root = merkleRoot(job)
        let model = "\(ServedModels.baseID(job.base)):run-\(job.id)"
        let settings: [HTML] = ["lora_r", "lora_alpha", "learning_rate", "epochs", "max_steps", "micro_batch_size", "gradient_accumulation",
                                "max_length", "scheduler", "qlora"].compactMap { key in
            guard let value = spec?[key], value != .null else { return nil }
            let text: String = switch value {
            case .string(let s): s
            case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
            case .bool(let b): b ? "yes" : "no"
            default: value.compactText
            }
            return "<div><dt>\(key.replacingOccurrences(of: "_", with: " "))</dt><dd>\(text)</dd></div>"
        }
        let actions: HTML = canAct ? """
            <button type="button" class="button danger" id="cancel-run" data-run-action="cancel" hidden>Cancel</button>
            <button type="button" class="button primary" id="resume-run" data-run-action="resume" hidden>Resume from last checkpoint</button>
            """ : ""
        return """
            <div class="page-head"><p class="eyebrow"><a href="/runs">Runs</a> / \(job.id)</p>
            <h1>Run \(job.id) \(stateBadge(job.state))\(job.isPrivate ? HTML(" <span class=\"tag\">private</span>") : "")</h1>
            <p class="lead">\(ServedModels.baseID(job.base)) on <a href="/datanets/\(job.datanet)/versions/\(job.version)">\(job.datanet) v\(job.version)</a>
            <code class="hash" title="\(root)">\(Format.shortHash(root))</code> · started by \(job.owner) · \(Format.date(job.createdAt))</p></div>
            <div class="layout" id="run" data-run="\(job.id)" data-state="\(job.state.rawValue)" data-model="\(model)">
            <div class="main-col">
            <section class="card" id="progress-card"><div class="progress-head"><h2>Progress</h2><div class="actions">\(actions)</div></div>
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" id="progress-bar"><span></span></div>
            <p class="hint" id="state-line">\(job.error ?? "")</p>
            <dl class="stats" id="live-stats"><div><dt>step</dt><dd data-live="step">–</dd></div><div><dt>loss</dt><dd data-live="loss">–</dd></div>
            <div><dt>validation loss</dt><dd data-live="eval_loss">–</dd></div><div><dt>learning rate</dt><dd data-live="learning_rate">–</dd></div>
            <div><dt>tokens/s</dt><dd data-live="tokens_per_second">–</dd></div><div><dt>time left</dt><dd data-live="eta_seconds">–</dd></div>
            <div><dt>memory (RSS)</dt><dd data-live="rss_bytes">–</dd></div><div><dt>epoch</dt><dd data-live="epoch">–</dd></div></dl>
            <figure class="chart"><svg id="loss-chart" viewBox="0 0 640 260" role="img" aria-label="Training and validation loss by step"></svg>
            <figcaption><span class="key train">training loss</span> <span class="key eval">validation loss</span></figcaption></figure></section>
            <section class="card" id="evaluation" hidden><h2>Evaluation</h2>
            <p class="muted">The base model against the tuned one on the version's held-out validation items.</p>
            <dl class="stats" id="eval-figures"></dl><div id="eval-samples" class="samples"><p class="busy">Generating answers with both models…</p></div></section>
            <section class="card"><h2>Log</h2><pre class="log" id="run-log" aria-live="off"></pre></section>
            </div>
            <aside class="side-col"><section class="card facts" id="run-facts">
            <div id="finished-actions" hidden><a class="button primary block" id="chat-with-model" href="/chat?model=\(WebSession.queryValue(model))">Chat with this model</a>
            <h3>Download</h3><p class="links"><a href="/api/runs/\(job.id)/adapter?format=zip" id="download-zip">Adapter (.zip)</a><br>
            <a href="/api/runs/\(job.id)/adapter" id="download-tar">Adapter (.tar)</a><br>
            <a href="/api/runs/\(job.id)/merged" id="download-merged">Merged model</a></p>
            \(job.ledgerSeq.map { HTML("<h3>Ledger</h3><p><a href=\"/ledger/entries/\($0)\">Entry #\($0)</a></p>") } ?? "")
            <p class="hint">Model id for the API: <code>\(model)</code></p></div>
            <h3>Settings</h3><dl class="facts-grid">\(settings)</dl>
            <p class="links"><a href="/runs/new?data=\(WebSession.queryValue("\(job.datanet)@\(job.version)"))&amp;base=\(job.base)">Train again on this data →</a></p>
            </section></aside></div>
            """
    }
}
