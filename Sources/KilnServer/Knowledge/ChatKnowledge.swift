// Retrieval for chat: the `knowledge` field of /v1/chat/completions names bases (`[3, 7]`, or `{"bases": [3],
// "limit": 4, "mode": "hybrid"}`); the last user message is the query; the chunks found go into the system message as
// numbered sources, and the response lists them under `citations`, each with a link to the chunk and, for a Datanet
// item, its contributor. Which chunks an answer got is recorded under its completion id.
import Foundation
import KilnAPI
import KilnData
import KilnKnowledge

/// What a chat request asked of its knowledge bases.
struct ChatKnowledgeRequest: Sendable {
    var bases: [Int]
    var limit = 4
    var mode = SearchMode.hybrid

    /// Reads the `knowledge` field, nil when it is absent.
    static func parse(_ fields: OpenAIFields) throws -> ChatKnowledgeRequest? {
        guard !fields.isAbsent("knowledge") else { return nil }
        func ids(_ value: Any?) throws -> [Int] {
            let list: [Any] = (value as? [Any]) ?? (value.map { [$0] } ?? [])
            let numbers = try list.map { item -> Int in
                guard let number = item as? NSNumber, !OpenAIFields.isBool(number), number.doubleValue == number.doubleValue.rounded(),
                      let id = Int(exactly: number.doubleValue), id > 0 else {
                    throw OpenAIError.invalid("`knowledge` names knowledge bases by their numeric ids.", param: "knowledge")
                }
                return id
            }
            guard (1...8).contains(numbers.count) else { throw OpenAIError.invalid("`knowledge` takes 1 to 8 knowledge bases.", param: "knowledge") }
            return Array(Set(numbers)).sorted()
        }
        let value = fields.object["knowledge"]
        guard let object = value as? [String: Any] else { return ChatKnowledgeRequest(bases: try ids(value)) }
        let inner = OpenAIFields(object: object)
        var request = ChatKnowledgeRequest(bases: try ids(object["bases"]))
        if let limit = try inner.integer("limit") {
            guard (1...16).contains(limit) else { throw OpenAIError.invalid("`knowledge.limit` must be 1 to 16.", param: "knowledge") }
            request.limit = limit
        }
        if !inner.isAbsent("mode") {
            guard let name = object["mode"] as? String, let mode = SearchMode(rawValue: name) else {
                throw OpenAIError.invalid("`knowledge.mode` must be bm25, dense or hybrid.", param: "knowledge")
            }
            request.mode = mode
        }
        return request
    }
}

/// The retrieved context of one chat request.
struct ChatContext: Sendable {
    var chunks: [RetrievedChunk]

    /// The instructions and numbered sources the model is given.
    var systemText: String {
        var text = """
            Answer the user's question using the numbered sources below. Cite the sources you use with their numbers in \
            square brackets, like [1]. If the sources do not contain the answer, say so.
            """
        for (index, found) in chunks.enumerated() {
            let title = ([found.document?.name ?? "document"] + found.chunk.headingPath).joined(separator: " › ")
            text += "\n\n[\(index + 1)] \(title)\n\(found.chunk.text)"
        }
        return text
    }

    /// The `citations` field: one object per source, in number order.
    var citations: JSONValue {
        .array(chunks.enumerated().map { index, found in
            var object: [String: JSONValue] = [
                "index": .int(index + 1), "chunk_id": .int(found.chunk.id), "base_id": .int(found.base.id), "base": .string(found.base.name),
                "document_id": .int(found.chunk.documentID), "document": .string(found.document?.name ?? ""),
                "heading_path": .array(found.chunk.headingPath.map { .string($0) }), "text": .string(found.chunk.text),
                "url": .string("/knowledge/\(found.base.id)/documents/\(found.chunk.documentID)#chunk-\(found.chunk.id)"),
                "score": .number(found.hit.score),
            ]
            if let item = found.chunk.itemID {
                object["item_id"] = .int(item)
                object["item_url"] = .string("/ledger/receipts/submission/\(item)")
            }
            if let contributor = found.chunk.contributor { object["contributor"] = .string(contributor) }
            return .object(object)
        })
    }

    /// `messages` with the sources added to the system message (a new one first when there is none).
    func messages(_ messages: [ChatMessageRequest]) -> [ChatMessageRequest] {
        guard !chunks.isEmpty else { return messages }
        var out = messages
        if let system = out.firstIndex(where: { $0.role == "system" }) {
            out[system].content += "\n\n" + systemText
        } else {
            out.insert(ChatMessageRequest(role: "system", content: systemText), at: 0)
        }
        return out
    }
}

extension KnowledgeService {
    /// The context for a chat: the bases checked against `user`, searched with the last user message.
    func chatContext(_ request: ChatKnowledgeRequest, messages: [ChatMessageRequest], user: User) async throws -> ChatContext {
        var bases: [KnowledgeBaseRecord] = []
        for id in request.bases {
            guard let base = try await store.base(id), base.visible(to: user) else {
                throw OpenAIError(status: .notFound, message: "There is no knowledge base \(id).", type: "invalid_request_error",
                                  param: "knowledge", code: "knowledge_not_found")
            }
            bases.append(base)
        }
        guard let question = messages.last(where: { $0.role == "user" })?.content else { return ChatContext(chunks: []) }
        do {
            return ChatContext(chunks: try await search(question, bases: bases, mode: request.mode, limit: request.limit))
        } catch let error as DataError {
            throw OpenAIError(status: .serviceUnavailable, message: error.message, type: "server_error", param: "knowledge", code: error.code)
        }
    }
}
