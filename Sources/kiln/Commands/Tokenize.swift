// `kiln tokenize`: encode text with a model folder's (or GGUF file's) tokenizer, as transformers' `tokenizer(text)` does.
import ArgumentParser
import Foundation
import KilnModels

/// Prints the ids and tokens of a text.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode text with a model folder's or GGUF file's tokenizer.")

    @Option(name: .long, help: "The model folder holding tokenizer.json or tokenizer.model (and tokenizer_config.json), or a .gguf file.")
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
        let url = URL(fileURLWithPath: model)
        let tokenizer = try ModelPath.reporting {
            ModelRegistry.isGGUF(url) ? try Tokenizer(gguf: GGUFReader(url: url)) : try Tokenizer(folder: url)
        }
        let ids = tokenizer.encode(text, addSpecialTokens: !noSpecial)
        let tokens = tokenizer.tokens(for: ids)
        if json {
            print("{\"ids\":\(JSONText.ids(ids)),\"tokens\":\(JSONText.strings(tokens))}")
        } else {
            for (id, token) in zip(ids, tokens) { print("\(id)\t\(token)") }
        }
    }
}
