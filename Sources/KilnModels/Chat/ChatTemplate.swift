// The public face of the chat-template interpreter: parse a tokenizer_config.json `chat_template` once,
// render it many times with the variables transformers' `apply_chat_template` passes
// (transformers src/transformers/utils/chat_template_utils.py, `render_jinja_template`).
import Foundation

/// A parsed Jinja chat template that renders conversations byte-identically to transformers.
public struct ChatTemplate: Sendable {
    /// The template source as given.
    public let source: String
    private let nodes: [TemplateNode]

    /// Parses `source` (jinja2 with trim_blocks and lstrip_blocks on, as transformers configures it).
    /// - Throws: `ChatTemplateError.syntax` (or `.limitExceeded` for absurd nesting) with the position.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        var lexer = TemplateLexer(source: source)
        var parser = TemplateParser(tokens: try lexer.tokenize())
        nodes = try parser.parseTemplate()
    }

    /// Renders a conversation the way `tokenizer.apply_chat_template(messages, tokenize=False, …)` does.
    /// - Parameters:
    ///   - messages: the conversation; each a dictionary with `role`, `content` and any other keys (`tool_calls`, …).
    ///   - addGenerationPrompt: whether to append the assistant header that prompts a reply.
    ///   - bosToken: the tokenizer's BOS token; nil leaves `bos_token` undefined, as transformers does for unset tokens.
    ///   - eosToken: the tokenizer's EOS token; nil leaves `eos_token` undefined.
    ///   - tools: JSON tool schemas; nil renders `tools` as `none`, as transformers passes it.
    ///   - extra: further variables (other special tokens, `enable_thinking`, …); they override the ones above.
    ///   - now: the time `strftime_now` reports.
    /// - Throws: `ChatTemplateError.raised` when the template calls `raise_exception`, `.runtime` for other failures.
    public func render(messages: [TemplateValue], addGenerationPrompt: Bool = false, bosToken: String? = nil, eosToken: String? = nil,
                       tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:], now: Date = Date())
        throws(ChatTemplateError) -> String {
        var context: [String: TemplateValue] = [
            "messages": .array(messages),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "tools": tools.map { TemplateValue.array($0) } ?? TemplateValue.none,
            "documents": .none,
        ]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        context.merge(extra) { _, new in new }
        return try render(context: context, now: now)
    }

    /// Renders with exactly the given variables (plus the globals `raise_exception`, `strftime_now`, `namespace`, `range`, `dict`).
    /// - Throws: `ChatTemplateError.raised` when the template calls `raise_exception`, `.runtime` for other failures.
    public func render(context: [String: TemplateValue], now: Date = Date()) throws(ChatTemplateError) -> String {
        var evaluator = TemplateEvaluator(context: context, now: now)
        var out = ""
        _ = try evaluator.execute(nodes, into: &out)
        return out
    }
}

extension ChatTemplateMessage {
    /// The message as the dictionary templates index (`message['role']`, `message['content']`).
    public var templateValue: TemplateValue {
        var d = TemplateDictionary()
        d["role"] = .string(role)
        d["content"] = content.map { .string($0) } ?? TemplateValue.none
        for (key, value) in extra.pairs where d[key] == nil { d[key] = value }
        return .dict(d)
    }
}

/// A chat message with a role, text content (nil for tool-call-only assistant turns) and any extra keys.
public struct ChatTemplateMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, …
    public var role: String
    /// The text; nil becomes `none`, which templates test with `content is none`.
    public var content: String?
    /// Other keys such as `tool_calls` or `name`, in order.
    public var extra: TemplateDictionary

    /// A message with the given role and content and optional extra keys.
    public init(role: String, content: String?, extra: TemplateDictionary = TemplateDictionary()) {
        self.role = role
        self.content = content
        self.extra = extra
    }
}

extension ChatTemplate {
    /// Renders typed messages; see `render(messages:addGenerationPrompt:bosToken:eosToken:tools:extra:now:)`.
    /// - Throws: the same errors as the `[TemplateValue]` overload.
    public func render(messages: [ChatTemplateMessage], addGenerationPrompt: Bool = false, bosToken: String? = nil,
                       eosToken: String? = nil, tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:],
                       now: Date = Date()) throws(ChatTemplateError) -> String {
        try render(messages: messages.map(\.templateValue), addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                   eosToken: eosToken, tools: tools, extra: extra, now: now)
    }
}
