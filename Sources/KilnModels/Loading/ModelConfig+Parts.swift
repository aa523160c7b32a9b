// Sub-configurations of ModelConfiguration: rotary embeddings, DeepSeek-V3 MLA + MoE, ChatGLM extras.
// Key names follow transformers 5.24 (`modeling_rope_utils.py` ROPE_INIT_FUNCTIONS, configuration_deepseek_v3.py)
// and ChatGLM3-6B's remote `configuration_chatglm.py` (fixtures README §9.1).
import Foundation

/// Rotary position embedding settings, read from `rope_parameters` (transformers 5) or `rope_theta` + `rope_scaling`.
public struct RopeConfiguration: Sendable, Equatable {
    /// The frequency schedules Kiln implements (transformers' `rope_type` names).
    public enum Kind: String, Sendable, CaseIterable {
        /// Plain inverse frequencies.
        case `default`
        /// Positions divided by `factor`.
        case linear
        /// NTK-aware base rescaling beyond the trained length.
        case dynamic
        /// YaRN ramp between interpolation and extrapolation.
        case yarn
        /// Llama 3.1 three-band frequency scaling.
        case llama3
    }

    /// Schedule.
    public var kind: Kind
    /// Base θ of the inverse frequencies (`rope_theta`).
    public var theta: Double
    /// Scaling factor for linear/dynamic/yarn/llama3 (`factor`, default 1).
    public var factor: Double
    /// llama3 band edges (`low_freq_factor`, default 1; `high_freq_factor`, default 4).
    public var lowFreqFactor: Double
    /// See `lowFreqFactor`.
    public var highFreqFactor: Double
    /// Context length the scaling was fitted for (`original_max_position_embeddings`).
    public var originalMaxPositionEmbeddings: Int?
    /// YaRN ramp bounds (`beta_fast`, default 32; `beta_slow`, default 1).
    public var betaFast: Double
    /// See `betaFast`.
    public var betaSlow: Double
    /// YaRN attention scaling inputs (`mscale`, `mscale_all_dim`, `attention_factor`), nil when absent.
    public var mscale: Double?
    /// See `mscale`.
    public var mscaleAllDim: Double?
    /// See `mscale`.
    public var attentionFactor: Double?
}

/// The raw `rope_parameters` / `rope_scaling` object; both spellings of the type key are accepted.
struct RopeParameters: Decodable {
    var ropeType: String?
    var type: String?
    var ropeTheta: Double?
    var factor: Double?
    var lowFreqFactor: Double?
    var highFreqFactor: Double?
    var originalMaxPositionEmbeddings: Int?
    var betaFast: Double?
    var betaSlow: Double?
    var mscale: Double?
    var mscaleAllDim: Double?
    var attentionFactor: Double?
    var partialRotaryFactor: Double?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type"
        case type
        case ropeTheta = "rope_theta"
        case factor
        case lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case betaFast = "beta_fast"
        case betaSlow = "beta_slow"
        case mscale
        case mscaleAllDim = "mscale_all_dim"
        case attentionFactor = "attention_factor"
        case partialRotaryFactor = "partial_rotary_factor"
    }

    /// Builds the typed configuration; `key` names where the object came from in errors.
    func resolve(theta fallbackTheta: Double, key: String) throws(ConfigError) -> RopeConfiguration {
        let name = ropeType ?? type ?? "default"
        guard let kind = RopeConfiguration.Kind(rawValue: name) else { throw .unsupportedRopeType(name) }
        let theta = try ConfigCheck.positive(ropeTheta ?? fallbackTheta, "\(key).rope_theta")
        let factor = try ConfigCheck.positive(factor ?? 1, "\(key).factor")
        if kind != .default, factor < 1, kind != .linear {
            throw .invalidValue(key: "\(key).factor", reason: "must be >= 1 for \(name), got \(factor)")
        }
        let low = try ConfigCheck.positive(lowFreqFactor ?? 1, "\(key).low_freq_factor")
        let high = try ConfigCheck.positive(highFreqFactor ?? 4, "\(key).high_freq_factor")
        if kind == .llama3 {
            // llama3 divides by (high - low) (modeling_rope_utils.py `_compute_llama3_parameters`).
            guard high > low else { throw .invalidValue(key: "\(key).high_freq_factor", reason: "must exceed low_freq_factor") }
            guard originalMaxPositionEmbeddings != nil else { throw .missingKey("\(key).original_max_position_embeddings") }
        }
        if let original = originalMaxPositionEmbeddings {
            _ = try ConfigCheck.positive(original, "\(key).original_max_position_embeddings")
        }
        return RopeConfiguration(
            kind: kind, theta: theta, factor: factor, lowFreqFactor: low, highFreqFactor: high,
            originalMaxPositionEmbeddings: originalMaxPositionEmbeddings,
            betaFast: betaFast ?? 32, betaSlow: betaSlow ?? 1,
            mscale: mscale, mscaleAllDim: mscaleAllDim, attentionFactor: attentionFactor)
    }
}

/// DeepSeek-V3 multi-head latent attention sizes (configuration_deepseek_v3.py).
public struct MLAConfiguration: Sendable, Equatable {
    /// Rank of the query down-projection; nil means no query compression (`q_lora_rank: null`).
    public var qLoraRank: Int?
    /// Rank of the joint key/value compression (`kv_lora_rank`).
    public var kvLoraRank: Int
    /// Per-head query/key dims without rotary (`qk_nope_head_dim`).
    public var qkNopeHeadDim: Int
    /// Per-head query/key dims with rotary (`qk_rope_head_dim`).
    public var qkRopeHeadDim: Int
    /// Per-head value dims (`v_head_dim`).
    public var vHeadDim: Int
    /// Whether rotary pairs are interleaved `(x[2i], x[2i+1])` (`rope_interleave`, default true).
    public var ropeInterleave: Bool
}

/// Routed + shared expert settings (DeepSeek-V3 `DeepseekV3MoE`).
public struct MoEConfiguration: Sendable, Equatable {
    /// Number of routed experts (`n_routed_experts`).
    public var routedExperts: Int
    /// Number of always-on shared experts (`n_shared_experts`, default 0).
    public var sharedExperts: Int
    /// Experts chosen per token (`num_experts_per_tok`).
    public var expertsPerToken: Int
    /// Hidden size of each expert MLP (`moe_intermediate_size`).
    public var moeIntermediateSize: Int
    /// Leading layers that keep a dense MLP (`first_k_dense_replace`, default 0).
    public var firstKDenseReplace: Int
    /// Multiplier on the routed output (`routed_scaling_factor`, default 1).
    public var routedScalingFactor: Double
    /// Expert selection method (`topk_method`, default "noaux_tc").
    public var topkMethod: String
    /// Expert groups (`n_group`, default 1) and groups kept per token (`topk_group`, default 1).
    public var groups: Int
    /// See `groups`.
    public var topkGroup: Int
    /// Whether top-k weights are renormalised (`norm_topk_prob`, default true).
    public var normTopkProb: Bool
    /// Router score function (`scoring_func`, default "sigmoid").
    public var scoringFunc: String
}

/// ChatGLM2/3 / glm-4-9b-chat options with no GLM-4 equivalent key (fixtures README §9.1).
public struct ChatGLMConfiguration: Sendable, Equatable {
    /// Grouped-query attention on (`multi_query_attention`); groups = `multi_query_group_num`.
    public var multiQueryAttention: Bool
    /// Number of key/value groups (`multi_query_group_num`).
    public var multiQueryGroupNum: Int
    /// RoPE base multiplier: base = 10000 · `rope_ratio` (default 1).
    public var ropeRatio: Double
    /// ChatGLM's `original_rope` flag (default true).
    public var originalRope: Bool
    /// RMSNorm instead of LayerNorm (`rmsnorm`, default true).
    public var rmsNorm: Bool
    /// Final norm applied (`post_layer_norm`, default true).
    public var postLayerNorm: Bool
    /// Residual taken after the layer norm (`apply_residual_connection_post_layernorm`, default false).
    public var residualPostLayerNorm: Bool
}
