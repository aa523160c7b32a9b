// `kiln tokenize`: encode text with a model folder's tokenizer, as transformers' `tokenizer(text)` does.
import ArgumentParser
import Foundation
import KilnModels

/// Prints the ids and tokens of a text.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode text with a model folder's tokenizer.")

    @Option(name: .long, help: "The model folder holding tokenizer.json (and tokenizer_config.json).")
    var model: String

    @Option(name: .long, help: "The text to encode.")
    var text: String

    @Flag(name: .long, help: "Leave out the special tokens the post-processor adds (BOS, CLS/SEP, …).")
    var noSpecial = false

    @Flag(name: .long, help: "Print {\"ids\":[…],\"tokens\":[…]} instead of one id and token per line.")
    var json = false

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model needs a folder.") }
    }

    func run() throws {
        if model.lowercased().hasSuffix(".gguf") {
            ModelPath.fail("GGUF tokenizers are not supported by `tokenize` yet (\(model)); pass an HF model folder.")
        }
        let tokenizer = try ModelPath.reporting { try Tokenizer(folder: URL(fileURLWithPath: model, isDirectory: true)) }
        let ids = tokenizer.encode(text, addSpecialTokens: !noSpecial)
        let tokens = tokenizer.tokens(for: ids)
        if json {
            print("{\"ids\":\(JSONText.ids(ids)),\"tokens\":\(JSONText.strings(tokens))}")
        } else {
            for (id, token) in zip(ids, tokens) { print("\(id)\t\(token)") }
        }
    }
}
