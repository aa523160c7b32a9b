// Ports transformers 5.24 `src/transformers/models/qwen2/modeling_qwen2.py`: LLaMA's blocks (Llama.swift)
// with bias on q_proj/k_proj/v_proj (always, not configurable) and none on o_proj or the MLP.
import Foundation
import KilnTensor

// MARK: - Configuration

extension LlamaConfiguration {
    /// Qwen2 as `Qwen2Config` reads it: q/k/v bias on, o_proj and MLP bias off.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "qwen2"; `.unsupportedOption("use_sliding_window")`
    ///   when enabled, since Qwen2 applies it per layer (`layer_types`, `max_window_layers`), which is not ported.
    public static func qwen2(_ config: ModelConfiguration) throws(ModelError) -> LlamaConfiguration {
        guard config.modelType == .qwen2 else { throw .wrongFamily(expected: "qwen2", found: config.modelType.rawValue) }
        if let window = config.slidingWindow { throw .unsupportedOption(key: "use_sliding_window", value: "true (window \(window))") }
        var c = try LlamaConfiguration(config)
        (c.qkvBias, c.outputBias, c.mlpBias) = (true, false, false)
        return c
    }
}

// MARK: - Model

/// `Qwen2ForCausalLM`: a `LlamaModel` built from a "qwen2" folder.
public struct Qwen2Model: CausalLM {
    /// The shared LLaMA-shaped decoder.
    public let base: LlamaModel

    /// Loads a "qwen2" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> Qwen2Model {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> Qwen2Model {
        Qwen2Model(base: try LlamaModel.load(folder: folder, adapters: adapters, configure: LlamaConfiguration.qwen2))
    }

    /// inputIds/attentionMask/positionIds (B, T) → logits (B, T, V) and L+1 hidden states (B, T, C).
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        try base.forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds)
    }
}

extension Qwen2Model: DelegatingDecoder {}
