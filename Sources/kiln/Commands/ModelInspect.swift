// `kiln model inspect`: prints `ModelFacts` of a model folder or GGUF file, as lines or one JSON object.
import ArgumentParser
import Foundation
import KilnModels

/// `kiln model …`: commands about model folders.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Inspect model folders.",
                                                    subcommands: [Inspect.self])
}

extension ModelCommand {
    /// Describes a model folder.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model folder's family, size, dtypes and tokenizer.")

        @Argument(help: "The HF model folder (config.json, model.safetensors or its index) or a .gguf file.")
        var path: String

        @Flag(name: .long, help: "Print the description as one JSON object.")
        var json = false

        func validate() throws {
            guard !path.isEmpty else { throw ValidationError("PATH must name a model folder.") }
        }

        func run() throws {
            let url = URL(fileURLWithPath: path)
            let fields = try ModelPath.reporting { try ModelFacts.of(url) }
            if json {
                print("{" + fields.map { "\(JSONText.string($0.key)):\(Self.json($0.value))" }.joined(separator: ",") + "}")
            } else {
                for field in fields { print("\(field.key): \(field.text)") }
            }
        }

        /// A fact's value as JSON text.
        static func json(_ value: ModelFacts.Fact.Value) -> String {
            switch value {
            case .int(let n): "\(n)"
            case .string(let text): JSONText.string(text)
            case .bool(let flag): flag ? "true" : "false"
            case .strings(let list): JSONText.strings(list)
            case .none: "null"
            }
        }
    }
}
