// `kiln model inspect`: what a model folder or GGUF file holds (family, parameters, dtypes, memory, shape, tokenizer,
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

        @Argument(help: "The HF model folder (config.json, model.safetensors or its index) or a .gguf file.")
        var path: String

        @Flag(name: .long, help: "Print the description as one JSON object.")
        var json = false

        func validate() throws {
            guard !path.isEmpty else { throw ValidationError("PATH must name a model folder.") }
        }

        func run() throws {
            let url = URL(fileURLWithPath: path)
            let fields = try ModelPath.reporting { ModelRegistry.isGGUF(url) ? try Self.describeGGUF(url) : try Self.describe(url) }
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
            var memory = 0
            var dtypes = Set<String>()
            // LLaMA-shaped families keep 2-D F16/BF16 matrices in 16 bits; every other weight is widened to Float32.
            let keepsHalf = ["llama", "mistral", "qwen2", "qwen3"].contains(type)
            for name in weights.names {
                guard let info = weights.info(name) else { continue }
                parameters += info.elementCount
                bytes += info.elementCount * info.dtype.size
                memory += info.elementCount * (keepsHalf && info.shape.count == 2 && info.dtype.size == 2 && info.dtype.isFloat ? 2 : 4)
                dtypes.insert(info.dtype.rawValue)
            }
            var fields = [
                Field(key: "family", text: type, json: JSONText.string(type)),
                Field(key: "supported", text: ModelRegistry.loaders[type] != nil ? "yes" : "no",
                      json: ModelRegistry.loaders[type] != nil ? "true" : "false"),
                Field(key: "parameters", text: "\(parameters)", json: "\(parameters)"),
                Field(key: "dtypes", text: dtypes.sorted().joined(separator: ", "), json: JSONText.strings(dtypes.sorted())),
                Field(key: "checkpoint_bytes", text: "\(bytes)", json: "\(bytes)"),
                Field(key: "memory_bytes", text: "\(memory) (~\(memory / 1_048_576) MiB)", json: "\(memory)"),
            ]
            if let config = try? ModelConfiguration.load(url: folder.appendingPathComponent("config.json")) {
                fields += shapeFields(config)
            }
            let tokenizer = try? Tokenizer(folder: folder)
            fields.append(Field(key: "tokenizer_vocab_size", text: tokenizer.map { "\($0.vocabularySize)" } ?? "none",
                                json: tokenizer.map { "\($0.vocabularySize)" } ?? "null"))
            let template = LoadedModel.chatTemplateSource(folder: folder) != nil
            fields.append(Field(key: "chat_template", text: template ? "yes" : "no", json: template ? "true" : "false"))
            return fields
        }

        /// Layers, widths, heads and vocabulary of a decoded configuration.
        static func shapeFields(_ config: ModelConfiguration) -> [Field] {
            [("layers", config.layerCount), ("hidden_size", config.hiddenSize), ("attention_heads", config.attentionHeads),
             ("kv_heads", config.kvHeads), ("vocab_size", config.vocabSize)].map { Field(key: $0.0, text: "\($0.1)", json: "\($0.1)") }
        }

        /// The fields of a GGUF file: its matrices stay in their stored types, so memory is the tensor bytes.
        static func describeGGUF(_ url: URL) throws -> [Field] {
            let reader = try GGUFReader(url: url)
            let arch = reader.architecture ?? "unknown"
            let type = GGUFModel.architectures[arch]
            var parameters = 0
            var bytes = 0
            var types: [String: Int] = [:]
            for info in reader.tensorInfos {
                parameters += info.elementCount
                bytes += info.byteCount
                types["\(info.type)".uppercased(), default: 0] += 1
            }
            let typeList = types.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            var fields = [
                Field(key: "format", text: "GGUF v\(reader.version)", json: JSONText.string("gguf")),
                Field(key: "architecture", text: arch, json: JSONText.string(arch)),
                Field(key: "family", text: type ?? "none", json: type.map(JSONText.string) ?? "null"),
                Field(key: "supported", text: type != nil ? "yes" : "no", json: type != nil ? "true" : "false"),
                Field(key: "parameters", text: "\(parameters)", json: "\(parameters)"),
                Field(key: "dtypes", text: typeList.joined(separator: ", "), json: JSONText.strings(types.keys.sorted())),
                Field(key: "checkpoint_bytes", text: "\(bytes)", json: "\(bytes)"),
                // Matrices are multiplied in their stored encoding, straight from the mapped file.
                Field(key: "memory_bytes", text: "\(bytes) (~\(bytes / 1_048_576) MiB, mapped)", json: "\(bytes)"),
            ]
            if let config = try? GGUFModel.configuration(reader: reader) { fields += shapeFields(config) }
            let tokenizer = try? Tokenizer(gguf: reader)
            fields.append(Field(key: "tokenizer_vocab_size", text: tokenizer.map { "\($0.vocabularySize)" } ?? "none",
                                json: tokenizer.map { "\($0.vocabularySize)" } ?? "null"))
            let template = reader.string("tokenizer.chat_template") != nil
            fields.append(Field(key: "chat_template", text: template ? "yes" : "no", json: template ? "true" : "false"))
            return fields
        }
    }
}
