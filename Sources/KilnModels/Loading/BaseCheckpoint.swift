// A base model opened for code that builds its own graph over the frozen weights (fine-tuning): the family's
// resolved configuration and its tensors under HF names, read by the same steps the family loaders use, so a
// trainer sees exactly the weights inference runs.
import Foundation

/// The resolved configuration of a base model, by the block design that runs it.
public enum BaseArchitecture: Sendable {
    /// LLaMA-shaped decoders: llama, mistral, qwen2, qwen3 (and GGUF files of those architectures).
    case llama(LlamaConfiguration)
}

/// A base model's configuration and frozen tensors under HF names.
public struct BaseCheckpoint: Sendable {
    /// config.json's `model_type` (for GGUF, the type its architecture maps to).
    public let modelType: String
    /// The resolved configuration.
    public let architecture: BaseArchitecture
    /// The tensors: vectors widened to Float32, matrices dense or in their stored encoding (GGUF blocks, F16/BF16).
    public let tensors: CheckpointTensors
    /// True when the file is GGUF: its "llama"/"mistral" q/k rows are in llama.cpp's permuted order.
    public let isGGUF: Bool

    /// Opens an HF folder or a `.gguf` file.
    /// - Throws: `RegistryError` for a path or type Kiln cannot train, `ConfigError`, `SafeTensorsError`, `GGUFError`
    ///   or `ModelError` naming what is at fault.
    public static func load(_ path: URL) throws -> BaseCheckpoint {
        if ModelRegistry.isGGUF(path) {
            let (configuration, tensors) = try GGUFModel.checkpoint(reader: GGUFReader(url: path))
            return BaseCheckpoint(modelType: configuration.modelType.rawValue, architecture: .llama(configuration), tensors: tensors, isGGUF: true)
        }
        let type = try ModelRegistry.modelType(folder: path)
        let configure: (ModelConfiguration) throws(ModelError) -> LlamaConfiguration
        switch type {
        case "llama": configure = LlamaConfiguration.llama
        case "mistral": configure = LlamaConfiguration.mistral
        case "qwen2": configure = LlamaConfiguration.qwen2
        case "qwen3": configure = LlamaConfiguration.qwen3
        default: throw RegistryError.unsupportedModelType(type, supported: trainableTypes)
        }
        let (configuration, tensors) = try LlamaModel.checkpoint(folder: path, configure: configure)
        return BaseCheckpoint(modelType: type, architecture: .llama(configuration), tensors: tensors, isGGUF: false)
    }

    /// The `model_type` values `load` opens.
    public static let trainableTypes = ["llama", "mistral", "qwen2", "qwen3"]
}
