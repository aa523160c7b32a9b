// The decoding interface every family implements: a key/value cache that grows one step at a time, fed a
// padded batch whose positions follow HF generate (`position_ids = cumsum(attention_mask) − 1`), so a
// left-padded batch decodes each row exactly as it would alone.
import Foundation
import KilnTensor

/// A causal LM that extends a key/value cache step by step, so each new token costs one position.
public protocol IncrementalDecoder: Sendable {
    /// The cache one decoding run extends.
    associatedtype DecodeCache
    /// The vocabulary size V.
    var vocabularySize: Int { get }
    /// An empty cache for `batch` rows.
    func makeCache(batch: Int) -> DecodeCache
    /// Logits of the T new steps in `inputIds` (B, T) after those already in `cache`, which it extends:
    /// (B, T, V), or (B, 1, V) for each row's last step when `lastStepOnly` (what sampling needs, and cheaper).
    /// `attentionMask` covers the new steps (nil: all ones); positions continue the cached mask's count.
    func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout DecodeCache,
                      lastStepOnly: Bool) throws(ModelError) -> Tensor
}

/// A family that runs on another family's blocks (Mistral and Qwen on LLaMA's, ChatGLM on GLM's).
public protocol DelegatingDecoder: IncrementalDecoder where DecodeCache == Base.DecodeCache {
    /// The family doing the work.
    associatedtype Base: IncrementalDecoder
    /// The wrapped model.
    var base: Base { get }
}

extension DelegatingDecoder {
    /// V of the base.
    public var vocabularySize: Int { base.vocabularySize }

    /// The base's empty cache.
    public func makeCache(batch: Int) -> DecodeCache { base.makeCache(batch: batch) }

    /// The base's logits.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout DecodeCache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        try base.decodeLogits(inputIds, attentionMask: attentionMask, cache: &cache, lastStepOnly: lastStepOnly)
    }
}

extension IncrementalDecoder {
    /// Greedy decoding of one unpadded prompt with the KV cache (HF `generate(do_sample=False)`): up to
    /// `maxNewTokens` argmax ids, stopping after any of `eosTokenIds`. Returns the new ids only.
    /// - Throws: `ModelError.invalidInput` for an empty prompt or ids outside the vocabulary.
    public func greedy(promptIds: [Int], maxNewTokens: Int, eosTokenIds: [Int] = []) throws(ModelError) -> [Int] {
        var cache = makeCache(batch: 1)
        var next = promptIds
        var generated: [Int] = []
        while generated.count < maxNewTokens {
            let logits = try decodeLogits([next], attentionMask: nil, cache: &cache, lastStepOnly: true)
            let token = FamilyOps.argmax(logits.storage[...])
            generated.append(token)
            if eosTokenIds.contains(token) { break }
            next = [token]
        }
        return generated
    }
}

extension LlamaCache {
    /// The mask (given, or all ones) and HF generate's positions of new steps `inputIds` after the cached ones.
    func generationInputs(_ inputIds: [[Int]], attentionMask: [[Int]]?) -> (mask: [[Int]], positions: [[Int]]) {
        let mask = attentionMask ?? inputIds.map { Array(repeating: 1, count: $0.count) }
        return (mask, DecodeMask.positions(past: self.attentionMask, new: mask))
    }
}

/// HF generate's mask bookkeeping, shared by the caches.
enum DecodeMask {
    /// Positions of new steps: each row continues its count of real past steps, `cumsum(mask) − 1`; padding gets
    /// 1, as `position_ids.masked_fill_(attention_mask == 0, 1)` (no real query reads it).
    static func positions(past: [[Int]], new: [[Int]]) -> [[Int]] {
        zip(past, new).map { pastRow, newRow in
            var count = pastRow.reduce(0, +)
            return newRow.map { bit in
                count += bit
                return bit == 1 ? count - 1 : 1
            }
        }
    }
}
