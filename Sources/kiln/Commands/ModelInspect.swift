// `kiln model inspect`: what a model folder holds (family, parameters, dtypes, memory, shape, tokenizer,
// chat template), read from the headers and configs without loading the weights.
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

        @Argument(help: "The HF model folder (config.json, model.safetensors or its index).")
        var path: String

        @Flag(name: .long, help: "Print the description as one JSON object.")
        var json = false

        func validate() throws {
            guard !path.isEmpty else { throw ValidationError("PATH must name a model folder.") }
        }

        func run() throws {
            if path.lowercased().hasSuffix(".gguf") {
                ModelPath.fail("GGUF models are not supported by `model inspect` yet (\(path)); pass an HF model folder.")
            }
            let folder = URL(fileURLWithPath: path, isDirectory: true)
            let fields = try ModelPath.reporting { try Self.describe(folder) }
            if json {
                print("{" + fields.map { "\(JSONText.string($0.key)):\($0.json)" }.joined(separator: ",") + "}")
            } else {
                for field in fields { print("\(field.key): \(field.text)") }
            }
        }

        /// One line of the description, as text and as a JSON value.
        struct Field {
            /// snake_case name.
            var key: String
            /// Human-readable value.
            var text: String
            /// The value as JSON.
            var json: String
        }

        /// The fields, in display order.
        static func describe(_ folder: URL) throws -> [Field] {
            let type = try ModelRegistry.modelType(folder: folder)
            let weights = try WeightMap(folder: folder)
            var parameters = 0
            var bytes = 0
            var dtypes = Set<String>()
            for name in weights.names {
                guard let info = weights.info(name) else { continue }
                parameters += info.elementCount
                bytes += info.elementCount * info.dtype.size
                dtypes.insert(info.dtype.rawValue)
            }
            var fields = [
                Field(key: "family", text: type, json: JSONText.string(type)),
                Field(key: "supported", text: ModelRegistry.loaders[type] != nil ? "yes" : "no",
                      json: ModelRegistry.loaders[type] != nil ? "true" : "false"),
                Field(key: "parameters", text: "\(parameters)", json: "\(parameters)"),
                Field(key: "dtypes", text: dtypes.sorted().joined(separator: ", "), json: JSONText.strings(dtypes.sorted())),
                Field(key: "checkpoint_bytes", text: "\(bytes)", json: "\(bytes)"),
                // Kiln widens every weight to Float32 at load time, so that is what a run holds in memory.
                Field(key: "memory_f32_bytes", text: "\(parameters * 4) (~\(parameters * 4 / 1_048_576) MiB)", json: "\(parameters * 4)"),
            ]
            if let config = try? ModelConfiguration.load(url: folder.appendingPathComponent("config.json")) {
                fields += [
                    Field(key: "layers", text: "\(config.layerCount)", json: "\(config.layerCount)"),
                    Field(key: "hidden_size", text: "\(config.hiddenSize)", json: "\(config.hiddenSize)"),
                    Field(key: "attention_heads", text: "\(config.attentionHeads)", json: "\(config.attentionHeads)"),
                    Field(key: "kv_heads", text: "\(config.kvHeads)", json: "\(config.kvHeads)"),
                    Field(key: "vocab_size", text: "\(config.vocabSize)", json: "\(config.vocabSize)"),
                ]
            }
            let tokenizer = try? Tokenizer(folder: folder)
            fields.append(Field(key: "tokenizer_vocab_size", text: tokenizer.map { "\($0.vocabularySize)" } ?? "none",
                                json: tokenizer.map { "\($0.vocabularySize)" } ?? "null"))
            let template = LoadedModel.chatTemplateSource(folder: folder) != nil
            fields.append(Field(key: "chat_template", text: template ? "yes" : "no", json: template ? "true" : "false"))
            return fields
        }
    }
}
