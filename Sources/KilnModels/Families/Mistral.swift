// Ports transformers 5.24 `src/transformers/models/mistral/modeling_mistral.py`: LLaMA's blocks (Llama.swift)
// with no biases anywhere and `sliding_window`, when set, limiting each query to the last `window` keys
// (`sliding_window_causal_mask_function`: key index > query index − window).
import Foundation
import KilnTensor

// MARK: - Configuration

extension LlamaConfiguration {
    /// Mistral as `MistralConfig` reads it: no q/k/v/o or MLP bias, the attention window from `sliding_window`.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "mistral", or an unsupported option.
    public static func mistral(_ config: ModelConfiguration) throws(ModelError) -> LlamaConfiguration {
        guard config.modelType == .mistral else { throw .wrongFamily(expected: "mistral", found: config.modelType.rawValue) }
        var c = try LlamaConfiguration(config)
        (c.qkvBias, c.outputBias, c.mlpBias) = (false, false, false)
        c.slidingWindow = config.slidingWindow
        return c
    }
}

// MARK: - Model

/// `MistralForCausalLM`: a `LlamaModel` built from a "mistral" folder.
public struct MistralModel: CausalLM {
    /// The shared LLaMA-shaped decoder.
    public let base: LlamaModel

    /// Loads a "mistral" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> MistralModel {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> MistralModel {
        MistralModel(base: try LlamaModel.load(folder: folder, adapters: adapters, configure: LlamaConfiguration.mistral))
    }

    /// inputIds/attentionMask/positionIds (B, T) → logits (B, T, V) and L+1 hidden states (B, T, C).
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        try base.forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds)
    }
}

extension MistralModel: DelegatingDecoder {}
