// The bodies of /v1/chat/completions and /v1/completions, read as OpenAI documents them. Fields the official client
// may send and Kiln has nothing to do with (`user`, `stream_options`, `store`, `metadata`…) are accepted and ignored;
// a field whose meaning Kiln cannot honour (`n` above 1, tools, log-probabilities) is refused, never silently dropped,
// and every range is checked here so that nothing out of range reaches the engine.
import Foundation
import KilnModels

/// The sampling and stopping fields both endpoints share.
struct SamplingRequest: Sendable {
    /// Whether a value was given: OpenAI's default temperature is 1 (sampling), 0 is greedy.
    var temperature: Float = 1
    var topP: Float = 1
    /// nil: up to the rest of the model's context.
    var maxTokens: Int?
    var stop: [String] = []
    var seed: UInt64?
    var presencePenalty: Float = 0
    var frequencyPenalty: Float = 0
    var stream = false
    /// `stream_options.include_usage`: a last chunk with the token counts.
    var includeUsage = false

    /// The engine's sampling settings.
    var sampling: SamplingParameters {
        var parameters = SamplingParameters(temperature: temperature, topP: topP)
        parameters.presencePenalty = presencePenalty
        parameters.frequencyPenalty = frequencyPenalty
        return parameters
    }
}

/// One chat message: a role and its text.
struct ChatMessageRequest: Sendable, Equatable {
    var role: String
    var content: String
}

/// `POST /v1/chat/completions`.
struct ChatCompletionRequest: Sendable {
    var model: String
    var messages: [ChatMessageRequest]
    var sampling: SamplingRequest
}

/// `POST /v1/completions`: a text prompt, or the prompt's token ids.
struct CompletionRequest: Sendable {
    enum Prompt: Sendable, Equatable {
        case text(String)
        case ids([Int])
    }
    var model: String
    var prompt: Prompt
    var echo: Bool
    var sampling: SamplingRequest
}

/// Typed access to a JSON object's fields, each failure an OpenAI 400 naming the field.
struct OpenAIFields {
    let object: [String: Any]

    /// The top-level object of `body`.
    /// - Throws: `OpenAIError` when the body is not a JSON object.
    init(body: Data) throws {
        guard let parsed = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
            throw OpenAIError.invalid("The body is not valid JSON.", param: nil, code: "invalid_json")
        }
        guard let object = parsed as? [String: Any] else {
            throw OpenAIError.invalid("The body must be a JSON object.", param: nil, code: "invalid_json")
        }
        self.object = object
    }

    init(object: [String: Any]) { self.object = object }

    /// True when `key` is absent or JSON null.
    func isAbsent(_ key: String) -> Bool { object[key] == nil || object[key] is NSNull }

    /// A required string.
    func string(_ key: String) throws -> String {
        guard let value = object[key] as? String else {
            throw OpenAIError.invalid(isAbsent(key) ? "`\(key)` is required." : "`\(key)` must be a string.", param: key,
                                      code: isAbsent(key) ? "missing_required_parameter" : "invalid_type")
        }
        return value
    }

    /// A number in `range`, or `fallback` when absent.
    func number(_ key: String, in range: ClosedRange<Double>, default fallback: Double) throws -> Double {
        if isAbsent(key) { return fallback }
        guard let value = object[key] as? NSNumber, !Self.isBool(value), value.doubleValue.isFinite else {
            throw OpenAIError.invalid("`\(key)` must be a number.", param: key, code: "invalid_type")
        }
        guard range.contains(value.doubleValue) else {
            throw OpenAIError.invalid("`\(key)` is \(value); it must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)).", param: key)
        }
        return value.doubleValue
    }

    /// An integer, or nil when absent.
    func integer(_ key: String) throws -> Int? {
        if isAbsent(key) { return nil }
        guard let value = object[key] as? NSNumber, !Self.isBool(value), let exact = Int(exactly: value.doubleValue) else {
            throw OpenAIError.invalid("`\(key)` must be an integer.", param: key, code: "invalid_type")
        }
        return exact
    }

    /// A boolean, or `fallback` when absent.
    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        if isAbsent(key) { return fallback }
        guard let value = object[key] as? NSNumber, Self.isBool(value) else {
            throw OpenAIError.invalid("`\(key)` must be true or false.", param: key, code: "invalid_type")
        }
        return value.boolValue
    }

    /// JSONSerialization gives booleans as NSNumber too, with the Objective-C type code of `char`; numbers never get it.
    static func isBool(_ value: NSNumber) -> Bool { String(cString: value.objCType) == "c" }

    static func format(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }

    /// The shared sampling fields, with OpenAI's ranges.
    func sampling() throws -> SamplingRequest {
        var request = SamplingRequest()
        request.temperature = Float(try number("temperature", in: 0...2, default: 1))
        request.topP = Float(try number("top_p", in: 0...1, default: 1))
        if request.topP == 0 { throw OpenAIError.invalid("`top_p` must be above 0.", param: "top_p") }
        request.presencePenalty = Float(try number("presence_penalty", in: -2...2, default: 0))
        request.frequencyPenalty = Float(try number("frequency_penalty", in: -2...2, default: 0))
        // max_completion_tokens is the newer name of max_tokens; either may come.
        for key in ["max_tokens", "max_completion_tokens"] {
            guard let value = try integer(key) else { continue }
            guard value >= 1 else { throw OpenAIError.invalid("`\(key)` is \(value); it must be at least 1.", param: key) }
            request.maxTokens = value
        }
        if let n = try integer("n"), n != 1 {
            throw OpenAIError.invalid("`n` is \(n); this server returns one choice per request (n = 1).", param: "n", code: "unsupported_value")
        }
        if let seed = try integer("seed") { request.seed = UInt64(bitPattern: Int64(seed)) }
        request.stop = try stopStrings()
        request.stream = try bool("stream", default: false)
        if let options = object["stream_options"] as? [String: Any] {
            request.includeUsage = try OpenAIFields(object: options).bool("include_usage", default: false)
        } else if !isAbsent("stream_options") {
            throw OpenAIError.invalid("`stream_options` must be an object.", param: "stream_options", code: "invalid_type")
        }
        try refuseUnsupported()
        return request
    }

    /// `stop`: a string or up to 4 non-empty strings.
    private func stopStrings() throws -> [String] {
        if isAbsent("stop") { return [] }
        let list: [String]
        if let one = object["stop"] as? String {
            list = [one]
        } else if let many = object["stop"] as? [Any], many.allSatisfy({ $0 is String }) {
            list = many.map { $0 as! String }
        } else {
            throw OpenAIError.invalid("`stop` must be a string or a list of strings.", param: "stop", code: "invalid_type")
        }
        guard list.count <= 4 else { throw OpenAIError.invalid("`stop` takes at most 4 strings.", param: "stop") }
        guard list.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 1024 }) else {
            throw OpenAIError.invalid("Each `stop` string must be 1 to 1024 bytes.", param: "stop")
        }
        return list
    }

    /// Fields that would change the answer in ways this server does not implement.
    private func refuseUnsupported() throws {
        func unsupported(_ key: String, _ why: String) -> OpenAIError {
            OpenAIError.invalid("`\(key)` is not supported by this server: \(why).", param: key, code: "unsupported_parameter")
        }
        if let logprobs = object["logprobs"] as? NSNumber, logprobs.boolValue { throw unsupported("logprobs", "no log-probabilities are returned") }
        if let logprobs = object["logprobs"] as? NSNumber, !Self.isBool(logprobs), logprobs.intValue > 0 {
            throw unsupported("logprobs", "no log-probabilities are returned")
        }
        if let tools = object["tools"] as? [Any], !tools.isEmpty { throw unsupported("tools", "models here do not call tools") }
        if let functions = object["functions"] as? [Any], !functions.isEmpty { throw unsupported("functions", "models here do not call tools") }
        if let bias = object["logit_bias"] as? [String: Any], !bias.isEmpty { throw unsupported("logit_bias", "token biases are not applied") }
        if let format = object["response_format"] as? [String: Any], let type = format["type"] as? String, type != "text" {
            throw unsupported("response_format", "only text answers are produced")
        }
        if let bestOf = try? integer("best_of"), bestOf > 1 { throw unsupported("best_of", "one completion is generated per request") }
    }

    /// The chat request.
    func chatRequest() throws -> ChatCompletionRequest {
        let model = try string("model")
        guard let list = object["messages"] as? [Any] else {
            throw OpenAIError.invalid(isAbsent("messages") ? "`messages` is required." : "`messages` must be a list.", param: "messages",
                                      code: isAbsent("messages") ? "missing_required_parameter" : "invalid_type")
        }
        guard !list.isEmpty else { throw OpenAIError.invalid("`messages` must hold at least one message.", param: "messages") }
        let messages = try list.enumerated().map { index, item in try Self.message(item, index: index) }
        return ChatCompletionRequest(model: model, messages: messages, sampling: try sampling())
    }

    /// One message: `role` and `content` (a string, or a list of text parts).
    static func message(_ item: Any, index: Int) throws -> ChatMessageRequest {
        let param = "messages[\(index)]"
        guard let fields = item as? [String: Any] else { throw OpenAIError.invalid("\(param) must be an object.", param: param, code: "invalid_type") }
        guard var role = fields["role"] as? String else { throw OpenAIError.invalid("\(param).role is required.", param: "\(param).role") }
        // OpenAI's newer `developer` role is the system message of models that predate it.
        if role == "developer" { role = "system" }
        guard ["system", "user", "assistant"].contains(role) else {
            throw OpenAIError.invalid("\(param).role is `\(role)`; it must be system, developer, user or assistant.", param: "\(param).role")
        }
        let content: String
        switch fields["content"] {
        case let text as String:
            content = text
        case let parts as [Any]:
            content = try parts.enumerated().map { partIndex, part in
                guard let part = part as? [String: Any], part["type"] as? String == "text", let text = part["text"] as? String else {
                    throw OpenAIError.invalid("\(param).content[\(partIndex)] must be a text part; these models read text only.",
                                              param: "\(param).content", code: "unsupported_value")
                }
                return text
            }.joined()
        case nil, is NSNull:
            guard role == "assistant" else { throw OpenAIError.invalid("\(param).content is required.", param: "\(param).content") }
            content = ""
        default:
            throw OpenAIError.invalid("\(param).content must be a string or a list of text parts.", param: "\(param).content", code: "invalid_type")
        }
        return ChatMessageRequest(role: role, content: content)
    }

    /// The completions request; `prompt` is a string, a list of one string, or a list of token ids.
    func completionRequest() throws -> CompletionRequest {
        let model = try string("model")
        let prompt: CompletionRequest.Prompt
        switch object["prompt"] {
        case let text as String:
            prompt = .text(text)
        case let list as [Any] where list.count == 1 && list[0] is String:
            prompt = .text(list[0] as! String)
        case let list as [Any] where !list.isEmpty && list.allSatisfy({ ($0 as? NSNumber).map { !Self.isBool($0) } ?? false }):
            let ids = list.compactMap { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
            guard ids.count == list.count else { throw OpenAIError.invalid("`prompt` token ids must be integers.", param: "prompt") }
            prompt = .ids(ids)
        case let list as [Any] where list.count > 1:
            throw OpenAIError.invalid("`prompt` holds \(list.count) prompts; send one per request.", param: "prompt", code: "unsupported_value")
        case nil, is NSNull:
            throw OpenAIError.invalid("`prompt` is required.", param: "prompt", code: "missing_required_parameter")
        default:
            throw OpenAIError.invalid("`prompt` must be a string or a list of token ids.", param: "prompt", code: "invalid_type")
        }
        if let suffix = object["suffix"] as? String, !suffix.isEmpty {
            throw OpenAIError.invalid("`suffix` is not supported by this server: these models do not fill in the middle.", param: "suffix",
                                      code: "unsupported_parameter")
        }
        return CompletionRequest(model: model, prompt: prompt, echo: try bool("echo", default: false), sampling: try sampling())
    }
}
