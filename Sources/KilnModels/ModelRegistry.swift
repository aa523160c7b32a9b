// `model_type` → family loader, one line per family (mlx-swift-lm's LLMModelFactory shape), and the bundle
// a command needs to run a folder: model, tokenizer, chat template and generation config.
import Foundation

/// Why a path could not be opened as a runnable model.
public enum RegistryError: Error, Equatable, Sendable {
    /// config.json names a `model_type` no family file implements.
    case unsupportedModelType(String, supported: [String])
    /// The path is not a folder holding config.json (nor a `.gguf` file).
    case notAModelFolder(path: String)
    /// The family runs adapters merged at load only, not per batch row.
    case adapterSlotsUnsupported(String)
}

extension RegistryError: LocalizedError {
    /// A one-sentence explanation naming the path or type.
    public var errorDescription: String? {
        switch self {
        case .unsupportedModelType(let type, let supported):
            "model_type \"\(type)\" is not supported; supported types: \(supported.joined(separator: ", "))."
        case .notAModelFolder(let path): "\(path) is not a model folder (no config.json)."
        case .adapterSlotsUnsupported(let type): "\(type) models take LoRA adapters at load, not per batch row."
        }
    }
}

/// The family loaders, keyed by config.json's `model_type`.
public enum ModelRegistry {
    /// One line per family; the second argument is unmerged LoRA updates (empty for a plain model).
    public static let loaders: [String: @Sendable (URL, AdapterUpdates) throws -> any CausalLM] = [
        "gpt2": { try GPT2Model.load(folder: $0, adapters: $1) },
        "bloom": { try BloomModel.load(folder: $0, adapters: $1) },
        "llama": { try LlamaModel.load(folder: $0, adapters: $1) },
        "mistral": { try MistralModel.load(folder: $0, adapters: $1) },
        "qwen2": { try Qwen2Model.load(folder: $0, adapters: $1) },
        "qwen3": { try Qwen3Model.load(folder: $0, adapters: $1) },
        "glm": { try GLMModel.load(folder: $0, adapters: $1) },
        "chatglm": { folder, adapters in
            // The ChatGLM layout is renamed onto GLM's while loading; its adapters would need the same renaming.
            guard adapters.isEmpty else { throw ModelError.unsupportedOption(key: "adapters", value: "chatglm layout") }
            return try ChatGLMModel.load(folder: folder)
        },
        "deepseek_v3": { try DeepSeekV3Model.load(folder: $0, adapters: $1) },
    ]

    /// The supported `model_type` strings, sorted.
    public static var supportedTypes: [String] { loaders.keys.sorted() }

    /// True when `path` names a GGUF file rather than an HF folder.
    public static func isGGUF(_ path: URL) -> Bool { path.pathExtension.lowercased() == "gguf" }

    /// The raw `model_type` of a folder's config.json, read before the typed decode so unknown types get a clear error.
    /// - Throws: `RegistryError.notAModelFolder`, or `ConfigError` for unreadable JSON.
    public static func modelType(folder: URL) throws -> String {
        let url = folder.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url) else { throw RegistryError.notAModelFolder(path: folder.path) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError.malformedJSON(reason: "\(url.path) is not a JSON object")
        }
        guard let type = object["model_type"] as? String else { throw ConfigError.missingKey("model_type") }
        return type
    }

    /// Loads the model of an HF folder with its family's loader (with unmerged LoRA `adapters`, if any), or of a `.gguf` file in place.
    /// - Throws: `RegistryError.unsupportedModelType`, `GGUFError`/`GGUFModelError`, or the family's load errors.
    public static func loadModel(folder: URL, adapters: AdapterUpdates = [:]) throws -> any CausalLM {
        if isGGUF(folder) { return try GGUFModel.loadAny(reader: GGUFReader(url: folder), adapters: adapters) }
        let type = try modelType(folder: folder)
        guard let loader = loaders[type] else { throw RegistryError.unsupportedModelType(type, supported: supportedTypes) }
        if !adapters.isEmpty {
            // An update for a weight the checkpoint lacks would otherwise be silently unused (a misnamed module).
            let weights = try WeightMap(folder: folder)
            for name in adapters.keys.sorted()
            where !weights.contains(name) && !(name.hasPrefix("transformer.") && weights.contains(String(name.dropFirst("transformer.".count)))) {
                throw ModelError.missingTensor("\(name) (adapted by a LoRA adapter)")
            }
        }
        return try loader(folder, adapters)
    }
}

/// A folder or GGUF file opened for running: model, tokenizer, chat template and generation settings.
public struct LoadedModel: Sendable {
    /// The folder (or GGUF file) it came from.
    public let folder: URL
    /// config.json's `model_type` (for GGUF, the one its architecture maps to).
    public let modelType: String
    /// The family model.
    public let model: any CausalLM
    /// The tokenizer from tokenizer.json (+ tokenizer_config.json).
    public let tokenizer: Tokenizer
    /// tokenizer_config.json's `chat_template` or chat_template.jinja; nil when the folder has neither.
    public let chatTemplate: ChatTemplate?
    /// generation_config.json, when present.
    public let generationConfig: GenerationConfig?
    /// The trained context length (`max_position_embeddings` or the family's spelling; a GGUF's `context_length`); nil
    /// where the model has no fixed one (BLOOM's ALiBi).
    public let contextLength: Int?
    /// A GGUF file's `tokenizer.ggml.eos_token_id` (a folder's lives in the two files above).
    let fileEOS: Int?
    /// Adapters attached to this loaded model, each batch row choosing its own (`attach`).
    public let adapterSlots = AdapterSlots()
    /// A GGUF file's configuration, whose q/k row order attached updates must follow.
    let ggufConfiguration: LlamaConfiguration?

    /// Opens an HF folder (with unmerged LoRA `adapters`, if any), or a `.gguf` file (weights run in place, tokenizer and
    /// template from its metadata); block-quantised and bf16 matrices multiply with `arithmetic`.
    /// - Throws: `RegistryError`, `TokenizerError`, `ChatTemplateError`, `ConfigError`, `GGUFError` or load errors.
    public init(folder: URL, adapters: AdapterUpdates = [:], arithmetic: QuantizedArithmetic = .exact) throws {
        self.folder = folder
        if ModelRegistry.isGGUF(folder) {
            let reader = try GGUFReader(url: folder)
            let model = try AdapterSlots.$loading.withValue(adapterSlots) {
                try QuantizedArithmetic.$loading.withValue(arithmetic) { try GGUFModel.loadAny(reader: reader, adapters: adapters) }
            }
            ggufConfiguration = (model as? LlamaModel)?.configuration
            modelType = GGUFModel.architectures[reader.architecture ?? ""] ?? "llama"
            self.model = model
            tokenizer = try Tokenizer(gguf: reader)
            chatTemplate = try reader.string("tokenizer.chat_template").map { source throws(ChatTemplateError) in
                try ChatTemplate(source: source)
            }
            generationConfig = nil
            fileEOS = reader.specialTokenID("eos")
            contextLength = try GGUFModel.configuration(reader: reader).maxPositionEmbeddings
            return
        }
        fileEOS = nil
        ggufConfiguration = nil
        modelType = try ModelRegistry.modelType(folder: folder)
        contextLength = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json")).maxPositionEmbeddings
        let slots = adapterSlots
        model = try AdapterSlots.$loading.withValue(slots) {
            try QuantizedArithmetic.$loading.withValue(arithmetic) { try ModelRegistry.loadModel(folder: folder, adapters: adapters) }
        }
        tokenizer = try Tokenizer(folder: folder)
        chatTemplate = try Self.chatTemplateSource(folder: folder).map { source throws(ChatTemplateError) in try ChatTemplate(source: source) }
        let generationURL = folder.appendingPathComponent("generation_config.json")
        generationConfig = FileManager.default.fileExists(atPath: generationURL.path) ? try GenerationConfig.load(url: generationURL) : nil
    }

    /// Attaches a PEFT adapter's updates (HF names and row order) beside the loaded weights and returns its slot, for
    /// `AdapterSlots.routing`; the base is not reloaded.
    /// - Throws: `RegistryError.adapterSlotsUnsupported` for a family without per-row adapters, `ModelError` for updates
    ///   that do not fit.
    public func attach(_ updates: AdapterUpdates) throws -> Int {
        guard adapterSlots.isSupported else { throw RegistryError.adapterSlotsUnsupported(modelType) }
        return try adapterSlots.attach(ggufConfiguration.map { GGUFModel.placed(updates, $0) } ?? updates)
    }

    /// The prompt ids of a conversation as a chat model continues it: the chat template with the generation prompt, encoded
    /// without special tokens because the template writes BOS and the role markers itself (transformers'
    /// `apply_chat_template(tokenize=True)`); nil when the model has no chat template.
    /// - Throws: `ChatTemplateError` when the template refuses the messages.
    public func chatPromptIds(_ messages: [ChatTemplateMessage]) throws -> [Int]? {
        guard let chatTemplate else { return nil }
        let text = try chatTemplate.render(messages: messages, addGenerationPrompt: true, bosToken: tokenizer.bosTokenId.flatMap(tokenizer.token(for:)),
                                           eosToken: tokenizer.eosTokenId.flatMap(tokenizer.token(for:)))
        return tokenizer.encode(text, addSpecialTokens: false)
    }

    /// EOS ids: generation_config.json's, else the tokenizer's (transformers reads generation_config first).
    public var eosTokenIds: Set<Int> {
        if let ids = generationConfig?.eosTokenIDs, !ids.isEmpty { return Set(ids) }
        return (fileEOS ?? tokenizer.eosTokenId).map { [$0] } ?? []
    }

    /// The template text: a `chat_template` string (or the "default" entry of a named list), else chat_template.jinja.
    public static func chatTemplateSource(folder: URL) -> String? {
        if let data = try? Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json")),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let source = object["chat_template"] as? String { return source }
            if let named = object["chat_template"] as? [[String: Any]],
               let entry = named.first(where: { $0["name"] as? String == "default" }) ?? named.first,
               let source = entry["template"] as? String { return source }
        }
        return try? String(contentsOf: folder.appendingPathComponent("chat_template.jinja"), encoding: .utf8)
    }
}
