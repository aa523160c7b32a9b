// The Chat page: talk to a base model or an adapter (or two side by side on the same prompt) through the
// OpenAI-compatible API, with answers streamed token by token. Each answer can be rated or corrected; the exchange
// goes to a Datanet the user picks as an ordinary submission, checked and reviewed like any other, so the next run
// learns from it. Conversations are kept on the node, per user.
import Foundation
import Hummingbird
import KilnAPI
import KilnData

extension WebController {
    /// The Chat page.
    @Sendable func chatPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
        var models: [ServedModel] = []
        if let training { models = try await ServedModels(catalog: training.catalog, jobs: services.jobs).all(for: context) }
        let readable = try await services.datanets.list(page: try PageRequest(limit: "100", cursor: nil), viewer: user).items
        let datanets: [Datanet] = readable.map(\.datanet).filter { (datanet: Datanet) -> Bool in
            datanet.kind == .text && datanet.schema != .plain
        }
        let query = request.uri.queryParameters
        let bases = try await services.knowledge.bases(visibleTo: user)
        return Layout.render("Chat", context, ChatViews.page(models.map(\.id), chosen: query.get("model"), compare: query.get("compare"),
                                                             datanets: datanets, user: user.username, knowledge: bases))
    }
}

/// The Chat page's HTML.
enum ChatViews {
    /// Settings on the left, the conversation on the right.
    static func page(_ models: [String], chosen: String?, compare: String?, datanets: [Datanet], user: String,
                     knowledge: [KnowledgeBaseRecord] = []) -> HTML {
        guard !models.isEmpty else {
            return "<section class=\"card empty\"><h2>No models to chat with</h2><p>This node has no base model installed yet.</p></section>"
        }
        let first = chosen.flatMap { models.contains($0) ? $0 : nil } ?? models[0]
        func options(_ selected: String?) -> [HTML] {
            models.map { "<option value=\"\($0)\"\($0 == selected ? HTML(" selected") : "")>\($0)</option>" }
        }
        let targets: [HTML] = datanets.map { "<option value=\"\($0.slug)\" data-schema=\"\($0.schema.rawValue)\">\($0.title) (\($0.schema.rawValue))</option>" }
        let feedback: HTML = datanets.isEmpty
            ? "<p class=\"hint\">No instruction or chat Datanet yet: create one to collect corrections.</p>"
            : "<select id=\"feedback-datanet\">\(targets)</select><p class=\"hint\">Ratings and corrections are submitted here and reviewed by its curators.</p>"
        return """
            <div class="chat-layout" data-chat data-user="\(user)">
            <aside class="card chat-settings"><h2>Model</h2>
            <label for="chat-model">Chat with</label><select id="chat-model">\(options(first))</select>
            <label class="check-box"><input type="checkbox" id="chat-compare"\(compare != nil ? HTML(" checked") : "")> Compare with a second model</label>
            <div id="compare-box"\(compare == nil ? HTML(" hidden") : "")><label for="chat-model-b">Second model</label>
            <select id="chat-model-b">\(options(compare ?? models.first { $0 != first }))</select></div>
            <label for="chat-knowledge">Knowledge</label><select id="chat-knowledge"><option value="">None</option>\(knowledge.map { base -> HTML in
                "<option value=\"\(base.id)\">\(base.name) (\(base.chunkCount) chunks)</option>" })</select>
            <p class="hint">With a knowledge base, the best chunks go into the prompt and the answer cites them.</p>
            <label for="chat-system">System prompt</label><textarea id="chat-system" rows="3" placeholder="You are a helpful baking assistant."></textarea>
            <div class="two"><div><label for="chat-temperature">Temperature</label><input type="number" id="chat-temperature" value="0" min="0" max="2" step="0.1">
            </div><div><label for="chat-top-p">Top p</label><input type="number" id="chat-top-p" value="1" min="0.01" max="1" step="0.05"></div></div>
            <label for="chat-max-tokens">Max new tokens</label><input type="number" id="chat-max-tokens" value="128" min="1" max="4096" step="1">
            <p class="hint">Temperature 0 answers greedily: the same prompt always gets the same answer.</p>
            <h3>Feedback goes to</h3>\(feedback)
            <h3>Conversations</h3><ul class="plain conversations" id="conversation-list"></ul>
            <button type="button" class="button small" id="new-conversation">+ New conversation</button>
            </aside>
            <section class="card chat-main"><div class="transcript" id="transcript" aria-live="polite">
            <p class="muted chat-empty" id="chat-empty">Ask something to start. Each answer shows its speed; rate it or correct it to teach the next run.</p></div>
            <form id="chat-form" class="chat-input"><textarea id="chat-input" rows="2" placeholder="Message" required></textarea>
            <div class="actions"><button class="button primary" id="chat-send">Send</button>
            <button type="button" class="button" id="chat-stop" hidden>Stop</button></div></form>
            <div id="chat-error" class="alert error" role="alert" hidden></div></section>
            </div>
            """
    }
}
