// The OpenAI request reader and the streaming stop-string holdback, on hand-worked cases from OpenAI's API reference:
// ranges, defaults, refused fields, and chunks that add up to the non-streamed text.
import Foundation
import Testing
@testable import KilnServer

@Suite("OpenAI-compatible requests")
struct OpenAIRequestTests {
    func fields(_ json: String) throws -> OpenAIFields { try OpenAIFields(body: Data(json.utf8)) }

    func refusal(_ json: String, chat: Bool = true) -> OpenAIError? {
        do {
            let f = try fields(json)
            if chat { _ = try f.chatRequest() } else { _ = try f.completionRequest() }
            return nil
        } catch let error as OpenAIError {
            return error
        } catch {
            return nil
        }
    }

    @Test("Defaults are OpenAI's: temperature 1, top_p 1, no max_tokens, no stop; unknown fields are accepted")
    func defaults() throws {
        let request = try fields(#"{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"stream_options":{"include_usage":true},"user":"x","store":false}"#).chatRequest()
        #expect(request.model == "m")
        #expect(request.messages == [ChatMessageRequest(role: "system", content: "be brief"), ChatMessageRequest(role: "user", content: "ab")])
        #expect(request.sampling.temperature == 1 && request.sampling.topP == 1 && request.sampling.maxTokens == nil)
        #expect(request.sampling.stop.isEmpty && !request.sampling.stream && request.sampling.includeUsage)
    }

    @Test("Out-of-range and unsupported values name their field")
    func refusals() {
        let base = #""model":"m","messages":[{"role":"user","content":"hi"}]"#
        let cases: [(String, String?, String?)] = [
            (#"{\#(base),"temperature":2.5}"#, "temperature", "invalid_value"),
            (#"{\#(base),"temperature":"hot"}"#, "temperature", "invalid_type"),
            (#"{\#(base),"top_p":0}"#, "top_p", "invalid_value"),
            (#"{\#(base),"max_tokens":0}"#, "max_tokens", "invalid_value"),
            (#"{\#(base),"max_tokens":1.5}"#, "max_tokens", "invalid_type"),
            (#"{\#(base),"n":3}"#, "n", "unsupported_value"),
            (#"{\#(base),"stop":["a","b","c","d","e"]}"#, "stop", "invalid_value"),
            (#"{\#(base),"stop":[""]}"#, "stop", "invalid_value"),
            (#"{\#(base),"stream":"yes"}"#, "stream", "invalid_type"),
            (#"{\#(base),"presence_penalty":3}"#, "presence_penalty", "invalid_value"),
            (#"{\#(base),"tools":[{"type":"function"}]}"#, "tools", "unsupported_parameter"),
            (#"{\#(base),"logprobs":true}"#, "logprobs", "unsupported_parameter"),
            (#"{"messages":[{"role":"user","content":"hi"}]}"#, "model", "missing_required_parameter"),
            (#"{"model":"m","messages":[]}"#, "messages", "invalid_value"),
            (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].role", "invalid_value"),
            (#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#, "messages[0].content", "unsupported_value"),
            (#"["not an object"]"#, nil, "invalid_json"),
        ]
        for (json, param, code) in cases {
            let error = refusal(json)
            #expect(error?.status == .badRequest, "\(json)")
            #expect(error?.param == param && error?.code == code, "\(json): \(String(describing: error))")
        }
    }

    @Test("Completion prompts: a string, one string in a list, or token ids; several prompts are refused")
    func prompts() throws {
        #expect(try fields(#"{"model":"m","prompt":"hi"}"#).completionRequest().prompt == .text("hi"))
        #expect(try fields(#"{"model":"m","prompt":["hi"]}"#).completionRequest().prompt == .text("hi"))
        #expect(try fields(#"{"model":"m","prompt":[1,2,3]}"#).completionRequest().prompt == .ids([1, 2, 3]))
        #expect(refusal(#"{"model":"m","prompt":["a","b"]}"#, chat: false)?.param == "prompt")
        #expect(refusal(#"{"model":"m","prompt":[true]}"#, chat: false)?.param == "prompt")
        #expect(try fields(#"{"model":"m","prompt":"x","seed":-1}"#).completionRequest().sampling.seed == UInt64.max)
    }

    @Test("Streaming holds back what may start a stop string; the pieces add up to the cut text")
    func holdback() {
        var h = StopHoldback(stops: ["abc"])
        #expect(h.add("xa") == "x")
        #expect(h.add("b") == "")
        #expect(h.add("d") == "abd")
        #expect(h.finish("xabd") == "")
        // The generator cut the text at the stop, so what was held back is never sent.
        var cut = StopHoldback(stops: ["\n\n"])
        #expect(cut.add("Hello") == "Hello")
        #expect(cut.add("\n") == "")
        #expect(cut.finish("Hello") == "")
        #expect(cut.sent == "Hello")
        // Without stop strings every delta passes at once, and the end adds what the deltas lacked.
        var plain = StopHoldback(stops: [])
        #expect(plain.add("a") == "a")
        #expect(plain.finish("ab") == "b")
    }
}
