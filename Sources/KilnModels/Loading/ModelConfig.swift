// config.json decoded into one typed, validated ModelConfiguration for every supported family.
// Keys are the HF spellings (CodingKeys); each family's own names (GPT-2's n_embd, ChatGLM's num_layers, …)
// resolve to the same Swift fields, with one default per optional key taken from the family's
// transformers 5.24 configuration_*.py (porting.md style). Both transformers-5 `rope_parameters`/`dtype`
// and classic `rope_theta`/`rope_scaling`/`torch_dtype` are read.
import Foundation

/// The model families Kiln can load (`model_type` in config.json).
public enum ModelType: String, Sendable, CaseIterable {
    /// GPT-2.
    case gpt2
    /// LLaMA 1–3.
    case llama
    /// Mistral.
    case mistral
    /// Qwen2 / Qwen2.5.
    case qwen2
    /// Qwen3.
    case qwen3
    /// BLOOM.
    case bloom
    /// GLM-4 (transformers-native layout).
    case glm
    /// ChatGLM2/3 and glm-4-9b-chat remote-code layout.
    case chatglm
    /// DeepSeek-V3.
    case deepseekV3 = "deepseek_v3"
}

/// A decoded and validated `config.json`.
public struct ModelConfiguration: Decodable, Sendable, Equatable {
    /// Family (`model_type`).
    public var modelType: ModelType
    /// Model width (`hidden_size`; GPT-2 `n_embd`).
    public var hiddenSize: Int
    /// MLP width (`intermediate_size`; GPT-2 `n_inner` or 4·width; BLOOM 4·width; ChatGLM `ffn_hidden_size`).
    public var intermediateSize: Int
    /// Decoder layers (`num_hidden_layers`; GPT-2/BLOOM `n_layer`; ChatGLM `num_layers`).
    public var layerCount: Int
    /// Query heads (`num_attention_heads`; GPT-2/BLOOM `n_head`).
    public var attentionHeads: Int
    /// Key/value heads (`num_key_value_heads`, default = heads; ChatGLM `multi_query_group_num`).
    public var kvHeads: Int
    /// Per-head dims (`head_dim`, default width / heads; ChatGLM `kv_channels`).
    public var headDim: Int
    /// Vocabulary rows (`vocab_size`; ChatGLM `padded_vocab_size`).
    public var vocabSize: Int
    /// Trained context length (`max_position_embeddings`; GPT-2 `n_positions`; ChatGLM `seq_length`); nil for BLOOM (ALiBi).
    public var maxPositionEmbeddings: Int?
    /// Norm epsilon (`rms_norm_eps`, `layer_norm_epsilon`, `layer_norm_eps` or `layernorm_epsilon`).
    public var normEps: Double
    /// Activation (`hidden_act`; GPT-2 `activation_function`; BLOOM "gelu"; ChatGLM "silu" for its swiglu).
    public var hiddenAct: String
    /// Whether lm_head shares the embedding matrix (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// `bos_token_id` (int, list or null).
    public var bosTokenIDs: [Int]
    /// `eos_token_id` (int, list or null).
    public var eosTokenIDs: [Int]
    /// `pad_token_id` (first id when a list).
    public var padTokenID: Int?
    /// Sliding attention window (`sliding_window`, nil when null or `use_sliding_window: false`).
    public var slidingWindow: Int?
    /// Fraction of each head's dims that are rotated (`partial_rotary_factor`; GLM/ChatGLM default 0.5).
    public var partialRotaryFactor: Double
    /// Bias on q/k/v (`attention_bias`; Qwen2, GPT-2, BLOOM always; ChatGLM `add_qkv_bias`).
    public var attentionBias: Bool
    /// Bias on MLP projections (`mlp_bias`; ChatGLM `add_bias_linear`).
    public var mlpBias: Bool
    /// Per-head RMSNorm on queries and keys (Qwen3; `use_qk_norm` elsewhere).
    public var qkNorm: Bool
    /// Rotary settings; nil for families without RoPE (GPT-2, BLOOM).
    public var rope: RopeConfiguration?
    /// Stored weight dtype name (`dtype`, or classic `torch_dtype`).
    public var dtype: String?
    /// DeepSeek-V3 latent attention.
    public var mla: MLAConfiguration?
    /// DeepSeek-V3 experts.
    public var moe: MoEConfiguration?
    /// ChatGLM-only options.
    public var chatGLM: ChatGLMConfiguration?

    /// Every key read, spelled as in config.json.
    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size", nEmbd = "n_embd", nEmbed = "n_embed"
        case intermediateSize = "intermediate_size", nInner = "n_inner", ffnHiddenSize = "ffn_hidden_size"
        case numHiddenLayers = "num_hidden_layers", nLayer = "n_layer", numLayers = "num_layers"
        case numAttentionHeads = "num_attention_heads", nHead = "n_head"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim", kvChannels = "kv_channels"
        case vocabSize = "vocab_size", paddedVocabSize = "padded_vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings", nPositions = "n_positions", seqLength = "seq_length"
        case rmsNormEps = "rms_norm_eps", layerNormEpsilon = "layer_norm_epsilon"
        case layerNormEps = "layer_norm_eps", layernormEpsilon = "layernorm_epsilon"
        case hiddenAct = "hidden_act", activationFunction = "activation_function"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case partialRotaryFactor = "partial_rotary_factor"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", useQKNorm = "use_qk_norm"
        case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling", ropeTheta = "rope_theta"
        case dtype, torchDtype = "torch_dtype"
        case qLoraRank = "q_lora_rank", kvLoraRank = "kv_lora_rank"
        case qkNopeHeadDim = "qk_nope_head_dim", qkRopeHeadDim = "qk_rope_head_dim", vHeadDim = "v_head_dim"
        case ropeInterleave = "rope_interleave"
        case nRoutedExperts = "n_routed_experts", nSharedExperts = "n_shared_experts"
        case numExpertsPerTok = "num_experts_per_tok", moeIntermediateSize = "moe_intermediate_size"
        case firstKDenseReplace = "first_k_dense_replace", routedScalingFactor = "routed_scaling_factor"
        case topkMethod = "topk_method", nGroup = "n_group", topkGroup = "topk_group"
        case normTopkProb = "norm_topk_prob", scoringFunc = "scoring_func"
        case multiQueryAttention = "multi_query_attention", multiQueryGroupNum = "multi_query_group_num"
        case ropeRatio = "rope_ratio", originalRope = "original_rope", rmsnorm
        case addQKVBias = "add_qkv_bias", addBiasLinear = "add_bias_linear", postLayerNorm = "post_layer_norm"
        case residualPostLayerNorm = "apply_residual_connection_post_layernorm"
    }

    /// Reads `config.json` at `url`.
    /// - Throws: `ConfigError` naming the key at fault.
    public static func load(url: URL) throws(ConfigError) -> ModelConfiguration {
        try ConfigError.decodeFile(ModelConfiguration.self, url: url)
    }

    /// Decodes config.json bytes.
    /// - Throws: `ConfigError` naming the key at fault.
    public static func decode(_ data: Data) throws(ConfigError) -> ModelConfiguration {
        try ConfigError.decode(ModelConfiguration.self, data: data)
    }

    /// Decodes and validates; throws `ConfigError` (or DecodingError, which `load`/`decode` translate).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func int(_ key: CodingKeys) throws -> Int? { try c.decodeIfPresent(Int.self, forKey: key) }
        func double(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
        func bool(_ key: CodingKeys) throws -> Bool? { try c.decodeIfPresent(Bool.self, forKey: key) }
        func string(_ key: CodingKeys) throws -> String? { try c.decodeIfPresent(String.self, forKey: key) }
        func required<T>(_ value: T?, _ key: CodingKeys) throws -> T {
            guard let value else { throw ConfigError.missingKey(key.rawValue) }
            return value
        }
        func positive(_ key: CodingKeys, default fallback: Int? = nil) throws -> Int {
            try ConfigCheck.positive(try required(try int(key) ?? fallback, key), key.rawValue)
        }

        guard let typeName = try string(.modelType) else { throw ConfigError.missingKey("model_type") }
        guard let type = ModelType(rawValue: typeName) else { throw ConfigError.unsupportedModelType(typeName) }
        modelType = type
        let gptLike = type == .gpt2 || type == .bloom

        // BLOOM's original bigscience files say `n_embed`; BloomConfig takes it in place of hidden_size.
        let bloomOldWidth = try type == .bloom && int(.hiddenSize) == nil
        hiddenSize = try positive(bloomOldWidth ? .nEmbed : type == .gpt2 ? .nEmbd : .hiddenSize)
        layerCount = try positive(gptLike ? .nLayer : type == .chatglm ? .numLayers : .numHiddenLayers)
        attentionHeads = try positive(gptLike ? .nHead : .numAttentionHeads)
        switch type {
        case .gpt2: intermediateSize = try positive(.nInner, default: 4 * hiddenSize)
        case .bloom: intermediateSize = 4 * hiddenSize
        case .chatglm: intermediateSize = try positive(.ffnHiddenSize)
        default: intermediateSize = try positive(.intermediateSize)
        }
        vocabSize = try positive(type == .chatglm ? .paddedVocabSize : .vocabSize)
        switch type {
        case .gpt2: maxPositionEmbeddings = try positive(.nPositions, default: 1024)
        case .bloom: maxPositionEmbeddings = nil
        case .chatglm: maxPositionEmbeddings = try int(.seqLength).map { try ConfigCheck.positive($0, "seq_length") }
        default: maxPositionEmbeddings = try int(.maxPositionEmbeddings).map { try ConfigCheck.positive($0, "max_position_embeddings") }
        }

        // Heads: ChatGLM's group count replaces num_key_value_heads (README §9.1 converter mapping).
        if type == .chatglm {
            let multiQuery = try bool(.multiQueryAttention) ?? false
            let groups = try positive(.multiQueryGroupNum, default: 1)
            kvHeads = multiQuery ? groups : attentionHeads
            chatGLM = ChatGLMConfiguration(
                multiQueryAttention: multiQuery, multiQueryGroupNum: groups,
                ropeRatio: try ConfigCheck.positive(try double(.ropeRatio) ?? 1, "rope_ratio"),
                originalRope: try bool(.originalRope) ?? true, rmsNorm: try bool(.rmsnorm) ?? true,
                postLayerNorm: try bool(.postLayerNorm) ?? true,
                residualPostLayerNorm: try bool(.residualPostLayerNorm) ?? false)
        } else {
            kvHeads = try positive(.numKeyValueHeads, default: attentionHeads)
            chatGLM = nil
        }
        guard attentionHeads % kvHeads == 0 else {
            throw ConfigError.invalidValue(key: "num_key_value_heads", reason: "\(kvHeads) does not divide \(attentionHeads) heads")
        }
        let headKey: CodingKeys = type == .chatglm ? .kvChannels : .headDim
        if let explicit = try int(headKey) {
            headDim = try ConfigCheck.positive(explicit, headKey.rawValue)
        } else {
            guard hiddenSize % attentionHeads == 0 else {
                throw ConfigError.invalidValue(key: headKey.rawValue, reason: "absent and hidden size not divisible by heads")
            }
            headDim = hiddenSize / attentionHeads
        }

        // One epsilon per file; RMSNorm families default to 1e-6 (LlamaConfig), LayerNorm ones to 1e-5.
        let epsilonKeys: [CodingKeys] = [.rmsNormEps, .layerNormEpsilon, .layerNormEps, .layernormEpsilon]
        var epsilon: Double?
        for key in epsilonKeys where epsilon == nil { epsilon = try double(key) }
        let layerNormFamily = gptLike || type == .chatglm
        normEps = try ConfigCheck.positive(epsilon ?? (layerNormFamily ? 1e-5 : 1e-6), "rms_norm_eps")

        switch type {
        case .gpt2: hiddenAct = try string(.activationFunction) ?? "gelu_new"
        case .bloom: hiddenAct = "gelu"
        case .chatglm: hiddenAct = "silu"
        default: hiddenAct = try string(.hiddenAct) ?? "silu"
        }
        tieWordEmbeddings = try bool(.tieWordEmbeddings) ?? gptLike
        bosTokenIDs = try c.decodeIfPresent(TokenIDs.self, forKey: .bosTokenID)?.ids ?? []
        eosTokenIDs = try c.decodeIfPresent(TokenIDs.self, forKey: .eosTokenID)?.ids ?? []
        padTokenID = try c.decodeIfPresent(TokenIDs.self, forKey: .padTokenID)?.ids.first
        if try bool(.useSlidingWindow) == false {
            slidingWindow = nil
        } else {
            slidingWindow = try int(.slidingWindow).map { try ConfigCheck.positive($0, "sliding_window") }
        }

        switch type {
        case .gpt2, .bloom, .qwen2: attentionBias = true
        case .chatglm: attentionBias = try bool(.addQKVBias) ?? false
        default: attentionBias = try bool(.attentionBias) ?? (type == .glm)
        }
        mlpBias = try type == .chatglm ? bool(.addBiasLinear) ?? false : bool(.mlpBias) ?? gptLike
        qkNorm = try type == .qwen3 ? true : bool(.useQKNorm) ?? false
        dtype = try string(.dtype) ?? string(.torchDtype)

        // Rope: transformers 5 nests everything in rope_parameters; classic files keep rope_theta at top level.
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        let scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        let topTheta = try double(.ropeTheta)
        let partialDefault: Double = type == .glm || type == .chatglm ? 0.5 : 1
        let partial = try parameters?.partialRotaryFactor ?? double(.partialRotaryFactor) ?? partialDefault
        guard partial > 0, partial <= 1 else {
            throw ConfigError.invalidValue(key: "partial_rotary_factor", reason: "must be in (0, 1], got \(partial)")
        }
        partialRotaryFactor = partial
        if gptLike {
            rope = nil
        } else if let chatGLM {
            rope = try RopeParameters(ropeTheta: 10000 * chatGLM.ropeRatio).resolve(theta: 10000, key: "rope_ratio")
        } else if let parameters {
            rope = try parameters.resolve(theta: topTheta ?? 10000, key: "rope_parameters")
        } else if let scaling {
            rope = try scaling.resolve(theta: topTheta ?? 10000, key: "rope_scaling")
        } else {
            rope = try RopeParameters().resolve(theta: topTheta ?? 10000, key: "rope_theta")
        }

        if type == .deepseekV3 {
            let mla = MLAConfiguration(
                qLoraRank: try int(.qLoraRank).map { try ConfigCheck.positive($0, "q_lora_rank") },
                kvLoraRank: try positive(.kvLoraRank), qkNopeHeadDim: try positive(.qkNopeHeadDim),
                qkRopeHeadDim: try positive(.qkRopeHeadDim), vHeadDim: try positive(.vHeadDim),
                ropeInterleave: try bool(.ropeInterleave) ?? true)
            self.mla = mla
            moe = try Self.decodeMoE(c, layers: layerCount)
        } else {
            mla = nil
            moe = nil
        }
    }

    static func decodeMoE(_ c: KeyedDecodingContainer<CodingKeys>, layers: Int) throws -> MoEConfiguration? {
        guard let experts = try c.decodeIfPresent(Int.self, forKey: .nRoutedExperts) else { return nil }
        func int(_ key: CodingKeys, _ fallback: Int) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? fallback }
        let moe = MoEConfiguration(
            routedExperts: try ConfigCheck.positive(experts, "n_routed_experts"),
            sharedExperts: try ConfigCheck.nonNegative(try int(.nSharedExperts, 0), "n_shared_experts"),
            expertsPerToken: try ConfigCheck.positive(try int(.numExpertsPerTok, 0), "num_experts_per_tok"),
            moeIntermediateSize: try ConfigCheck.positive(try int(.moeIntermediateSize, 0), "moe_intermediate_size"),
            firstKDenseReplace: try ConfigCheck.nonNegative(try int(.firstKDenseReplace, 0), "first_k_dense_replace"),
            routedScalingFactor: try ConfigCheck.positive(
                try c.decodeIfPresent(Double.self, forKey: .routedScalingFactor) ?? 1, "routed_scaling_factor"),
            topkMethod: try c.decodeIfPresent(String.self, forKey: .topkMethod) ?? "noaux_tc",
            groups: try ConfigCheck.positive(try int(.nGroup, 1), "n_group"),
            topkGroup: try ConfigCheck.positive(try int(.topkGroup, 1), "topk_group"),
            normTopkProb: try c.decodeIfPresent(Bool.self, forKey: .normTopkProb) ?? true,
            scoringFunc: try c.decodeIfPresent(String.self, forKey: .scoringFunc) ?? "sigmoid")
        // Group-limited routing splits experts evenly into groups (DeepseekV3MoE.route_tokens_to_experts).
        guard moe.routedExperts % moe.groups == 0 else {
            throw ConfigError.invalidValue(key: "n_group", reason: "\(moe.groups) does not divide \(moe.routedExperts) experts")
        }
        guard moe.topkGroup <= moe.groups else {
            throw ConfigError.invalidValue(key: "topk_group", reason: "exceeds n_group \(moe.groups)")
        }
        guard moe.expertsPerToken <= moe.routedExperts else {
            throw ConfigError.invalidValue(key: "num_experts_per_tok", reason: "exceeds n_routed_experts")
        }
        guard ["sigmoid", "softmax"].contains(moe.scoringFunc) else {
            throw ConfigError.invalidValue(key: "scoring_func", reason: "unsupported \(moe.scoringFunc)")
        }
        return moe
    }
}
