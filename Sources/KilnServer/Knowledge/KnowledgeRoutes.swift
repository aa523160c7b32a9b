// Knowledge bases over the API: create and list bases, add documents (files, or a published Datanet version's text
// items), read chunks, remove documents, and search with BM25, dense or hybrid ranking. A private base is seen by its
// owner and admins alone; others get the 404 a missing base gets.
import Foundation
import Hummingbird
import KilnAPI
import KilnData
import KilnKnowledge
import KilnModels

/// The body of `POST /api/knowledge`.
struct KnowledgeBaseRequest: Decodable, Sendable {
    var name: String
    var description: String
    var isPublic: Bool
    var settings: KnowledgeSettings

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, is_public, max_tokens, overlap_tokens, k1, b, m, ef_construction, ef_search
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        isPublic = try c.decodeIfPresent(Bool.self, forKey: .is_public) ?? false
        settings = KnowledgeSettings()
        if let value = try c.decodeIfPresent(Int.self, forKey: .max_tokens) { settings.chunking.maxTokens = value }
        if let value = try c.decodeIfPresent(Int.self, forKey: .overlap_tokens) { settings.chunking.overlapTokens = value }
        if let value = try c.decodeIfPresent(Double.self, forKey: .k1) { settings.bm25.k1 = value }
        if let value = try c.decodeIfPresent(Double.self, forKey: .b) { settings.bm25.b = value }
        if let value = try c.decodeIfPresent(Int.self, forKey: .m) { settings.hnsw.m = value }
        if let value = try c.decodeIfPresent(Int.self, forKey: .ef_construction) { settings.hnsw.efConstruction = value }
        if let value = try c.decodeIfPresent(Int.self, forKey: .ef_search) { settings.hnsw.efSearch = value }
        guard settings.chunking.isValid else {
            throw DataError.badRequest(code: "bad_field", message: "Chunks need 16 ≤ max_tokens ≤ 4096 and 0 ≤ overlap_tokens < max_tokens / 2.")
        }
        guard settings.bm25.isValid else { throw DataError.badRequest(code: "bad_field", message: "BM25 needs k1 ≥ 0 and 0 ≤ b ≤ 1.") }
        guard settings.hnsw.isValid else {
            throw DataError.badRequest(code: "bad_field", message: "HNSW needs 2 ≤ m ≤ 512 and ef_construction, ef_search from 1 to 100000.")
        }
    }
}

/// The body of `POST /api/knowledge/:id/search`.
struct KnowledgeSearchRequest: Decodable, Sendable {
    var query: String
    var mode: SearchMode
    var limit: Int
    var rerank: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case query, mode, limit, rerank }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        query = try c.decode(String.self, forKey: .query)
        let modeName = try c.decodeIfPresent(String.self, forKey: .mode) ?? "hybrid"
        guard let mode = SearchMode(rawValue: modeName) else {
            throw DataError.badRequest(code: "bad_field", message: "Field \"mode\" must be bm25, dense or hybrid.")
        }
        self.mode = mode
        limit = try c.decodeIfPresent(Int.self, forKey: .limit) ?? 10
        rerank = try c.decodeIfPresent(Bool.self, forKey: .rerank) ?? false
        guard (1...100).contains(limit) else { throw DataError.badRequest(code: "bad_field", message: "Field \"limit\" must be 1 to 100.") }
        guard (1...4000).contains(query.count) else {
            throw DataError.badRequest(code: "bad_field", message: "Field \"query\" must be 1 to 4000 characters.")
        }
    }
}

/// The body of `POST /api/knowledge/:id/datanet-versions`.
struct KnowledgeVersionRequest: Decodable, Sendable {
    var datanet: String
    var version: Int

    enum CodingKeys: String, CodingKey, CaseIterable { case datanet, version }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        datanet = try c.decode(String.self, forKey: .datanet)
        version = try c.decode(Int.self, forKey: .version)
    }
}

extension APIController {
    /// The knowledge service, or a 404 on a node built without one.
    func knowledgeService() throws -> KnowledgeService {
        guard let knowledge else { throw DataError.notFound("This node has no knowledge bases.") }
        return knowledge
    }

    /// The base named by `:id` if the caller may see it; `editing` also requires that they may change it.
    func knowledgeBase(_ context: KilnContext, editing: Bool = false) async throws -> KnowledgeBaseRecord {
        let user = try context.requireUser()
        let id = try context.numberParameter("id")
        guard let base = try await services.knowledge.base(id), base.visible(to: user) else {
            throw DataError.notFound("There is no knowledge base \(id).")
        }
        if editing, !base.editable(by: user) {
            throw DataError.forbidden(base.isBuiltin ? "The built-in knowledge base follows the node's docs and cannot be changed."
                                                     : "Only the owner of this knowledge base may change it.")
        }
        return base
    }

    @Sendable func listKnowledgeBases(_ request: Request, context: KilnContext) async throws -> Response {
        struct List: Encodable { var items: [KnowledgeBaseBody] }
        let user = try context.requireUser()
        return JSON.response(List(items: try await services.knowledge.bases(visibleTo: user).map { KnowledgeBaseBody($0, viewer: user) }))
    }

    @Sendable func createKnowledgeBase(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        _ = try knowledgeService()
        let body = try await decodeBody(KnowledgeBaseRequest.self, request)
        let base = try await services.knowledge.create(owner: user, name: body.name, description: body.description, isPublic: body.isPublic,
                                                       embedder: DefaultEmbedder.name, settings: body.settings.json)
        return JSON.response(KnowledgeBaseBody(base, viewer: user), status: .created)
    }

    @Sendable func showKnowledgeBase(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context)
        var body = KnowledgeBaseBody(base, viewer: try context.requireUser())
        body.documents = try await services.knowledge.documents(base: base.id).map(KnowledgeDocumentBody.init)
        return JSON.response(body)
    }

    @Sendable func deleteKnowledgeBase(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context, editing: true)
        try await knowledgeService().deleteBase(base)
        return Response(status: .noContent)
    }

    @Sendable func addKnowledgeDocuments(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context, editing: true)
        let knowledge = try knowledgeService()
        let limit = KnowledgeService.maxDocumentBytes
        var files: [(name: String, data: Data, mediaType: String?)] = []
        if UploadReader.mediaType(request) == "multipart/form-data" {
            for part in try await UploadReader.multipart(request, partLimit: limit, totalLimit: 4 * limit, maxParts: 100) where part.fileName != nil {
                files.append((part.fileName!, part.data, nil))
            }
        } else {
            guard let name = request.uri.queryParameters.get("name") else {
                throw DataError.badRequest(code: "missing_name", message: "Send files as multipart/form-data, or the bytes with ?name=<file name>.")
            }
            files.append((name, try await UploadReader.collect(request, limit: limit), UploadReader.mediaType(request)))
        }
        guard !files.isEmpty else { throw DataError.badRequest(code: "no_files", message: "The request holds no files.") }
        var added: [KnowledgeDocumentBody] = []
        for file in files {
            let name = Self.documentName(file.name)
            guard let format = DocumentFormat.detect(filename: name, mediaType: file.mediaType) else {
                throw DataError.unsupportedMediaType(DocumentError.unsupported(name).description)
            }
            let change = try await knowledge.addDocument(base: base, name: name, data: file.data, format: format)
            added.append(KnowledgeDocumentBody(change.document))
        }
        struct Added: Encodable { var documents: [KnowledgeDocumentBody] }
        return JSON.response(Added(documents: added), status: .created)
    }

    /// A file name without any folder part, on one line, at most 200 characters.
    static func documentName(_ raw: String) -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? raw
        let clean = String(last.filter { !$0.isNewline && $0 != "\0" }.prefix(200)).trimmingCharacters(in: .whitespaces)
        return clean.isEmpty ? "document" : clean
    }

    @Sendable func addKnowledgeVersion(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context, editing: true)
        let body = try await decodeBody(KnowledgeVersionRequest.self, request)
        let datanet = try await readableDatanet(body.datanet, context)
        let change = try await knowledgeService().addVersion(base: base, datanet: datanet, number: body.version, versions: services.versions)
        return JSON.response(KnowledgeDocumentBody(change.document), status: .created)
    }

    @Sendable func showKnowledgeDocument(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context)
        let id = try context.numberParameter("document")
        guard let document = try await services.knowledge.document(id, base: base.id) else {
            throw DataError.notFound("The knowledge base has no document \(id).")
        }
        var body = KnowledgeDocumentBody(document)
        body.chunks = try await services.knowledge.chunks(document: id).map { KnowledgeChunkBody($0, document: document) }
        return JSON.response(body)
    }

    @Sendable func deleteKnowledgeDocument(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context, editing: true)
        try await knowledgeService().removeDocument(base: base, document: try context.numberParameter("document"))
        return Response(status: .noContent)
    }

    @Sendable func showKnowledgeChunk(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context)
        let id = try context.numberParameter("chunk")
        guard let chunk = try await services.knowledge.chunks(ids: [id]).first, chunk.baseID == base.id else {
            throw DataError.notFound("The knowledge base has no chunk \(id).")
        }
        return JSON.response(KnowledgeChunkBody(chunk, document: try await services.knowledge.document(chunk.documentID, base: base.id)))
    }

    @Sendable func searchKnowledge(_ request: Request, context: KilnContext) async throws -> Response {
        let base = try await knowledgeBase(context)
        let body = try await decodeBody(KnowledgeSearchRequest.self, request)
        let found = try await knowledgeService().search(body.query, bases: [base], mode: body.mode, limit: body.limit, rerank: body.rerank)
        struct Results: Encodable {
            var query: String
            var mode: String
            var results: [KnowledgeChunkBody]
        }
        return JSON.response(Results(query: body.query, mode: body.mode.rawValue, results: found.map { KnowledgeChunkBody($0) }))
    }

    @Sendable func showKnowledgeUse(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let completion = context.parameters.get("completion") ?? ""
        guard let use = try await services.knowledge.use(completionID: completion), use.ownerID == user.id || user.isAdmin else {
            throw DataError.notFound("No knowledge was used by a completion \(completion.prefix(80)) of yours.")
        }
        let chunks = Dictionary(try await services.knowledge.chunks(ids: use.chunkIDs).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var bodies: [KnowledgeChunkBody] = []
        for id in use.chunkIDs {
            guard let chunk = chunks[id] else { continue }
            bodies.append(KnowledgeChunkBody(chunk, document: try await services.knowledge.document(chunk.documentID, base: chunk.baseID)))
        }
        struct Use: Encodable {
            var completion_id: String
            var chunk_ids: [Int]
            var chunks: [KnowledgeChunkBody]
        }
        return JSON.response(Use(completion_id: completion, chunk_ids: use.chunkIDs, chunks: bodies))
    }
}
