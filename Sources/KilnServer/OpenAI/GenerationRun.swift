// One OpenAI request turned into an engine run: the prompt's ids checked against the model's context and vocabulary,
// the engine's options, and the response bodies in OpenAI's shapes (chat.completion, text_completion and their
// streamed chunks).
import Foundation
import KilnAPI
import KilnModels

/// A checked request, ready for the worker.
struct GenerationRun: Sendable {
    let served: ServedModel
    let serving: ServingModel
    /// The model that runs it.
    var loaded: LoadedModel { serving.loaded }
    let promptIds: [Int]
    let sampling: SamplingRequest
    /// True for /v1/chat/completions (its object names and message shapes).
    let chat: Bool
    /// The prompt text to put before the answer (`echo` of /v1/completions).
    var echo: String?
    /// `chatcmpl-…` or `cmpl-…`.
    let id: String
    /// Seconds since 1970.
    let created: Int
    /// The engine's settings.
    let options: GenerationOptions
    /// The knowledge chunks the prompt was given, numbered as the answer cites them (a Kiln extension field).
    var citations: JSONValue?

    /// Checks the prompt and `max_tokens` against the model, OpenAI's 400s when they do not fit.
    init(served: ServedModel, serving: ServingModel, promptIds: [Int], sampling: SamplingRequest, chat: Bool) throws {
        let loaded = serving.loaded
        guard !promptIds.isEmpty else { throw OpenAIError.invalid("The prompt is empty.", param: chat ? "messages" : "prompt") }
        let vocabulary = (loaded.model as? any IncrementalDecoder)?.vocabularySize ?? loaded.tokenizer.vocabularySize
        if let bad = promptIds.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw OpenAIError.invalid("Token id \(bad) is outside the model's vocabulary of \(vocabulary).", param: "prompt")
        }
        // A model without a fixed context (ALiBi) still gets a bound, so that no request runs without end.
        let context = loaded.contextLength ?? 4096
        let room = context - promptIds.count
        guard room >= 1 else {
            throw OpenAIError.invalid("This model's maximum context length is \(context) tokens; the prompt has \(promptIds.count).",
                                      param: chat ? "messages" : "prompt", code: "context_length_exceeded")
        }
        if let asked = sampling.maxTokens, asked > room {
            throw OpenAIError.invalid("This model's maximum context length is \(context) tokens. However, you requested \(promptIds.count + asked) "
                                      + "tokens (\(promptIds.count) in the prompt, \(asked) for the completion). Lower max_tokens to at most \(room).",
                                      param: "max_tokens", code: "context_length_exceeded")
        }
        (self.served, self.serving, self.promptIds, self.sampling, self.chat) = (served, serving, promptIds, sampling, chat)
        var random = SystemRandomNumberGenerator()
        id = (chat ? "chatcmpl-" : "cmpl-") + (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
        created = Int(Date().timeIntervalSince1970)
        options = GenerationOptions(maxNewTokens: sampling.maxTokens ?? room, sampling: sampling.sampling, eosTokenIds: loaded.eosTokenIds,
                                    stopStrings: sampling.stop, seed: sampling.seed ?? UInt64.random(in: 0...UInt64.max, using: &random))
    }

    /// OpenAI's finish reason: `stop` for EOS or a stop string, `length` at max_tokens.
    static func finishReason(_ result: GenerationResult) -> String {
        result.finishReason == .length ? "length" : "stop"
    }

    /// OpenAI's `usage` object.
    func usage(_ result: GenerationResult) -> JSONValue {
        .object(["prompt_tokens": .int(promptIds.count), "completion_tokens": .int(result.ids.count),
                 "total_tokens": .int(promptIds.count + result.ids.count)])
    }

    /// The whole answer of a non-streamed request.
    func completeBody(_ result: GenerationResult) -> JSONValue {
        let text = (echo ?? "") + result.text
        let choice: [String: JSONValue] = chat
            ? ["index": .int(0), "message": .object(["role": .string("assistant"), "content": .string(text)]), "logprobs": .null,
               "finish_reason": .string(Self.finishReason(result))]
            : ["index": .int(0), "text": .string(text), "logprobs": .null, "finish_reason": .string(Self.finishReason(result))]
        var body: [String: JSONValue] = [
            "id": .string(id), "object": .string(chat ? "chat.completion" : "text_completion"), "created": .int(created),
            "model": .string(served.id), "system_fingerprint": .null, "choices": .array([.object(choice)]), "usage": usage(result),
        ]
        if let citations { body["citations"] = citations }
        return .object(body)
    }

    /// One streamed chunk: the first carries the assistant role (chat) or the echoed prompt; the last a finish reason.
    func chunk(delta: String, first: Bool, finish: String?) -> Data {
        let choice: [String: JSONValue]
        if chat {
            var content: [String: JSONValue] = finish == nil ? ["content": .string(delta)] : [:]
            if first { content["role"] = .string("assistant") }
            choice = ["index": .int(0), "delta": .object(content), "logprobs": .null, "finish_reason": finish.map { .string($0) } ?? .null]
        } else {
            choice = ["index": .int(0), "text": .string(first ? (echo ?? "") : delta), "logprobs": .null,
                      "finish_reason": finish.map { .string($0) } ?? .null]
        }
        var body: [String: JSONValue] = [
            "id": .string(id), "object": .string(chat ? "chat.completion.chunk" : "text_completion"), "created": .int(created),
            "model": .string(served.id), "system_fingerprint": .null, "choices": .array([.object(choice)]),
        ]
        if first, let citations { body["citations"] = citations }
        return JSONValue.object(body).data
    }

    /// The last chunk of `stream_options.include_usage`: no choices, the counts.
    func usageChunk(_ result: GenerationResult) -> Data {
        JSONValue.object([
            "id": .string(id), "object": .string(chat ? "chat.completion.chunk" : "text_completion"), "created": .int(created),
            "model": .string(served.id), "choices": .array([]), "usage": usage(result),
        ]).data
    }

    /// An error inside a stream, in OpenAI's error shape.
    func errorChunk(_ error: OpenAIError) -> Data {
        JSONValue.object(["error": .object(["message": .string(error.message), "type": .string(error.type),
                                          "param": error.param.map { .string($0) } ?? .null, "code": error.code.map { .string($0) } ?? .null])]).data
    }

    /// An engine failure as the API reports it: bad input is the caller's 400, anything else the node's 500.
    func engineError(_ error: any Error) -> OpenAIError {
        if let model = error as? ModelError, case .invalidInput(let reason) = model {
            return OpenAIError.invalid("The model refused the input: \(reason).", param: chat ? "messages" : "prompt")
        }
        return OpenAIError(status: .internalServerError, message: "Generation failed: \(error.localizedDescription)", type: "server_error")
    }
}

extension JSONValue {
    /// A JSON integer.
    static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// The encoded bytes (one line).
    var data: Data { (try? JSON.encoder.encode(self)) ?? Data("null".utf8) }
}
