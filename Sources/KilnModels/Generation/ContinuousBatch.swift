// Continuous batching (Orca's iteration-level scheduling): many sequences of one model decode together, one token each
// per step, so each weight is read once per step for all of them. A sequence joins between steps: it is prefilled
// alone (its logits are exactly those of a run on its own), samples its first token, and its cache row joins the
// batch's. A finished or cancelled sequence leaves between steps. Each sequence keeps its own options and sampler
// state, so its tokens are the ones it would get alone, up to the float rounding of a batched product.
import Foundation
import KilnTensor

/// One sequence of a continuous batch: its prompt and options, its progress, and where its tokens go.
public final class BatchedSequence: @unchecked Sendable {
    let promptIds: [Int]
    let options: GenerationOptions
    let stop: StopSignal?
    let onToken: (Int, String) -> Void
    let onFinish: (Result<GenerationResult, any Error>) -> Void
    var rng: SplitMix64
    var row: RowState

    /// A sequence; `onToken(id, textDelta)` streams, `onFinish` is called once with the result or the error.
    public init(promptIds: [Int], options: GenerationOptions, stop: StopSignal? = nil, onToken: @escaping (Int, String) -> Void,
                onFinish: @escaping (Result<GenerationResult, any Error>) -> Void) {
        (self.promptIds, self.options, self.stop, self.onToken, self.onFinish) = (promptIds, options, stop, onToken, onFinish)
        rng = SplitMix64(seed: options.seed)
        row = RowState(promptIds: promptIds)
    }

    /// Samples the next token from `logits`, streams its text, and says whether the sequence has ended.
    func take(_ logits: [Float], tokenizer: Tokenizer) -> Bool {
        if stop?.isSet == true {
            row.reason = .cancelled
            return true
        }
        let token = Sampler.sample(logits, parameters: options.sampling, seen: row.promptIds + row.ids, generated: row.ids, using: &rng)
        let delta = row.accept(token, tokenizer: tokenizer, options: options)
        onToken(token, delta)
        return row.reason != nil
    }
}

/// A continuous batch of one model, driven by one thread.
public protocol ContinuousBatching: AnyObject {
    /// Sequences decoding now.
    var count: Int { get }
    /// Prefills `sequence` alone and adds it to the batch (or finishes it at once: an error, EOS, one token wanted).
    func admit(_ sequence: BatchedSequence)
    /// One token for every sequence; ended sequences get their result and leave.
    func step()
}

/// Makes continuous batches for the models that support them.
public enum ContinuousBatches {
    /// A batch over `model`, or nil when its cache cannot move rows (every family here can).
    public static func make(model: any CausalLM, tokenizer: Tokenizer) -> (any ContinuousBatching)? {
        guard let decoder = model as? any IncrementalDecoder else { return nil }
        return open(decoder, tokenizer)
    }

    static func open<D: IncrementalDecoder>(_ decoder: D, _ tokenizer: Tokenizer) -> (any ContinuousBatching)? {
        guard decoder.makeCache(batch: 1) is LlamaCache else { return nil }
        return ContinuousBatch(decoder: decoder, tokenizer: tokenizer)
    }
}

/// The batch over one decoder whose cache is a `LlamaCache`.
final class ContinuousBatch<D: IncrementalDecoder>: ContinuousBatching {
    let decoder: D
    let tokenizer: Tokenizer
    private var cache: D.DecodeCache?
    private var sequences: [BatchedSequence] = []

    init(decoder: D, tokenizer: Tokenizer) {
        self.decoder = decoder
        self.tokenizer = tokenizer
    }

    var count: Int { sequences.count }

    func admit(_ sequence: BatchedSequence) {
        var single = decoder.makeCache(batch: 1)
        do {
            let logits = try decoder.decodeLogits([sequence.promptIds], attentionMask: [sequence.promptIds.map { _ in 1 }], cache: &single,
                                                  lastStepOnly: true)
            if sequence.take(DecodeStep.rows(logits)[0], tokenizer: tokenizer) {
                finish(sequence)
                return
            }
        } catch {
            sequence.onFinish(.failure(error))
            return
        }
        if let current = cache {
            cache = nil
            let parts = (0..<sequences.count).map { (cache: current as! LlamaCache, row: $0) } + [(cache: single as! LlamaCache, row: 0)]
            cache = (LlamaCache.combine(parts) as! D.DecodeCache)
        } else {
            cache = single
        }
        sequences.append(sequence)
    }

    func step() {
        guard var current = cache, !sequences.isEmpty else { return }
        // The batch owns its cache alone while it decodes, so appending a step never copies the buffers.
        cache = nil
        let feed = sequences.map { [$0.row.ids.last!] }
        let logits: [[Float]]
        do {
            logits = DecodeStep.rows(try decoder.decodeLogits(feed, attentionMask: feed.map { _ in [1] }, cache: &current, lastStepOnly: true))
        } catch {
            for sequence in sequences { sequence.onFinish(.failure(error)) }
            sequences = []
            return
        }
        var kept: [Int] = []
        for (index, sequence) in sequences.enumerated() {
            if sequence.take(logits[index], tokenizer: tokenizer) { finish(sequence) } else { kept.append(index) }
        }
        if kept.count == sequences.count {
            cache = current
        } else if !kept.isEmpty {
            cache = ((current as! LlamaCache).keeping(rows: kept) as! D.DecodeCache)
        }
        sequences = kept.map { sequences[$0] }
    }

    private func finish(_ sequence: BatchedSequence) {
        sequence.onFinish(.success(sequence.row.result(tokenizer: tokenizer)))
    }
}
