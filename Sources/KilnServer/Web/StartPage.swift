// The loop in three steps, for newcomers (and where `kiln demo` opens): data that is checked and reviewed, a run
// that learns from a frozen version of it, and a chat whose corrections go back into the data. Links point at this
// node's own examples when it has them.
import Foundation
import Hummingbird
import KilnData

extension WebController {
    /// The three-step introduction.
    @Sendable func startPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanets = try await services.datanets.list(page: try PageRequest(limit: "50", cursor: nil), viewer: context.credential?.user).items
        let instruction = datanets.first { $0.datanet.kind == .text && $0.datanet.schema == .instruction && $0.versions > 0 }?.datanet
        let run = try await services.jobs.list(limit: 50).first { $0.state == .succeeded && RunAccess.canRead($0, context) }
        return Layout.render("How Kiln works", context, StartViews.page(datanet: instruction, run: run))
    }
}

/// The introduction's HTML.
enum StartViews {
    /// Three numbered cards with links into this node.
    static func page(datanet: Datanet?, run: TrainingJob?) -> HTML {
        let dataLink: HTML = datanet.map { "<a class=\"button\" id=\"start-datanet\" href=\"/datanets/\($0.slug)\">Open \($0.title)</a>" }
            ?? "<a class=\"button\" id=\"start-datanet\" href=\"/\">Browse Datanets</a>"
        let runLink: HTML = run.map { "<a class=\"button\" id=\"start-run\" href=\"/runs/\($0.id)\">See run \($0.id)</a>" }
            ?? "<a class=\"button\" id=\"start-run\" href=\"/runs/new\">Start a run</a>"
        let model = run.map { "\(ServedModels.baseID($0.base)):run-\($0.id)" } ?? ServedModels.defaultID
        return """
            <section class="hero"><div><p class="eyebrow">How Kiln works</p><h1>Data in, a better model out, and credit where it is due</h1>
            <p class="lead">Kiln closes the loop between the people who write data and the models trained on it. Three steps, each one a page.</p></div></section>
            <ol class="steps" id="steps">
            <li class="card step"><span class="step-number">1</span><h2>Contribute and review</h2>
            <p>People add examples to a <strong>Datanet</strong>. Each item is checked automatically (format, length, duplicates), then a curator
            accepts or rejects it. Accepted items are frozen into a <strong>version</strong> whose Merkle root is signed on the ledger.</p>
            <p>\(dataLink)</p></li>
            <li class="card step"><span class="step-number">2</span><h2>Fine-tune</h2>
            <p>A <strong>run</strong> trains a LoRA adapter on a version, on this machine's CPU. You watch the loss fall live, then compare the tuned
            model with its base on held-out examples.</p>
            <p>\(runLink) <a class="button ghost" href="/runs/new">New run</a></p></li>
            <li class="card step"><span class="step-number">3</span><h2>Chat and correct</h2>
            <p>Talk to the tuned model. When an answer is wrong, <strong>correct it</strong>: the correction goes to the Datanet's review queue like
            any contribution, the next version includes it, and the next run learns from it.</p>
            <p><a class="button primary" id="start-chat" href="/chat?model=\(WebSession.queryValue(model))">Chat with \(model)</a></p></li>
            </ol>
            <p class="muted">Scripts can do all of this too: the <a href="/api/openapi.json">REST API</a> and an OpenAI-compatible <code>/v1</code> API.</p>
            """
    }
}
