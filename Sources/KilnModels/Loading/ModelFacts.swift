// What a model folder or GGUF file holds (family, parameters, dtypes, memory, shape, tokenizer, chat template), read
// from headers and configs without loading the weights: `kiln model inspect` prints it, the Models page shows it.
import Foundation

/// A model's facts, in display order.
public enum ModelFacts {
    /// One fact: a snake_case key, its value, and the value as people read it.
    public struct Fact: Sendable, Equatable {
        /// A fact's value, typed so it can be written as JSON.
        public enum Value: Sendable, Equatable {
            case int(Int), string(String), bool(Bool), strings([String]), none
        }

        /// snake_case name.
        public var key: String
        /// The value.
        public var value: Value
        /// Human-readable value (e.g. memory with its MiB).
        public var text: String

        init(_ key: String, _ value: Value, text: String? = nil) {
            self.key = key
            self.value = value
            switch value {
            case .int(let n): self.text = text ?? "\(n)"
            case .string(let s): self.text = text ?? s
            case .bool(let b): self.text = text ?? (b ? "yes" : "no")
            case .strings(let list): self.text = text ?? list.joined(separator: ", ")
            case .none: self.text = text ?? "none"
            }
        }
    }

    /// The facts of a model folder or a .gguf file.
    public static func of(_ url: URL) throws -> [Fact] {
        ModelRegistry.isGGUF(url) ? try gguf(url) : try folder(url)
    }

    /// The value of `key` in `facts`, as an integer.
    public static func int(_ key: String, in facts: [Fact]) -> Int? {
        guard case .int(let n)? = facts.first(where: { $0.key == key })?.value else { return nil }
        return n
    }

    /// The text of `key` in `facts`.
    public static func text(_ key: String, in facts: [Fact]) -> String? {
        facts.first { $0.key == key }?.text
    }

    /// The facts of an HF model folder.
    static func folder(_ folder: URL) throws -> [Fact] {
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
        var facts = [
            Fact("family", .string(type)),
            Fact("supported", .bool(ModelRegistry.loaders[type] != nil)),
            Fact("parameters", .int(parameters)),
            Fact("dtypes", .strings(dtypes.sorted())),
            Fact("checkpoint_bytes", .int(bytes)),
            Fact("memory_bytes", .int(memory), text: "\(memory) (~\(memory / 1_048_576) MiB)"),
        ]
        if let config = try? ModelConfiguration.load(url: folder.appendingPathComponent("config.json")) {
            facts += shape(config)
        }
        let tokenizer = try? Tokenizer(folder: folder)
        facts.append(Fact("tokenizer_vocab_size", tokenizer.map { .int($0.vocabularySize) } ?? .none))
        facts.append(Fact("chat_template", .bool(LoadedModel.chatTemplateSource(folder: folder) != nil)))
        return facts
    }

    /// Layers, widths, heads, vocabulary and context of a decoded configuration.
    static func shape(_ config: ModelConfiguration) -> [Fact] {
        [("layers", config.layerCount), ("hidden_size", config.hiddenSize), ("intermediate_size", config.intermediateSize),
         ("attention_heads", config.attentionHeads),
         ("kv_heads", config.kvHeads), ("vocab_size", config.vocabSize)].map { Fact($0.0, .int($0.1)) }
            + (config.maxPositionEmbeddings.map { [Fact("context_length", .int($0))] } ?? [])
    }

    /// The facts of a GGUF file: its matrices stay in their stored types, so memory is the tensor bytes.
    static func gguf(_ url: URL) throws -> [Fact] {
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
        var facts = [
            Fact("format", .string("gguf"), text: "GGUF v\(reader.version)"),
            Fact("architecture", .string(arch)),
            Fact("family", type.map { .string($0) } ?? .none),
            Fact("supported", .bool(type != nil)),
            Fact("parameters", .int(parameters)),
            Fact("dtypes", .strings(types.keys.sorted()), text: typeList.joined(separator: ", ")),
            Fact("checkpoint_bytes", .int(bytes)),
            // Matrices are multiplied in their stored encoding, straight from the mapped file.
            Fact("memory_bytes", .int(bytes), text: "\(bytes) (~\(bytes / 1_048_576) MiB, mapped)"),
        ]
        if let config = try? GGUFModel.configuration(reader: reader) { facts += shape(config) }
        let tokenizer = try? Tokenizer(gguf: reader)
        facts.append(Fact("tokenizer_vocab_size", tokenizer.map { .int($0.vocabularySize) } ?? .none))
        facts.append(Fact("chat_template", .bool(reader.string("tokenizer.chat_template") != nil)))
        return facts
    }
}
