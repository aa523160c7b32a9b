// Every case of Tests/Fixtures/chat_templates/cases.jsonl (rendered by transformers 5.24 / jinja2 3.1.6,
// see Tests/Fixtures/README.md §2 and generate/chat_templates_gen.py) must render byte-identically.
import Foundation
import KilnModels
import Testing

/// Loads the chat-template fixtures relative to this file, never from the shared fixtures folder outside the repository.
enum ChatTemplateFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/chat_templates")

    /// One line of cases.jsonl.
    struct Case: Sendable, CustomTestStringConvertible {
        var family: String
        var template: String
        var conversation: String
        var messages: [TemplateValue]
        var addGenerationPrompt: Bool
        var bosToken: String?
        var eosToken: String?
        var rendered: String?
        var error: String?
        var testDescription: String { "\(family)/\(conversation)/agp=\(addGenerationPrompt)" }
    }

    static func source(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func cases() throws -> [Case] {
        try source("cases.jsonl").split(separator: "\n").map { line in
            guard case .dict(let row) = try TemplateJSON.parse(String(line)) else { throw ChatTemplateError.invalidJSON(message: "row", offset: 0) }
            func string(_ key: String) -> String? { if case .string(let s)? = row[key] { s } else { nil } }
            guard case .array(let messages)? = row["messages"], let family = string("family"), let template = string("template"),
                  let conversation = string("conversation") else { throw ChatTemplateError.invalidJSON(message: "row fields", offset: 0) }
            return Case(family: family, template: template, conversation: conversation, messages: messages,
                        addGenerationPrompt: row["add_generation_prompt"] == .bool(true), bosToken: string("bos_token"),
                        eosToken: string("eos_token"), rendered: string("rendered"), error: string("error"))
        }
    }

    static let allCases: [Case] = (try? cases()) ?? []

    /// One line of extra/extra_cases.jsonl: published-style templates with tools (see extra/extra_gen.py).
    struct ExtraCase: Sendable, CustomTestStringConvertible {
        var template: String
        var conversation: String
        var messages: [TemplateValue]
        var tools: [TemplateValue]?
        var addGenerationPrompt: Bool
        var extra: [String: TemplateValue]
        var rendered: String?
        var error: String?
        var testDescription: String { "\(template)/\(conversation)/tools=\(tools != nil)/agp=\(addGenerationPrompt)" }
    }

    static func extraCases() throws -> [ExtraCase] {
        try source("extra/extra_cases.jsonl").split(separator: "\n").map { line in
            guard case .dict(let row) = try TemplateJSON.parse(String(line)), case .string(let template)? = row["template"],
                  case .string(let conversation)? = row["conversation"], case .array(let messages)? = row["messages"],
                  case .dict(let extra)? = row["extra"] else { throw ChatTemplateError.invalidJSON(message: "row fields", offset: 0) }
            var tools: [TemplateValue]?
            if case .array(let t)? = row["tools"] { tools = t }
            var rendered: String?, error: String?
            if case .string(let r)? = row["rendered"] { rendered = r }
            if case .string(let e)? = row["error"] { error = e }
            return ExtraCase(template: template, conversation: conversation, messages: messages, tools: tools,
                             addGenerationPrompt: row["add_generation_prompt"] == .bool(true),
                             extra: Dictionary(uniqueKeysWithValues: extra.pairs), rendered: rendered, error: error)
        }
    }

    static let allExtraCases: [ExtraCase] = (try? extraCases()) ?? []
}

@Suite("Chat template fixtures")
struct ChatTemplateFixtureTests {
    @Test("The fixture file has all 112 cases")
    func caseCount() throws {
        #expect(try ChatTemplateFixtures.cases().count == 112)
    }

    @Test("Every fixture case renders byte-identically to transformers", arguments: ChatTemplateFixtures.allCases)
    func fixtureCase(_ row: ChatTemplateFixtures.Case) throws {
        let template = try ChatTemplate(source: try ChatTemplateFixtures.source(row.template))
        do {
            let output = try template.render(messages: row.messages, addGenerationPrompt: row.addGenerationPrompt,
                                             bosToken: row.bosToken, eosToken: row.eosToken)
            #expect(row.error == nil, "expected an error: \(row.error ?? "")")
            #expect(Array(output.utf8) == Array((row.rendered ?? "").utf8), "rendered:\n\(output)\nexpected:\n\(row.rendered ?? "")")
        } catch {
            guard case .raised(let message, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(row.error == "TemplateError: \(message)")
        }
    }

    @Test("The published-style template file has all 80 cases")
    func extraCaseCount() throws {
        #expect(try ChatTemplateFixtures.extraCases().count == 80)
    }

    @Test("Published-style templates with tools render as jinja2 renders them", arguments: ChatTemplateFixtures.allExtraCases)
    func extraCase(_ row: ChatTemplateFixtures.ExtraCase) throws {
        let template = try ChatTemplate(source: try ChatTemplateFixtures.source("extra/\(row.template)"))
        do {
            let output = try template.render(messages: row.messages, addGenerationPrompt: row.addGenerationPrompt, bosToken: "<s>",
                                             eosToken: "</s>", tools: row.tools, extra: row.extra)
            #expect(row.error == nil, "expected an error: \(row.error ?? "")")
            #expect(Array(output.utf8) == Array((row.rendered ?? "").utf8), "rendered:\n\(output)\nexpected:\n\(row.rendered ?? "")")
        } catch {
            guard case .raised(let message, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(row.error == "TemplateError: \(message)")
        }
    }
}
