// Token-by-token generation over any `CausalLM` through its KV cache (`IncrementalDecoder`): one prompt with
// streaming, or a batch of prompts left-padded into one prefill and decoded together, each row exactly as it
// would be alone (HF generate's mask and position bookkeeping). Greedy equals transformers' generate.
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
    /// The caller asked it to stop.
    case cancelled
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

/// A flag another thread sets to end a generation early (a client that went away); read before each step.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// An unset signal.
    public init() {}

    /// True once set.
    public var isSet: Bool { lock.withLock { value } }

    /// Asks the generation to stop.
    public func set() { lock.withLock { value = true } }
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
    public func generate(promptIds: [Int], options: GenerationOptions, stop: StopSignal? = nil,
                         onToken: ((Int, String) -> Void)? = nil) throws -> GenerationResult {
        try generate(batch: [promptIds], options: options, stop: stop) { _, id, delta in onToken?(id, delta) }[0]
    }

    /// Generates after each prompt of a batch: the prompts are left-padded with `padTokenId` (masked out) into
    /// one prefill, then decoded together until every row has ended; `onToken(row, id, textDelta)` streams.
    /// Rows are independent: each gets the ids it would get alone (same seed → same sampler draws per step).
    /// `stop`, read before each step, ends every row early with `.cancelled` (a client that went away).
    /// - Throws: `ModelError.invalidInput` for an empty batch or prompt, or ids outside the vocabulary.
    public func generate(batch prompts: [[Int]], options: GenerationOptions, padTokenId: Int = 0, stop: StopSignal? = nil,
                         onToken: ((Int, Int, String) -> Void)? = nil) throws -> [GenerationResult] {
        guard !prompts.isEmpty else { throw ModelError.invalidInput(reason: "empty batch") }
        guard prompts.allSatisfy({ !$0.isEmpty }) else { throw ModelError.invalidInput(reason: "empty prompt") }
        let width = prompts.map(\.count).max()!
        var feed = prompts.map { Array(repeating: padTokenId, count: width - $0.count) + $0 }
        var mask = prompts.map { Array(repeating: 0, count: width - $0.count) + Array(repeating: 1, count: $0.count) }
        let step = DecodeStep.make(for: model, batch: prompts.count)
        var rng = SplitMix64(seed: options.seed)
        var rows = prompts.map { RowState(promptIds: $0) }
        while rows.contains(where: { $0.reason == nil }) {
            if stop?.isSet == true {
                for index in rows.indices where rows[index].reason == nil { rows[index].reason = .cancelled }
                break
            }
            let logits = try step(feed, mask)
            for (index, row) in rows.enumerated() where row.reason == nil {
                let token = Sampler.sample(logits[index], parameters: options.sampling, seen: row.promptIds + row.ids, generated: row.ids,
                                           using: &rng)
                let delta = rows[index].accept(token, tokenizer: tokenizer, options: options)
                onToken?(index, token, delta)
            }
            // Finished rows keep feeding padding (HF feeds pad_token_id); nothing reads their logits.
            feed = rows.map { [$0.reason == nil ? $0.ids.last! : padTokenId] }
            mask = Array(repeating: [1], count: rows.count)
        }
        return rows.map { $0.result(tokenizer: tokenizer) }
    }
}

/// One row's progress: its new ids, the text decoded so far and why it ended.
struct RowState {
    let promptIds: [Int]
    var ids: [Int] = []
    var text = ""
    var reason: FinishReason?

    init(promptIds: [Int]) {
        self.promptIds = promptIds
    }

    /// Records `token`; returns the text it adds (held back while a character is incomplete, cut at a stop string).
    mutating func accept(_ token: Int, tokenizer: Tokenizer?, options: GenerationOptions) -> String {
        ids.append(token)
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
                return delta
            }
        }
        if options.eosTokenIds.contains(token) {
            reason = .eos
        } else if ids.count >= options.maxNewTokens {
            reason = .length
        }
        return delta
    }

    /// The finished row; text is decoded whole unless a stop string cut it.
    func result(tokenizer: Tokenizer?) -> GenerationResult {
        let finalText = reason == .stop ? text : tokenizer?.decode(ids, skipSpecialTokens: true) ?? ""
        return GenerationResult(promptIds: promptIds, ids: ids, text: finalText, finishReason: reason ?? .length)
    }
}

/// Builds a closure that takes the (B, T) ids and mask not yet seen by the model and returns each row's last logits.
enum DecodeStep {
    /// A cached stepper for every `IncrementalDecoder` (all families), else one that recomputes the whole sequence.
    static func make(for model: any CausalLM, batch: Int) -> ([[Int]], [[Int]]) throws -> [[Float]] {
        if let decoder = model as? any IncrementalDecoder { return cached(decoder, batch: batch) }
        var ids = Array(repeating: [Int](), count: batch)
        var mask = ids
        return { newIds, newMask in
            for row in 0..<batch { ids[row] += newIds[row]; mask[row] += newMask[row] }
            return rows(FamilyOps.lastStep(try model.forward(inputIds: ids, attentionMask: mask, positionIds: nil).logits))
        }
    }

    /// The stepper over one decoder's cache.
    static func cached<D: IncrementalDecoder>(_ decoder: D, batch: Int) -> ([[Int]], [[Int]]) throws -> [[Float]] {
        var cache = decoder.makeCache(batch: batch)
        return { ids, mask in rows(try decoder.decodeLogits(ids, attentionMask: mask, cache: &cache, lastStepOnly: true)) }
    }

    /// The B rows of (B, 1, V) logits.
    static func rows(_ logits: Tensor) -> [[Float]] {
        let vocabulary = logits.shape.last ?? 0
        return (0..<logits.shape[0]).map { Array(logits.storage[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
    }
}
