// Continuous batching (Orca's iteration-level scheduling): many sequences of one model decode together, one token each
// per step, so each weight is read once per step for all of them. Sequences join between steps: those that arrive
// together are prefilled together, left-padded (each row as it would be alone), sample their first tokens, and their
// cache rows join the batch's. A finished or cancelled sequence leaves between steps. Each sequence keeps its own
// options and sampler state, so its tokens are the ones it would get alone, up to the float rounding of a batched
// product.
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
    /// The adapter slot of its model's `AdapterSlots` this sequence runs with; 0 is the base alone.
    public var adapterSlot = 0

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
    /// Prefills `sequences` together (left-padded, each row as it would be alone) and adds them to the batch; a sequence
    /// may finish at once (an error, EOS, one token wanted).
    func admit(_ sequences: [BatchedSequence])
    /// One token for every sequence; ended sequences get their result and leave.
    func step()
}

extension ContinuousBatching {
    /// Prefills one sequence and adds it to the batch.
    public func admit(_ sequence: BatchedSequence) { admit([sequence]) }
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

    func admit(_ arriving: [BatchedSequence]) {
        guard !arriving.isEmpty else { return }
        let width = arriving.map(\.promptIds.count).max()!
        let ids = arriving.map { Array(repeating: 0, count: width - $0.promptIds.count) + $0.promptIds }
        let mask = arriving.map { Array(repeating: 0, count: width - $0.promptIds.count) + Array(repeating: 1, count: $0.promptIds.count) }
        var fresh = decoder.makeCache(batch: arriving.count)
        let logits: [[Float]]
        do {
            logits = try Self.routed(arriving) { DecodeStep.rows(try decoder.decodeLogits(ids, attentionMask: mask, cache: &fresh, lastStepOnly: true)) }
        } catch {
            for sequence in arriving { sequence.onFinish(.failure(error)) }
            return
        }
        var joining: [Int] = []
        for (index, sequence) in arriving.enumerated() {
            if sequence.take(logits[index], tokenizer: tokenizer) { finish(sequence) } else { joining.append(index) }
        }
        guard !joining.isEmpty else { return }
        let added = fresh as! LlamaCache
        var parts = joining.map { (cache: added, row: $0) }
        if let current = cache {
            cache = nil
            parts = (0..<sequences.count).map { (cache: current as! LlamaCache, row: $0) } + parts
        }
        cache = (LlamaCache.combine(parts) as! D.DecodeCache)
        sequences += joining.map { arriving[$0] }
    }

    func step() {
        guard var current = cache, !sequences.isEmpty else { return }
        // The batch owns its cache alone while it decodes, so appending a step never copies the buffers.
        cache = nil
        let feed = sequences.map { [$0.row.ids.last!] }
        let logits: [[Float]]
        do {
            logits = try Self.routed(sequences) {
                DecodeStep.rows(try decoder.decodeLogits(feed, attentionMask: feed.map { _ in [1] }, cache: &current, lastStepOnly: true))
            }
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

    /// Runs `body` with each batch row routed to its sequence's adapter slot (no routing when every row runs the base).
    static func routed<T>(_ rows: [BatchedSequence], _ body: () throws -> T) rethrows -> T {
        let slots = rows.map(\.adapterSlot)
        guard slots.contains(where: { $0 != 0 }) else { return try body() }
        return try AdapterSlots.$routing.withValue(slots) { try body() }
    }

    private func finish(_ sequence: BatchedSequence) {
        sequence.onFinish(.success(sequence.row.result(tokenizer: tokenizer)))
    }
}
