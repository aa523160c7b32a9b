// Random mutations of the fixture templates must never crash the interpreter: every failure is a
// ChatTemplateError (typed throws makes any other error impossible), and limits stop runaway templates.
import Foundation
import KilnModels
import Testing

/// SplitMix64: a tiny seedable generator so a failing mutation can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Chat template fuzzing")
struct ChatTemplateFuzzTests {
    /// Fragments that tend to reach deep into the lexer and parser when spliced in.
    static let fragments = [
        "{%", "%}", "{{", "}}", "{#", "#}", "-%}", "{%-", "{{-", "-}}", "{% raw %}", "{% endraw %}", "{% for x in messages %}",
        "{% endfor %}", "{% if", "{% else %}", "{% endif %}", "{% set ns.x = 1 %}", "(", ")", "[", "]", "{", "}", "'", "\"", "\\",
        "|", "| tojson(indent=2)", "| length", ".strip()", "[::-1]", "[1:]", " is defined", " is not none", " not in ", " ~ ",
        " + ", " * 99 ", "//", "**", "loop.index0", "loop", "namespace(a=1)", "raise_exception('x')", "none", "1e999", "9999999999999999999",
        "\n", "  ", "é", "👨‍👩‍👧", "{% macro m(a) %}{{ m(a) }}{% endmacro %}{{ m(1) }}", "range(3)", "dict(a=1)",
    ]

    /// A plain alternating conversation most mutants can render, and a tool conversation for DeepSeek's branches.
    static let plain: [TemplateValue] = [["role": "user", "content": "hi"], ["role": "assistant", "content": "yo"], ["role": "user", "content": "ok"]]
    static let withTools: [TemplateValue] = [
        ["role": "system", "content": "sys"], ["role": "user", "content": "hi"],
        ["role": "assistant", "content": nil, "tool_calls": [["type": "function", "function": ["name": "f", "arguments": "{}"]]]],
        ["role": "tool", "content": "42"], ["role": "assistant", "content": "done"],
    ]

    static func mutate(_ source: String, _ rng: inout SplitMix64) -> String {
        var scalars = Array(source.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !scalars.isEmpty:
                scalars.removeSubrange(i..<min(scalars.count, i + Int.random(in: 1...12, using: &rng)))
            case 1:
                scalars.insert(contentsOf: (fragments.randomElement(using: &rng) ?? "").unicodeScalars, at: i)
            case 2 where !scalars.isEmpty:
                let j = Int.random(in: 0..<scalars.count, using: &rng)
                scalars.swapAt(i, j)
            case 3 where !scalars.isEmpty:
                let end = min(scalars.count, i + Int.random(in: 1...40, using: &rng))
                scalars.insert(contentsOf: Array(scalars[i..<end]), at: Int.random(in: 0...scalars.count, using: &rng))
            default:
                scalars.insert(Unicode.Scalar(UInt8.random(in: 0x20...0x7e, using: &rng)), at: i)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    @Test("Thousands of mutated fixture templates parse or fail with a typed error, never crash")
    func mutatedTemplatesNeverCrash() throws {
        let names = ["deepseek_v3", "glm4", "llama2", "llama3", "mistral", "qwen2", "smollm2"]
        let sources = try names.map { try ChatTemplateFixtures.source("\($0).jinja") }
        var rng = SplitMix64(state: 0x4B49_4C4E)
        var rendered = 0, failed = 0
        for iteration in 0..<3000 {
            var source = sources.randomElement(using: &rng) ?? ""
            for _ in 0..<Int.random(in: 1...3, using: &rng) { source = Self.mutate(source, &rng) }
            let result: Result<String, ChatTemplateError> = Result { () throws(ChatTemplateError) -> String in
                try ChatTemplate(source: source).render(messages: iteration % 4 == 0 ? Self.withTools : Self.plain, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
            }
            switch result {
            case .success: rendered += 1
            case .failure(let error): failed += 1; #expect(!error.message.isEmpty)
            }
        }
        // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
        #expect(rendered > 100 && failed > 100, "rendered \(rendered), failed \(failed)")
    }
}
