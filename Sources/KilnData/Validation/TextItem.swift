// Text items in each schema: decoding, normalisation and the canonical form that is hashed.
import Foundation

/// One turn of a chat item.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user`, `assistant` or `tool`.
    public var role: String
    /// What was said.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["role", "content"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        content = try c.decode(String.self, forKey: .content)
    }
}

/// A text contribution in one of the three schemas.
public enum TextItem: Sendable, Equatable {
    case plain(text: String)
    case instruction(instruction: String, input: String?, response: String)
    case chat(messages: [ChatMessage])

    /// The roles a chat message may have.
    public static let chatRoles: Set<String> = ["system", "user", "assistant", "tool"]

    /// Decodes one JSON object in `schema`'s shape.
    /// - Throws: `DataError.badRequest` for wrong types, missing or unknown fields.
    public static func decode(_ json: some DataProtocol, schema: TextSchema) throws -> TextItem {
        switch schema {
        case .plain:
            let item = try RequestDecoder.decode(PlainFields.self, from: json)
            return .plain(text: item.text)
        case .instruction:
            let item = try RequestDecoder.decode(InstructionFields.self, from: json)
            return .instruction(instruction: item.instruction, input: item.input, response: item.response)
        case .chat:
            let item = try RequestDecoder.decode(ChatFields.self, from: json)
            return .chat(messages: item.messages)
        }
    }

    /// The same item in NFC with surrounding whitespace trimmed and line endings made `\n`, so that
    /// trivially different copies hash alike.
    public var normalised: TextItem {
        switch self {
        case .plain(let text):
            .plain(text: Self.normalise(text))
        case .instruction(let instruction, let input, let response):
            .instruction(instruction: Self.normalise(instruction), input: input.map(Self.normalise).flatMap { $0.isEmpty ? nil : $0 },
                         response: Self.normalise(response))
        case .chat(let messages):
            .chat(messages: messages.map { ChatMessage(role: $0.role.lowercased(), content: Self.normalise($0.content)) })
        }
    }

    /// The canonical JSON (sorted keys, no whitespace) that is stored and hashed.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        switch self {
        case .plain(let text):
            data = try! encoder.encode(["text": text])
        case .instruction(let instruction, let input, let response):
            var fields = ["instruction": instruction, "response": response]
            if let input { fields["input"] = input }
            data = try! encoder.encode(fields)
        case .chat(let messages):
            data = try! encoder.encode(ChatFields(messages: messages))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// All the words of the item, for length bounds and near-duplicate detection.
    public var fullText: String {
        switch self {
        case .plain(let text): text
        case .instruction(let instruction, let input, let response): [instruction, input ?? "", response].joined(separator: "\n")
        case .chat(let messages): messages.map(\.content).joined(separator: "\n")
        }
    }

    /// Length in Unicode code points, the unit `min_chars`/`max_chars` count.
    public var chars: Int {
        switch self {
        case .plain(let text): text.unicodeScalars.count
        case .instruction(let instruction, let input, let response):
            instruction.unicodeScalars.count + (input?.unicodeScalars.count ?? 0) + response.unicodeScalars.count
        case .chat(let messages): messages.reduce(0) { $0 + $1.content.unicodeScalars.count }
        }
    }

    /// Why the item does not fit its schema's meaning, or `nil` if it does.
    public var schemaProblem: String? {
        switch self {
        case .plain(let text):
            return text.isEmpty ? "The text is empty." : nil
        case .instruction(let instruction, _, let response):
            if instruction.isEmpty { return "The instruction is empty." }
            if response.isEmpty { return "The response is empty." }
            return nil
        case .chat(let messages):
            if messages.count < 2 { return "A conversation needs at least a user message and an assistant reply." }
            for (index, message) in messages.enumerated() {
                if !Self.chatRoles.contains(message.role) {
                    return "Message \(index + 1) has role \"\(message.role)\"; use system, user, assistant or tool."
                }
                if message.content.isEmpty { return "Message \(index + 1) is empty." }
                if message.role == "system" && index != 0 { return "Only the first message may be a system message." }
            }
            if !messages.contains(where: { $0.role == "user" }) { return "The conversation has no user message." }
            if messages.last?.role != "assistant" { return "The conversation must end with an assistant reply." }
            return nil
        }
    }

    private static func normalise(_ text: String) -> String {
        text.precomposedStringWithCanonicalMapping
            .replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\r", with: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The `plain` schema's fields.
struct PlainFields: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["text"])
        text = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .text)
    }

    enum CodingKeys: String, CodingKey { case text }
}

/// The `instruction` schema's fields.
struct InstructionFields: Decodable {
    var instruction: String
    var input: String?
    var response: String

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["instruction", "input", "response"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instruction = try c.decode(String.self, forKey: .instruction)
        input = try c.decodeIfPresent(String.self, forKey: .input)
        response = try c.decode(String.self, forKey: .response)
    }

    enum CodingKeys: String, CodingKey { case instruction, input, response }
}

/// The `chat` schema's fields.
struct ChatFields: Codable {
    var messages: [ChatMessage]

    init(messages: [ChatMessage]) { self.messages = messages }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["messages"])
        messages = try decoder.container(keyedBy: CodingKeys.self).decode([ChatMessage].self, forKey: .messages)
    }

    enum CodingKeys: String, CodingKey { case messages }
}
