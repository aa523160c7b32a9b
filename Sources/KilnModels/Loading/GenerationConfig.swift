// generation_config.json (transformers `GenerationConfig`): ids that end or pad generation and the
// sampling defaults. Defaults are transformers 5.24's GenerationConfig.__init__ values.
import Foundation

/// A decoded and validated `generation_config.json`.
public struct GenerationConfig: Decodable, Sendable, Equatable {
    /// `bos_token_id` (int, list or null).
    public var bosTokenIDs: [Int]
    /// `eos_token_id` (int, list or null): generation stops at any of them.
    public var eosTokenIDs: [Int]
    /// `pad_token_id` (first id when a list).
    public var padTokenID: Int?
    /// `max_new_tokens`, nil when absent.
    public var maxNewTokens: Int?
    /// `do_sample` (default false: greedy).
    public var doSample: Bool
    /// `temperature` (default 1).
    public var temperature: Double
    /// `top_k` (default 50; 0 disables).
    public var topK: Int
    /// `top_p` (default 1).
    public var topP: Double
    /// `repetition_penalty` (default 1).
    public var repetitionPenalty: Double

    enum CodingKeys: String, CodingKey {
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
        case maxNewTokens = "max_new_tokens", doSample = "do_sample", temperature
        case topK = "top_k", topP = "top_p", repetitionPenalty = "repetition_penalty"
    }

    /// Reads `generation_config.json` at `url`.
    /// - Throws: `ConfigError` naming the key at fault.
    public static func load(url: URL) throws(ConfigError) -> GenerationConfig {
        try ConfigError.decodeFile(GenerationConfig.self, url: url)
    }

    /// Decodes generation_config.json bytes.
    /// - Throws: `ConfigError` naming the key at fault.
    public static func decode(_ data: Data) throws(ConfigError) -> GenerationConfig {
        try ConfigError.decode(GenerationConfig.self, data: data)
    }

    /// Decodes and validates ranges (temperature ≥ 0, 0 < top_p ≤ 1, top_k ≥ 0, penalty > 0).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bosTokenIDs = try c.decodeIfPresent(TokenIDs.self, forKey: .bosTokenID)?.ids ?? []
        eosTokenIDs = try c.decodeIfPresent(TokenIDs.self, forKey: .eosTokenID)?.ids ?? []
        padTokenID = try c.decodeIfPresent(TokenIDs.self, forKey: .padTokenID)?.ids.first
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens).map { try ConfigCheck.positive($0, "max_new_tokens") }
        doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample) ?? false
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? 1
        guard temperature.isFinite, temperature >= 0 else {
            throw ConfigError.invalidValue(key: "temperature", reason: "must be finite and >= 0, got \(temperature)")
        }
        topK = try ConfigCheck.nonNegative(try c.decodeIfPresent(Int.self, forKey: .topK) ?? 50, "top_k")
        topP = try c.decodeIfPresent(Double.self, forKey: .topP) ?? 1
        guard topP > 0, topP <= 1 else { throw ConfigError.invalidValue(key: "top_p", reason: "must be in (0, 1], got \(topP)") }
        repetitionPenalty = try ConfigCheck.positive(
            try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty) ?? 1, "repetition_penalty")
    }
}
