// Datanet export lines turned into training rows exactly as the fixture run (and LLaMA-Factory-style SFT) formats them:
// the model's chat template, loss only on the response, truncation, and right-padded micro-batches.
import Foundation
import KilnAPI
import KilnModels

/// One item of a Datanet export in a training file: instruction/input/response, chat messages, or plain text.
public struct TrainingItem: Sendable, Equatable {
    /// The conversation to render, the last message being the one learned from (none for plain text).
    public var messages: [ChatTemplateMessage]
    /// Plain text learned whole (`{"text"}` items).
    public var text: String?
    /// The item's id and hash from the export, for the run's ledger entry.
    public var id: String?
    public var sha256: String?

    /// Reads one JSON line of an export: `{"instruction","input"?,"response"}`, `{"messages":[{"role","content"}…]}` or `{"text"}`.
    /// - Throws: `TrainingDataError.badItem` naming the line and what is missing.
    public init(jsonLine: String, line: Int) throws {
        guard case .object(let fields)? = JSONValue(parsing: jsonLine) else {
            throw TrainingDataError.badItem(line: line, reason: "not a JSON object")
        }
        func string(_ key: String) -> String? {
            if case .string(let value)? = fields[key] { return value }
            return nil
        }
        id = string("id")
        sha256 = string("sha256")
        if let instruction = string("instruction"), let response = string("response") {
            let input = string("input") ?? ""
            messages = [ChatTemplateMessage(role: "user", content: instruction + (input.isEmpty ? "" : "\n\n" + input)),
                        ChatTemplateMessage(role: "assistant", content: response)]
            text = nil
        } else if case .array(let list)? = fields["messages"] {
            messages = try list.map { value in
                guard case .object(let message) = value, case .string(let role)? = message["role"], case .string(let content)? = message["content"] else {
                    throw TrainingDataError.badItem(line: line, reason: "each message needs a string role and content")
                }
                return ChatTemplateMessage(role: role, content: content)
            }
            guard messages.last?.role == "assistant" else {
                throw TrainingDataError.badItem(line: line, reason: "a chat item must end with an assistant message to learn from")
            }
            text = nil
        } else if let plain = string("text") {
            messages = []
            text = plain
        } else {
            throw TrainingDataError.badItem(line: line, reason: "needs instruction and response, messages, or text")
        }
    }
}

/// A tokenised row: ids and labels (-100 where no loss is taken), at most the maximum length.
public struct TrainingRow: Sendable, Equatable {
    public var inputIds: [Int]
    public var labels: [Int]

    /// Label tokens that count after the causal shift (labels[1...] that are not -100), Trainer's N.
    public var labelTokens: Int { labels.dropFirst().filter { $0 != -100 }.count }
}

/// Renders, tokenises and masks items for one model's tokenizer and chat template.
public struct TrainingFormatter: Sendable {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate?
    /// The id that fills padding: the tokenizer's pad token, else its EOS (pads are masked by position, never by id).
    public let padId: Int
    public let maxLength: Int
    private let bosToken: String?
    private let eosToken: String?

    /// A formatter for the model folder's tokenizer, chat template and pad token.
    /// - Throws: tokenizer or template errors, or `TrainingDataError.noPadToken` when there is neither a pad nor an EOS token.
    public init(loaded: LoadedModel, maxLength: Int) throws {
        try self.init(tokenizer: loaded.tokenizer, template: loaded.chatTemplate,
                      configuredPad: Self.padToken(folder: loaded.folder).flatMap(loaded.tokenizer.id(for:)), maxLength: maxLength)
    }

    /// A formatter for a base model folder or GGUF file, reading only its tokenizer and template (not its weights).
    /// - Throws: tokenizer, template or GGUF errors, or `TrainingDataError.noPadToken`.
    public init(base: URL, maxLength: Int) throws {
        if ModelRegistry.isGGUF(base) {
            let reader = try GGUFReader(url: base)
            let tokenizer = try Tokenizer(gguf: reader)
            let template = try reader.string("tokenizer.chat_template").map { source throws(ChatTemplateError) in try ChatTemplate(source: source) }
            try self.init(tokenizer: tokenizer, template: template, configuredPad: reader.specialTokenID("padding"), maxLength: maxLength)
        } else {
            let tokenizer = try Tokenizer(folder: base)
            let template = try LoadedModel.chatTemplateSource(folder: base).map { source throws(ChatTemplateError) in try ChatTemplate(source: source) }
            try self.init(tokenizer: tokenizer, template: template, configuredPad: Self.padToken(folder: base).flatMap(tokenizer.id(for:)),
                          maxLength: maxLength)
        }
    }

    /// The shared part: pad = the configured pad token, else EOS.
    init(tokenizer: Tokenizer, template: ChatTemplate?, configuredPad: Int?, maxLength: Int) throws {
        self.tokenizer = tokenizer
        self.template = template
        self.maxLength = maxLength
        bosToken = tokenizer.bosTokenId.flatMap(tokenizer.token(for:))
        eosToken = tokenizer.eosTokenId.flatMap(tokenizer.token(for:))
        guard let pad = configuredPad ?? tokenizer.eosTokenId else { throw TrainingDataError.noPadToken }
        padId = pad
    }

    /// tokenizer_config.json's `pad_token` (a string or `{"content"}`), if any.
    static func padToken(folder: URL) -> String? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if let token = object["pad_token"] as? String { return token }
        return (object["pad_token"] as? [String: Any])?["content"] as? String
    }

    /// The row of `item`: prompt (the messages before the last, with the generation prompt) masked, the last message and
    /// the template's closing tokens learned from, both truncated to `maxLength` (the first tokens kept).
    /// - Throws: `TrainingDataError` when the template is missing or does not render the prompt as a prefix of the whole.
    public func row(_ item: TrainingItem) throws -> TrainingRow {
        if let text = item.text {
            let ids = Array(tokenizer.encode(text).prefix(maxLength))
            return TrainingRow(inputIds: ids, labels: ids)
        }
        guard let template else { throw TrainingDataError.noChatTemplate }
        let promptText = try template.render(messages: Array(item.messages.dropLast()), addGenerationPrompt: true,
                                             bosToken: bosToken, eosToken: eosToken)
        let fullText = try template.render(messages: item.messages, bosToken: bosToken, eosToken: eosToken)
        let promptIds = tokenizer.encode(promptText, addSpecialTokens: false)
        let fullIds = tokenizer.encode(fullText, addSpecialTokens: false)
        guard fullText.hasPrefix(promptText), fullIds.starts(with: promptIds) else {
            throw TrainingDataError.promptNotPrefix(item: item.id ?? "?")
        }
        let labels = [Int](repeating: -100, count: promptIds.count) + fullIds[promptIds.count...]
        return TrainingRow(inputIds: Array(fullIds.prefix(maxLength)), labels: Array(labels.prefix(maxLength)))
    }

    /// Rows right-padded to the longest: ids (pads = `padId`), attention mask (0 on pads) and labels (-100 on pads).
    public func batch(_ rows: [TrainingRow]) -> (inputIds: [[Int]], attentionMask: [[Int]], labels: [[Int]]) {
        let width = rows.map(\.inputIds.count).max() ?? 0
        return (rows.map { $0.inputIds + [Int](repeating: padId, count: width - $0.inputIds.count) },
                rows.map { [Int](repeating: 1, count: $0.inputIds.count) + [Int](repeating: 0, count: width - $0.inputIds.count) },
                rows.map { $0.labels + [Int](repeating: -100, count: width - $0.labels.count) })
    }
}

/// Why training data could not be used.
public enum TrainingDataError: Error, Equatable, Sendable {
    /// A line of the data file is not an item Kiln can train on.
    case badItem(line: Int, reason: String)
    /// The model has no chat template, so instruction and chat items cannot be rendered.
    case noChatTemplate
    /// The model's tokenizer names neither a pad nor an EOS token.
    case noPadToken
    /// The chat template's prompt is not a prefix of the whole conversation, so the response cannot be located.
    case promptNotPrefix(item: String)
}

extension TrainingDataError: LocalizedError {
    /// A sentence naming the line or item.
    public var errorDescription: String? {
        switch self {
        case .badItem(let line, let reason): "Line \(line) of the training data: \(reason)."
        case .noChatTemplate: "The model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); instruction and chat items need one."
        case .noPadToken: "The tokenizer has neither a pad token nor an EOS token to pad with."
        case .promptNotPrefix(let item): "Item \(item): the chat template renders the prompt differently alone than in the whole conversation."
        }
    }
}
