// The OpenAI-compatible API: `GET /v1/models`, `POST /v1/chat/completions` and `POST /v1/completions`, with Kiln's
// API tokens as bearer keys, so the official clients and tools built on them talk to a node unchanged. A greedy request
// (temperature 0) gives exactly the tokens `kiln generate --greedy` gives for the same prompt; a streamed answer equals
// the non-streamed one.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData
import KilnModels

/// The /v1 routes over the node's served models and its inference worker.
struct OpenAIController: Sendable {
    let models: ServedModels
    let worker: InferenceWorker
    /// Knowledge bases for retrieval in chat, and the sentence embedder of /v1/embeddings.
    let knowledge: KnowledgeService
    /// The largest body accepted: far above any real conversation, far below what memory minds.
    static let maxBodyBytes = 2 << 20

    /// Registers the routes.
    func addRoutes(to router: Router<KilnContext>) {
        let v1 = router.group("v1")
        v1.get("models", use: listModels)
        v1.get("models/:id", use: showModel)
        v1.post("chat/completions", use: chatCompletions)
        v1.post("completions", use: completions)
        v1.post("embeddings", use: embeddings)
    }

    /// OpenAI's model object.
    struct ModelBody: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var owned_by: String
    }

    @Sendable func listModels(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        struct List: Encodable {
            var object = "list"
            var data: [ModelBody]
        }
        return JSON.response(List(data: try await models.all(for: context).map { ModelBody(id: $0.id, created: $0.created, owned_by: $0.ownedBy) }))
    }

    @Sendable func showModel(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        let model = try await models.resolve(context.parameters.get("id") ?? "", for: context)
        return JSON.response(ModelBody(id: model.id, created: model.created, owned_by: model.ownedBy))
    }

    /// The request's JSON fields, the body capped at `maxBodyBytes`.
    func fields(_ request: Request) async throws -> OpenAIFields {
        let media = UploadReader.mediaType(request)
        guard media.isEmpty || media == "application/json" || media.hasSuffix("+json") else {
            throw OpenAIError(status: .unsupportedMediaType, message: "Send the request as application/json.", type: "invalid_request_error",
                              param: nil, code: "unsupported_media_type")
        }
        let body: Data
        do {
            body = try await UploadReader.collect(request, limit: Self.maxBodyBytes)
        } catch let error as DataError where error.status == 413 {
            throw OpenAIError(status: .contentTooLarge, message: "The request body is larger than \(Self.maxBodyBytes / (1 << 20)) MiB; shorten the messages.",
                              type: "invalid_request_error", param: "messages", code: "request_too_large")
        }
        return try OpenAIFields(body: body)
    }

    @Sendable func embeddings(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        return try await EmbeddingsRoute(knowledge: knowledge).respond(try await fields(request))
    }

    @Sendable func chatCompletions(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let fields = try await fields(request)
        let body = try fields.chatRequest()
        let retrieval = try ChatKnowledgeRequest.parse(fields)
        let served = try await models.resolve(body.model, for: context)
        var messages = body.messages
        var retrieved: ChatContext?
        if let retrieval {
            let found = try await knowledge.chatContext(retrieval, messages: messages, user: user)
            messages = found.messages(messages)
            retrieved = found
        }
        let serving = try await load(served)
        let loaded = serving.loaded
        let promptIds: [Int]?
        do {
            promptIds = try loaded.chatPromptIds(messages.map { ChatTemplateMessage(role: $0.role, content: $0.content) })
        } catch {
            throw OpenAIError.invalid("The model's chat template refused these messages: \(error.localizedDescription)", param: "messages")
        }
        guard let promptIds else {
            throw OpenAIError.invalid("The model `\(served.id)` has no chat template; use /v1/completions.", param: "model", code: "no_chat_template")
        }
        var run = try GenerationRun(served: served, serving: serving, promptIds: promptIds, sampling: body.sampling, chat: true)
        if let retrieved {
            run.citations = retrieved.citations
            // Which chunks shaped the answer, kept for attribution under the completion's id.
            try await knowledge.store.recordUse(owner: user, completionID: run.id, chunkIDs: retrieved.chunks.map(\.chunk.id))
        }
        return try await respond(run)
    }

    @Sendable func completions(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        let body = try await fields(request).completionRequest()
        let served = try await models.resolve(body.model, for: context)
        let serving = try await load(served)
        let loaded = serving.loaded
        let promptIds: [Int]
        switch body.prompt {
        case .text(let text): promptIds = loaded.tokenizer.encode(text)
        case .ids(let ids): promptIds = ids
        }
        var run = try GenerationRun(served: served, serving: serving, promptIds: promptIds, sampling: body.sampling, chat: false)
        if body.echo, case .text(let text) = body.prompt { run.echo = text }
        return try await respond(run)
    }

    /// The loaded model, load failures as 500s that name the model (the files are the node's, not the caller's).
    func load(_ served: ServedModel) async throws -> ServingModel {
        do {
            return try await worker.model(base: served.base, adapter: served.adapter)
        } catch {
            throw OpenAIError(status: .internalServerError, message: "The model `\(served.id)` could not be loaded: \(error.localizedDescription)",
                              type: "server_error", param: nil, code: "model_load_failed")
        }
    }

    /// Runs `run` and answers with one JSON body or an SSE stream.
    func respond(_ run: GenerationRun) async throws -> Response {
        let cancel = StopSignal()
        let events = worker.generate(run.serving, promptIds: run.promptIds, options: run.options, cancel: cancel)
        NodeMetrics.shared.add("kiln_generation_requests_total")
        NodeMetrics.shared.add("kiln_prompt_tokens_total", Double(run.promptIds.count))
        guard run.sampling.stream else {
            var result: GenerationResult?
            do {
                for try await event in events {
                    if case .token = event { NodeMetrics.shared.add("kiln_generated_tokens_total") }
                    if case .finished(let done) = event { result = done }
                }
            } catch {
                throw run.engineError(error)
            }
            guard let result else { throw OpenAIError(status: .internalServerError, message: "Generation ended without a result.", type: "server_error") }
            return JSON.response(run.completeBody(result))
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        let body = ResponseBody { writer in
            defer { cancel.set() }
            func send(_ json: Data) async throws {
                var buffer = ByteBuffer(string: "data: ")
                buffer.writeBytes(json)
                buffer.writeString("\n\n")
                try await writer.write(buffer)
            }
            var holdback = StopHoldback(stops: run.sampling.stop)
            try await send(run.chunk(delta: "", first: true, finish: nil))
            do {
                for try await event in events {
                    switch event {
                    case .token(_, let delta):
                        NodeMetrics.shared.add("kiln_generated_tokens_total")
                        let safe = holdback.add(delta)
                        if !safe.isEmpty { try await send(run.chunk(delta: safe, first: false, finish: nil)) }
                    case .finished(let result):
                        let rest = holdback.finish(result.text)
                        if !rest.isEmpty { try await send(run.chunk(delta: rest, first: false, finish: nil)) }
                        try await send(run.chunk(delta: "", first: false, finish: GenerationRun.finishReason(result)))
                        if run.sampling.includeUsage { try await send(run.usageChunk(result)) }
                    }
                }
            } catch let error as OpenAIError {
                try await send(run.errorChunk(error))
            } catch {
                try await send(run.errorChunk(run.engineError(error)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
