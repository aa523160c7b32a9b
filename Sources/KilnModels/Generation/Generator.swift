// Token-by-token generation over any `CausalLM`: the families with a public KV-cache forward (LLaMA-shaped,
// GLM, DeepSeek-V3) feed one new token per step; the rest recompute the whole sequence, which is slower
// but gives the same logits. Greedy equals the families' own `greedy`/`generate` and transformers' generate.
import Foundation
import KilnTensor

/// Everything a generation run needs besides the model and the prompt.
public struct GenerationOptions: Sendable {
    /// The most new tokens to produce.
    public var maxNewTokens: Int
    /// Temperature, filters and penalty.
    public var sampling: SamplingParameters
    /// Ids that end generation (kept in `ids`, as transformers does).
    public var eosTokenIds: Set<Int>
    /// Strings that end generation once the new text contains one; cut from `text`.
    public var stopStrings: [String]
    /// Seed of the sampler's generator; the same seed gives the same ids.
    public var seed: UInt64

    /// Collects the options; defaults are greedy, no EOS, no stop strings, seed 0.
    public init(maxNewTokens: Int, sampling: SamplingParameters = .greedy, eosTokenIds: Set<Int> = [],
                stopStrings: [String] = [], seed: UInt64 = 0) {
        (self.maxNewTokens, self.sampling, self.eosTokenIds, self.stopStrings, self.seed) =
            (maxNewTokens, sampling, eosTokenIds, stopStrings, seed)
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable, Equatable {
    /// `maxNewTokens` were produced.
    case length
    /// An EOS id was produced.
    case eos
    /// A stop string appeared in the text.
    case stop
}

/// The outcome of one run.
public struct GenerationResult: Sendable, Equatable {
    /// The prompt as fed to the model.
    public var promptIds: [Int]
    /// The new ids only.
    public var ids: [Int]
    /// The new text (special tokens skipped; a matched stop string and what follows it removed).
    public var text: String
    /// Why it ended.
    public var finishReason: FinishReason
}

/// Runs generation for one model and (optionally) its tokenizer, which stop strings and text need.
public struct Generator: Sendable {
    /// The model that produces logits.
    public let model: any CausalLM
    /// Decodes new ids to text; nil leaves `text` empty and ignores stop strings.
    public let tokenizer: Tokenizer?

    /// Wraps a model and its tokenizer.
    public init(model: any CausalLM, tokenizer: Tokenizer?) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates after `promptIds`, calling `onToken(id, textDelta)` as each token decodes.
    /// - Throws: `ModelError.invalidInput` for an empty prompt or ids outside the vocabulary.
    public func generate(promptIds: [Int], options: GenerationOptions,
                         onToken: ((Int, String) -> Void)? = nil) throws -> GenerationResult {
        guard !promptIds.isEmpty else { throw ModelError.invalidInput(reason: "empty prompt") }
        let step = DecodeStep.make(for: model)
        var rng = SplitMix64(seed: options.seed)
        var ids: [Int] = []
        var text = ""
        var reason = FinishReason.length
        var feed = promptIds
        while ids.count < options.maxNewTokens {
            let logits = try step(feed)
            let token = Sampler.sample(logits, parameters: options.sampling, seen: promptIds + ids, using: &rng)
            ids.append(token)
            feed = [token]
            var delta = ""
            if let tokenizer {
                let full = tokenizer.decode(ids, skipSpecialTokens: true)
                // A byte-level token may end mid-character; hold the delta back until the character completes.
                if !full.hasSuffix("\u{FFFD}") {
                    // A decoder that rewrites earlier text (space clean-up) gets no delta this step, but the text moves on.
                    if full.hasPrefix(text) { delta = String(full.dropFirst(text.count)) }
                    text = full
                }
                if let stop = options.stopStrings.compactMap({ text.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                    let kept = String(text[..<stop.lowerBound])
                    let before = text.count - delta.count
                    delta = kept.count > before ? String(kept.dropFirst(before)) : ""
                    text = kept
                    reason = .stop
                }
            }
            onToken?(token, delta)
            if reason == .stop { break }
            if options.eosTokenIds.contains(token) { reason = .eos; break }
        }
        if let tokenizer, reason != .stop {
            text = tokenizer.decode(ids, skipSpecialTokens: true)
        }
        return GenerationResult(promptIds: promptIds, ids: ids, text: text, finishReason: reason)
    }
}

/// Builds a closure that takes the ids not yet seen by the model and returns the last position's V logits.
enum DecodeStep {
    /// A cached stepper for families with a public cache forward, else a full-recompute one.
    static func make(for model: any CausalLM) -> ([Int]) throws -> [Float] {
        if let llama = model as? LlamaModel { return llamaStepper(llama) }
        if let m = model as? MistralModel { return llamaStepper(m.base) }
        if let m = model as? Qwen2Model { return llamaStepper(m.base) }
        if let m = model as? Qwen3Model { return llamaStepper(m.base) }
        if let glm = model as? GLMModel { return glmStepper(glm) }
        if let m = model as? ChatGLMModel { return glmStepper(m.base) }
        if let deepseek = model as? DeepSeekV3Model {
            var cache = LlamaCache(layers: deepseek.configuration.layerCount, batch: 1)
            return { ids in
                lastRow(try deepseek.forward(inputIds: [ids], attentionMask: nil, positionIds: nil, cache: &cache).output.logits)
            }
        }
        var all: [Int] = []
        return { ids in
            all += ids
            return lastRow(try model.forward(inputIds: [all], attentionMask: nil, positionIds: nil).logits)
        }
    }

    /// LLaMA-shaped decoders share `LlamaCache`.
    static func llamaStepper(_ model: LlamaModel) -> ([Int]) throws -> [Float] {
        var cache = LlamaCache(layers: model.configuration.layerCount, batch: 1)
        return { ids in lastRow(try model.forward(inputIds: [ids], attentionMask: nil, positionIds: nil, cache: &cache).logits) }
    }

    /// GLM-4 and ChatGLM share `GLMCache`.
    static func glmStepper(_ model: GLMModel) -> ([Int]) throws -> [Float] {
        var cache = GLMCache(layers: model.configuration.layerCount, batch: 1)
        return { ids in lastRow(try model.forward(inputIds: [ids], attentionMask: nil, positionIds: nil, cache: &cache).logits) }
    }

    /// The last position's V logits of a (1, T, V) tensor.
    static func lastRow(_ logits: Tensor) -> [Float] {
        let vocabulary = logits.shape.last ?? 0
        return Array(logits.storage[(logits.count - vocabulary)...])
    }
}
