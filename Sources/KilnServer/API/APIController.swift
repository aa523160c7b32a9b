// Every JSON route under /api, listed in one place.
import Foundation
import Hummingbird
import KilnData

/// The JSON API: accounts, Datanets, submissions, reviews, leaderboards and versions.
struct APIController: Sendable {
    let services: KilnServices
    /// The login and registration budgets, shared with the web pages.
    let attempts: AttemptLimiter
    /// The node's training worker and base models; nil where training is off.
    var training: TrainingNode? = nil
    /// The inference thread, for evaluating finished runs; nil where nothing is served.
    var worker: InferenceWorker? = nil
    /// The node's knowledge bases; nil where they are off.
    var knowledge: KnowledgeService? = nil

    /// Registers every API route on `router`.
    func addRoutes(to router: Router<KilnContext>) {
        let api = router.group("api")
        let authorization = Authorization(services: services)
        for endpoint in endpoints {
            // The table's access policy is what is enforced, before the handler runs; handlers hold no checks of their own.
            let handler = endpoint.handler
            api.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                try await authorization.require(endpoint.access, context)
                return try await handler(request, context)
            }
        }
        api.get("openapi.json") { _, _ in JSON.response(OpenAPIDocument.build(endpoints)) }
    }

    /// Every API route with what the OpenAPI document says of it; the router and the document both come from here.
    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "auth/register", "Create an account", tag: "Accounts", body: .json("PasswordRequest"), status: 201, use: register),
            Endpoint(.post, "auth/login", "Log in and get a bearer token", tag: "Accounts", body: .json("PasswordRequest"), use: login),
            Endpoint(.post, "auth/logout", "Revoke the caller's token", tag: "Accounts", auth: .user, status: 204, use: logout),
            Endpoint(.post, "auth/password", "Change the password (revokes every token and session)", tag: "Accounts", auth: .user,
                     body: .json("PasswordChangeRequest"), status: 204, use: changePassword),
            Endpoint(.post, "auth/revoke-all", "Revoke every token and session of the caller", tag: "Accounts", auth: .user,
                     use: revokeAllTokens),
            Endpoint(.get, "me", "The caller and the Datanets they curate", tag: "Accounts", auth: .user, use: me),
            Endpoint(.get, "me/submissions", "The caller's submissions, newest first", tag: "Accounts", auth: .user, paged: true,
                     use: mySubmissions),

            Endpoint(.get, "datanets", "List Datanets with their counts", tag: "Datanets", paged: true, use: listDatanets),
            Endpoint(.post, "datanets", "Create a Datanet; the creator becomes its curator", tag: "Datanets", auth: .user,
                     body: .json("CreateDatanetRequest"), status: 201, use: createDatanet),
            Endpoint(.get, "datanets/:slug", "One Datanet with its rules and counts", tag: "Datanets", use: showDatanet),
            Endpoint(.post, "datanets/:slug/curators", "Add a curator", tag: "Datanets", auth: .curator, body: .json("CuratorRequest"),
                     use: addCurator),
            Endpoint(.post, "datanets/:slug/submissions", "Submit items (JSON, JSON array, JSONL or multipart files)", tag: "Submissions",
                     auth: .user, body: .upload, status: 201, use: submit),
            Endpoint(.get, "datanets/:slug/queue", "Pending items, oldest first", tag: "Submissions", auth: .curator, paged: true, use: queue),
            Endpoint(.get, "datanets/:slug/leaderboard", "Contributors ranked by accepted items", tag: "Datanets", paged: true,
                     use: datanetLeaderboard),
            Endpoint(.get, "leaderboard", "Contributors ranked across all Datanets", tag: "Datanets", paged: true, use: globalLeaderboard),

            Endpoint(.get, "submissions/:id", "One submission with its history", tag: "Submissions", use: showSubmission),
            Endpoint(.get, "submissions/:id/content", "The uploaded file of a media submission", tag: "Submissions", use: submissionContent),
            Endpoint(.post, "submissions/:id/review", "Accept or reject a pending item", tag: "Submissions", auth: .curator,
                     body: .json("ReviewRequest"), use: review),
            Endpoint(.get, "submissions/:id/receipt", "The ledger receipt of a submission's decision", tag: "Ledger", use: submissionReceipt),

            Endpoint(.get, "datanets/:slug/versions", "Published versions, newest first", tag: "Versions", use: listVersions),
            Endpoint(.post, "datanets/:slug/versions", "Publish the accepted items as the next version", tag: "Versions", auth: .curator,
                     status: 201, use: publish),
            Endpoint(.get, "datanets/:slug/versions/:number", "A version's manifest", tag: "Versions", use: showVersion),
            Endpoint(.get, "datanets/:slug/versions/:number/export.jsonl", "A version's items as JSON Lines", tag: "Versions",
                     produces: "application/x-ndjson", use: exportVersion),
            Endpoint(.get, "datanets/:slug/versions/:number/receipt", "The ledger receipt of a version", tag: "Ledger", use: versionReceipt),

            Endpoint(.post, "datanets/:slug/versions/:number/train", "Queue a LoRA/QLoRA fine-tuning job on a published text version",
                     tag: "Training", auth: .curator, body: .json("TrainingJobRequest"), status: 202, use: queueTraining),
            Endpoint(.get, "training-jobs", "Training jobs, newest first", tag: "Training", use: listJobs),
            Endpoint(.get, "training-jobs/:id", "One training job: state, progress, spec, adapter hash, ledger entry", tag: "Training",
                     use: showJob),
            Endpoint(.post, "datanets/:slug/training-jobs/:id/cancel", "Stop a queued or running job on this Datanet", tag: "Training",
                     auth: .curator, use: cancelJob),

            Endpoint(.post, "runs", "Start a fine-tuning run on a published text version (any signed-in user)", tag: "Runs", auth: .user,
                     body: .json("RunRequest"), status: 202, use: createRun),
            Endpoint(.get, "runs", "Runs the caller may see, newest first", tag: "Runs", use: listRuns),
            Endpoint(.get, "runs/:id", "One run: state, progress, spec, adapter hash, ledger entry, model id", tag: "Runs", use: showRun),
            Endpoint(.get, "runs/:id/events", "Live progress as Server-Sent Events (metrics lines, state changes, end)", tag: "Runs",
                     produces: "text/event-stream", use: runEvents),
            Endpoint(.post, "runs/:id/cancel", "Stop a queued or running run (its owner or an admin)", tag: "Runs", auth: .user, use: cancelRun),
            Endpoint(.post, "runs/:id/resume", "Queue an interrupted, failed or cancelled run again from its last checkpoint", tag: "Runs",
                     auth: .user, status: 202, use: resumeRun),
            Endpoint(.get, "runs/:id/adapter", "The run's PEFT adapter folder as a tar (default) or zip archive", tag: "Runs",
                     query: ["format"], produces: "application/x-tar", use: runAdapter),
            Endpoint(.get, "runs/:id/merged", "The adapter merged into its base: a GGUF file (GGUF bases) or a safetensors folder as tar",
                     tag: "Runs", produces: "application/octet-stream", use: runMergedModel),
            Endpoint(.get, "runs/:id/evaluation", "Validation loss and perplexity of base vs tuned, and both models' greedy answers to held-out prompts",
                     tag: "Runs", use: runEvaluation),
            Endpoint(.post, "runs/estimate", "Steps, tokens, time and memory a run would take on this node, without starting it", tag: "Runs",
                     auth: .user, body: .json("RunRequest"), use: estimateRun),

            Endpoint(.get, "conversations", "The caller's chat conversations, newest first", tag: "Chat", auth: .user, use: listConversations),
            Endpoint(.post, "conversations", "Keep a new conversation (the Chat page saves each one)", tag: "Chat", auth: .user,
                     body: .json("ConversationRequest"), status: 201, use: createConversation),
            Endpoint(.get, "conversations/:id", "One of the caller's conversations with its turns", tag: "Chat", auth: .user,
                     use: showConversation),
            Endpoint(.put, "conversations/:id", "Replace one of the caller's conversations", tag: "Chat", auth: .user,
                     body: .json("ConversationRequest"), use: updateConversation),
            Endpoint(.delete, "conversations/:id", "Delete one of the caller's conversations", tag: "Chat", auth: .user,
                     use: deleteConversation),

            Endpoint(.get, "knowledge", "Knowledge bases the caller may search (their own, public ones, the built-in docs)", tag: "Knowledge",
                     auth: .user, use: listKnowledgeBases),
            Endpoint(.post, "knowledge", "Create a knowledge base (chunking, BM25 and HNSW settings optional)", tag: "Knowledge", auth: .user,
                     body: .json("KnowledgeBaseRequest"), status: 201, use: createKnowledgeBase),
            Endpoint(.get, "knowledge/:id", "One knowledge base with its documents", tag: "Knowledge", auth: .user, use: showKnowledgeBase),
            Endpoint(.delete, "knowledge/:id", "Delete a knowledge base (its owner or an admin)", tag: "Knowledge", auth: .user,
                     status: 204, use: deleteKnowledgeBase),
            Endpoint(.post, "knowledge/:id/documents", "Add or replace documents: Markdown, text, HTML or PDF, multipart or raw with ?name=",
                     tag: "Knowledge", auth: .user, body: .upload, status: 201, query: ["name"], use: addKnowledgeDocuments),
            Endpoint(.post, "knowledge/:id/datanet-versions", "Add a published Datanet version's text items as a document", tag: "Knowledge",
                     auth: .user, body: .json("KnowledgeVersionRequest"), status: 201, use: addKnowledgeVersion),
            Endpoint(.get, "knowledge/:id/documents/:document", "One document with its chunks", tag: "Knowledge", auth: .user,
                     use: showKnowledgeDocument),
            Endpoint(.delete, "knowledge/:id/documents/:document", "Remove a document and its chunks", tag: "Knowledge", auth: .user,
                     status: 204, use: deleteKnowledgeDocument),
            Endpoint(.get, "knowledge/:id/chunks/:chunk", "One chunk with its document and origin", tag: "Knowledge", auth: .user,
                     use: showKnowledgeChunk),
            Endpoint(.get, "knowledge-uses/:completion", "The chunks a chat completion was given (the caller's own completions)",
                     tag: "Knowledge", auth: .user, use: showKnowledgeUse),
            Endpoint(.post, "knowledge/:id/search", "Search a base: bm25, dense or hybrid (reciprocal rank fusion), optional MMR rerank",
                     tag: "Knowledge", auth: .user, body: .json("KnowledgeSearchRequest"), use: searchKnowledge),

            Endpoint(.get, "ledger/key", "The node's Ed25519 public key", tag: "Ledger", use: ledgerKey),
            Endpoint(.get, "ledger/head", "The latest signed tree head", tag: "Ledger", use: ledgerHead),
            Endpoint(.get, "ledger/entries", "Entries from `from`, at most `limit`", tag: "Ledger", query: ["from", "limit"], use: ledgerEntries),
            Endpoint(.get, "ledger/entries/:seq", "One entry with its hash and signature", tag: "Ledger", use: ledgerEntry),
            Endpoint(.get, "ledger/proof/inclusion", "RFC 9162 inclusion proof", tag: "Ledger", query: ["seq", "tree_size"], use: inclusionProof),
            Endpoint(.get, "ledger/proof/consistency", "RFC 9162 consistency proof", tag: "Ledger", query: ["first", "second"],
                     use: consistencyProof),
        ]
    }

    /// Decodes a JSON body of at most 64 KiB into `T`, refusing other content types.
    func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int = 64 * 1024) async throws -> T {
        let media = UploadReader.mediaType(request)
        guard media == "application/json" || media.hasSuffix("+json") else {
            throw DataError.unsupportedMediaType("Send this request as application/json.")
        }
        let body = try await UploadReader.collect(request, limit: limit)
        return try RequestDecoder.decode(T.self, from: body)
    }

    /// A page request from `?limit=&cursor=`; `keyset` lists read their own cursors.
    func page(_ request: Request, keyset: Bool = false) throws -> PageRequest {
        try PageRequest(limit: request.uri.queryParameters.get("limit"), cursor: request.uri.queryParameters.get("cursor"), keyset: keyset)
    }

    /// The Datanet named by the `:slug` parameter.
    func datanet(_ context: KilnContext) async throws -> Datanet {
        try await readableDatanet(context.parameters.get("slug") ?? "", context)
    }

    /// The Datanet `slug` if the caller may see it (`Authorization.readableDatanet`).
    func readableDatanet(_ slug: String, _ context: KilnContext) async throws -> Datanet {
        try await Authorization(services: services).readableDatanet(slug, context)
    }
}
