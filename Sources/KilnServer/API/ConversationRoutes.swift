// Chat conversations over the API: the Chat page keeps each conversation on the node for its owner, so it is there
// in any browser. Another user's conversation answers 404, like one that does not exist.
import Foundation
import Hummingbird
import KilnAPI
import KilnData

/// The body of `POST /api/conversations` and `PUT /api/conversations/:id`.
struct ConversationRequest: Decodable, Sendable {
    var title: String
    var turns: JSONValue

    enum CodingKeys: String, CodingKey, CaseIterable { case title, turns }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decode(String.self, forKey: .title)
        turns = try c.decode(JSONValue.self, forKey: .turns)
        guard case .array = turns else { throw DataError.badRequest(code: "bad_field", message: "Field \"turns\" must be an array.") }
    }
}

/// A conversation as the API writes it.
struct ConversationBody: Encodable {
    var id: Int
    var title: String
    var updatedAt: String
    var turns: JSONValue?

    enum CodingKeys: String, CodingKey {
        case id, title, turns
        case updatedAt = "updated_at"
    }

    init(_ summary: ConversationSummary, turns: JSONValue? = nil) {
        (id, title, updatedAt, self.turns) = (summary.id, summary.title, ISO8601.string(milliseconds: summary.updatedAt), turns)
    }
}

extension APIController {
    /// Bodies a little over the store's 1 MiB of turns, for the title and the JSON around them.
    static let conversationBodyLimit = ConversationStore.maxBodyBytes + 16 * 1024

    @Sendable func listConversations(_ request: Request, context: KilnContext) async throws -> Response {
        struct List: Encodable { var items: [ConversationBody] }
        return JSON.response(List(items: try await services.conversations.list(owner: try context.requireUser()).map { ConversationBody($0) }))
    }

    @Sendable func createConversation(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await decodeBody(ConversationRequest.self, request, limit: Self.conversationBodyLimit)
        let id = try await services.conversations.save(nil, owner: user, title: body.title, body: body.turns.compactText)
        return JSON.response(ConversationBody(try await services.conversations.body(id, owner: user).0), status: .created)
    }

    @Sendable func showConversation(_ request: Request, context: KilnContext) async throws -> Response {
        let (summary, turns) = try await services.conversations.body(try context.numberParameter("id"), owner: try context.requireUser())
        return JSON.response(ConversationBody(summary, turns: JSONValue(parsing: turns) ?? .array([])))
    }

    @Sendable func updateConversation(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.numberParameter("id")
        let body = try await decodeBody(ConversationRequest.self, request, limit: Self.conversationBodyLimit)
        _ = try await services.conversations.save(id, owner: user, title: body.title, body: body.turns.compactText)
        return JSON.response(ConversationBody(try await services.conversations.body(id, owner: user).0))
    }

    @Sendable func deleteConversation(_ request: Request, context: KilnContext) async throws -> Response {
        let id = try context.numberParameter("id")
        try await services.conversations.delete(id, owner: try context.requireUser())
        return JSON.response(["deleted": id])
    }
}
