// Export items become exactly the fixture run's rows (Tests/Fixtures/README.md §10.2): template, masking, truncation, padding.
import Foundation
import KilnModels
import Testing
@testable import KilnTrain

@Suite("Training data as the fixture run formats it")
struct TrainingFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Run: Decodable {
        struct Item: Decodable {
            var id: String
            var input_ids: [Int]
            var labels: [Int]
            var n_label_tokens_after_shift: Int
        }
        struct Micro: Decodable {
            var micro_batch: Int
            var shape: [Int]
            var n_label_tokens: Int
        }
        struct Step: Decodable {
            var step: Int
            var micro: [Micro]
        }
        var pad_id_used: Int
        var items: [Item]
        var steps: [Step]
    }

    static func items() throws -> [TrainingItem] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("training/dataset.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { try TrainingItem(jsonLine: String($1), line: $0 + 1) }
    }

    @Test("Every item's ids and labels, and every micro-batch's shape and label count, equal run.json", arguments: ["llama", "qwen2"])
    func rows(family: String) throws {
        let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("training/\(family)/run.json")))
        let formatter = try TrainingFormatter(loaded: LoadedModel(folder: Self.fixtures.appendingPathComponent("models/\(family)")), maxLength: 64)
        #expect(formatter.padId == run.pad_id_used)
        let items = try Self.items()
        let rows = try items.map(formatter.row)
        for (row, expected) in zip(rows, run.items) {
            #expect(row.inputIds == expected.input_ids, "\(expected.id) input_ids")
            #expect(row.labels == expected.labels, "\(expected.id) labels")
            #expect(row.labelTokens == expected.n_label_tokens_after_shift, "\(expected.id) label tokens")
        }
        for step in run.steps where step.step <= 3 {
            for micro in step.micro {
                let batch = formatter.batch(Array(rows[(micro.micro_batch * 4)..<min(micro.micro_batch * 4 + 4, 20)]))
                #expect([batch.inputIds.count, batch.inputIds[0].count] == micro.shape, "micro-batch \(micro.micro_batch)")
                let counted = batch.labels.reduce(0) { $0 + $1.dropFirst().filter { $0 != -100 }.count }
                #expect(counted == micro.n_label_tokens, "micro-batch \(micro.micro_batch)")
                #expect(batch.attentionMask.joined().filter { $0 == 1 }.count == batch.inputIds.indices.reduce(0) { $0 + rows[micro.micro_batch * 4 + $1].inputIds.count })
            }
        }
    }

    @Test("The five micro-batches and the validation batch equal batches.safetensors", arguments: ["llama", "qwen2"])
    func batches(family: String) throws {
        let formatter = try TrainingFormatter(loaded: LoadedModel(folder: Self.fixtures.appendingPathComponent("models/\(family)")), maxLength: 64)
        let rows = try Self.items().map(formatter.row)
        let expected = try SafeTensorsReader(url: Self.fixtures.appendingPathComponent("training/\(family)/batches.safetensors"))
        func flat(_ name: String) throws -> [Int] { try expected.int64s(name).map(Int.init) }
        let groups = (0..<5).map { ("micro\($0)", Array(rows[($0 * 4)..<($0 * 4 + 4)])) } + [("val", Array(rows[20..<24]))]
        for (name, group) in groups {
            let batch = formatter.batch(group)
            #expect(Array(batch.inputIds.joined()) == (try flat("\(name).input_ids")), "\(name).input_ids")
            #expect(Array(batch.attentionMask.joined()) == (try flat("\(name).attention_mask")), "\(name).attention_mask")
            #expect(Array(batch.labels.joined()) == (try flat("\(name).labels")), "\(name).labels")
        }
    }

    @Test("Lines that are not training items are refused with their line number")
    func badLines() {
        #expect(throws: TrainingDataError.badItem(line: 3, reason: "not a JSON object")) { try TrainingItem(jsonLine: "[1]", line: 3) }
        #expect(throws: TrainingDataError.badItem(line: 1, reason: "needs instruction and response, messages, or text")) {
            try TrainingItem(jsonLine: "{\"instruction\": \"x\"}", line: 1)
        }
        #expect(throws: TrainingDataError.self) {
            try TrainingItem(jsonLine: "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", line: 2)
        }
    }
}
