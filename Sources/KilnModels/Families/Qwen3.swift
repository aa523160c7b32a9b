// Ports transformers 5.24 `src/transformers/models/qwen3/modeling_qwen3.py`: LLaMA's blocks (Llama.swift)
// with a per-head RMSNorm (`q_norm`, `k_norm`, weight (D)) on queries and keys before RoPE, and `head_dim`
// taken from config.json independently of hidden_size / heads (the fixture: C 64, H 4, D 32).
import Foundation
import KilnTensor

// MARK: - Configuration

extension LlamaConfiguration {
    /// Qwen3 as `Qwen3Config` reads it: q/k norm on, biases from `attention_bias` (q/k/v/o), no MLP bias.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "qwen3"; `.unsupportedOption("use_sliding_window")`
    ///   when enabled (per-layer windows are not ported).
    public static func qwen3(_ config: ModelConfiguration) throws(ModelError) -> LlamaConfiguration {
        guard config.modelType == .qwen3 else { throw .wrongFamily(expected: "qwen3", found: config.modelType.rawValue) }
        if let window = config.slidingWindow { throw .unsupportedOption(key: "use_sliding_window", value: "true (window \(window))") }
        var c = try LlamaConfiguration(config)
        c.qkNorm = true
        c.mlpBias = false
        return c
    }
}

// MARK: - Model

/// `Qwen3ForCausalLM`: a `LlamaModel` with q/k norm built from a "qwen3" folder.
public struct Qwen3Model: CausalLM {
    /// The shared LLaMA-shaped decoder.
    public let base: LlamaModel

    /// Loads a "qwen3" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> Qwen3Model {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> Qwen3Model {
        Qwen3Model(base: try LlamaModel.load(folder: folder, adapters: adapters, configure: LlamaConfiguration.qwen3))
    }

    /// inputIds/attentionMask/positionIds (B, T) → logits (B, T, V) and L+1 hidden states (B, T, C).
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        try base.forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds)
    }
}

extension Qwen3Model: DelegatingDecoder {}
