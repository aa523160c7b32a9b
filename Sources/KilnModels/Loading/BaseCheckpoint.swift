// A base model opened for code that builds its own graph over the frozen weights (fine-tuning): the family's
// resolved configuration and its tensors under HF names, read by the same steps the family loaders use, so a
// trainer sees exactly the weights inference runs.
import Foundation
import KilnTensor

/// The resolved configuration of a base model, by the block design that runs it.
public enum BaseArchitecture: Sendable {
    /// LLaMA-shaped decoders: llama, mistral, qwen2, qwen3 (and GGUF files of those architectures).
    case llama(LlamaConfiguration)
    /// GPT-2 (Conv1D weights already transposed to Linear's layout).
    case gpt2(GPT2Configuration)
    /// BLOOM (the fused query_key_value kept in its per-head interleaved checkpoint layout).
    case bloom(BloomConfiguration)
    /// GLM-4 under transformers' names.
    case glm(GLMConfiguration)
    /// GLM-4 in the ChatGLM2/3 checkpoint layout (`transformer.encoder…`, fused q|k|v), names kept.
    case chatGLM(GLMConfiguration)
    /// DeepSeek-V3 (MLA and MoE).
    case deepseekV3(DeepSeekV3Configuration)
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
            var (configuration, tensors) = try GGUFModel.checkpoint(reader: GGUFReader(url: path))
            if configuration.ropeLayout == .interleaved {
                // Back to HF's row order, so q_proj/k_proj LoRA pairs have PEFT's layout and merge into HF checkpoints.
                for index in 0..<configuration.layerCount {
                    for (name, heads) in [("q_proj", configuration.attentionHeads), ("k_proj", configuration.kvHeads)] {
                        let key = "model.layers.\(index).self_attn.\(name)"
                        if let matrix = tensors.quantized["\(key).weight"] { tensors.quantized["\(key).weight"] = try unpermuted(matrix, heads: heads) }
                        if let bias = tensors.tensors["\(key).bias"] {
                            let order = halfSplitOrder(rows: bias.count, heads: heads)
                            tensors.tensors["\(key).bias"] = Tensor(shape: bias.shape, storage: order.map { bias.storage[$0] })
                        }
                    }
                }
                configuration.ropeLayout = .halfSplit
            }
            return BaseCheckpoint(modelType: configuration.modelType.rawValue, architecture: .llama(configuration), tensors: tensors, isGGUF: true)
        }
        let type = try ModelRegistry.modelType(folder: path)
        let configURL = path.appendingPathComponent("config.json")
        func llama(_ configure: (ModelConfiguration) throws(ModelError) -> LlamaConfiguration) throws -> BaseCheckpoint {
            let (configuration, tensors) = try LlamaModel.checkpoint(folder: path, configure: configure)
            return BaseCheckpoint(modelType: type, architecture: .llama(configuration), tensors: tensors, isGGUF: false)
        }
        func dense(_ architecture: BaseArchitecture, _ weights: [String: Tensor]) -> BaseCheckpoint {
            BaseCheckpoint(modelType: type, architecture: architecture, tensors: CheckpointTensors(tensors: weights), isGGUF: false)
        }
        switch type {
        case "llama": return try llama(LlamaConfiguration.llama)
        case "mistral": return try llama(LlamaConfiguration.mistral)
        case "qwen2": return try llama(LlamaConfiguration.qwen2)
        case "qwen3": return try llama(LlamaConfiguration.qwen3)
        case "gpt2":
            let weights = GPT2Model.sanitize(weights: try CheckpointTensors.read(WeightMap(folder: path)))
            return dense(.gpt2(try GPT2Configuration.load(url: configURL)), weights)
        case "bloom":
            var weights: [String: Tensor] = [:]
            for (name, tensor) in try CheckpointTensors.read(WeightMap(folder: path)) {
                weights[name.hasPrefix("transformer.") || name.hasPrefix("lm_head.") ? name : "transformer." + name] = tensor
            }
            let configuration = try BloomConfiguration.load(url: configURL)
            if configuration.tieWordEmbeddings { weights["lm_head.weight"] = weights["transformer.word_embeddings.weight"] }
            return dense(.bloom(configuration), weights)
        case "glm":
            let configuration = try GLMConfiguration.glm(ModelConfiguration.load(url: configURL))
            return dense(.glm(configuration), GLMModel.sanitize(weights: try CheckpointTensors.read(WeightMap(folder: path)), configuration: configuration))
        case "chatglm":
            let config = try ModelConfiguration.load(url: configURL)
            guard config.chatGLM?.multiQueryAttention == true else {
                throw ModelError.unsupportedOption(key: "multi_query_attention", value: "false (training needs the grouped q|k|v layout)")
            }
            return dense(.chatGLM(try GLMConfiguration.chatGLM(config)),
                         try CheckpointTensors.read(WeightMap(folder: path)).filter { !$0.key.hasSuffix("rotary_pos_emb.inv_freq") })
        case "deepseek_v3":
            let configuration = try DeepSeekV3Configuration(ModelConfiguration.load(url: configURL))
            return dense(.deepseekV3(configuration),
                         DeepSeekV3Model.sanitize(weights: try CheckpointTensors.read(WeightMap(folder: path)), configuration: configuration))
        default:
            throw RegistryError.unsupportedModelType(type, supported: trainableTypes)
        }
    }

    /// For each HF row, the llama.cpp row holding it: llama.cpp's converter stores head h's row j·D/2 + i at h·D + 2i + j.
    public static func halfSplitOrder(rows: Int, heads: Int) -> [Int] {
        let headDim = rows / heads, half = headDim / 2
        return (0..<rows).map { row in
            let (h, within) = (row / headDim, row % headDim)
            return h * headDim + 2 * (within % half) + within / half
        }
    }

    /// A stored matrix with its rows moved back to HF's order (whole encoded rows are copied; nothing is re-quantised).
    /// - Throws: `GGUFError` if the rows do not form a valid matrix.
    static func unpermuted(_ matrix: QuantizedMatrix, heads: Int) throws -> QuantizedMatrix {
        var bytes = Data(capacity: matrix.bytes.count)
        matrix.bytes.withUnsafeBytes { raw in
            for source in halfSplitOrder(rows: matrix.rows, heads: heads) {
                bytes.append(contentsOf: raw[(source * matrix.rowBytes)..<((source + 1) * matrix.rowBytes)])
            }
        }
        return try QuantizedMatrix(type: matrix.type, rows: matrix.rows, columns: matrix.columns, bytes: bytes)
    }

    /// The `model_type` values `load` opens.
    public static let trainableTypes = ["bloom", "chatglm", "deepseek_v3", "glm", "gpt2", "llama", "mistral", "qwen2", "qwen3"]
}
