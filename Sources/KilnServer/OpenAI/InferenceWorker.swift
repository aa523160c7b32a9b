// The server's model runner: loading and generation are seconds of CPU, so they run on one thread of their own, never
// on the async executors that answer other requests. Generation is continuously batched: the requests for one model
// decode together, a new one joining at the next step, and the batches of different models (a base and its adapters)
// take turns step by step, so every request makes progress. Loaded models stay in a small least-recently-used set
// keyed by base and adapter, so a chat after a chat costs no load.
import Foundation
import KilnModels
import KilnTrain

/// What a generation stream yields.
enum GenerationEvent: Sendable {
    /// A new token and the text it adds (held back by the generator while a character is incomplete).
    case token(id: Int, delta: String)
    /// The finished result.
    case finished(GenerationResult)
}

/// Runs loads and generations one at a time on a dedicated thread.
final class InferenceWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [() -> Void] = []
    /// The running batches, one per model key; touched by the worker thread only.
    private var batches: [(key: String, batch: any ContinuousBatching)] = []
    private var decoding = 0
    /// Sequences that arrived this turn, admitted together per model; touched by the worker thread only.
    private var arrivals: [(key: String, sequence: BatchedSequence)] = []
    private var loaded: [(key: String, model: LoadedModel)] = []
    /// Models kept loaded at once; a GGUF base is memory-mapped, so each costs little beyond its adapter.
    let capacity: Int

    private var started = false

    /// A worker whose thread starts with its first request.
    init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// Requests and loads waiting for the worker's next turn.
    var queueLength: Int { condition.withLock { pending.count } }

    /// Sequences decoding in the running batches.
    var activeSequences: Int { condition.withLock { decoding } }

    /// The key of a (base, adapter) pair: one loaded model, one batch.
    static func key(base: URL, adapter: URL?) -> String { base.path + "|" + (adapter?.path ?? "") }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && decoding == 0 { condition.wait() }
            let work = pending
            pending.removeAll()
            condition.unlock()
            // New requests are admitted (prefilled) first, then every batch takes one step.
            for item in work { item() }
            for entry in batches {
                let joining = arrivals.filter { $0.key == entry.key }.map(\.sequence)
                if !joining.isEmpty { entry.batch.admit(joining) }
            }
            arrivals.removeAll()
            for entry in batches where entry.batch.count > 0 { entry.batch.step() }
            batches.removeAll { $0.batch.count == 0 }
            let active = batches.reduce(0) { $0 + $1.batch.count }
            condition.withLock { decoding = active }
        }
    }

    /// The batch of model `key`, made on first use; nil for a model that cannot batch.
    private func batch(_ key: String, _ model: LoadedModel) -> (any ContinuousBatching)? {
        if let entry = batches.first(where: { $0.key == key }) { return entry.batch }
        guard let batch = ContinuousBatches.make(model: model.model, tokenizer: model.tokenizer) else { return nil }
        batches.append((key, batch))
        return batch
    }

    private func enqueue(_ work: @escaping () -> Void) {
        condition.withLock {
            if !started {
                started = true
                // The worker lives as long as the server; the thread holds it.
                let thread = Thread { self.loop() }
                thread.name = "kiln-inference"
                thread.stackSize = 8 << 20
                thread.start()
            }
            pending.append(work)
            condition.signal()
        }
    }

    /// The model at `base` with the PEFT adapter folder `adapter` applied unmerged, loaded once and then reused.
    /// - Throws: load errors (a bad file, an adapter for another base).
    func model(base: URL, adapter: URL?) async throws -> LoadedModel {
        let key = Self.key(base: base, adapter: adapter)
        return try await withCheckedThrowingContinuation { continuation in
            enqueue { [self] in
                if let index = loaded.firstIndex(where: { $0.key == key }) {
                    let entry = loaded.remove(at: index)
                    loaded.append(entry)
                    continuation.resume(returning: entry.model)
                    return
                }
                do {
                    let updates = try adapter.map { LoRAAdapter.updates([try LoRAAdapter(folder: $0)]) } ?? [:]
                    let model = try LoadedModel(folder: base, adapters: updates)
                    loaded.append((key, model))
                    if loaded.count > capacity { loaded.removeFirst() }
                    continuation.resume(returning: model)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Generates after `promptIds` with model `key`, streaming each token; ends early once `cancel` is set.
    func generate(_ model: LoadedModel, key: String, promptIds: [Int], options: GenerationOptions,
                  cancel: StopSignal) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        continuation.onTermination = { _ in cancel.set() }
        let sequence = BatchedSequence(promptIds: promptIds, options: options, stop: cancel,
                                       onToken: { id, delta in continuation.yield(.token(id: id, delta: delta)) },
                                       onFinish: { outcome in
                                           switch outcome {
                                           case .success(let result):
                                               continuation.yield(.finished(result))
                                               continuation.finish()
                                           case .failure(let error):
                                               continuation.finish(throwing: error)
                                           }
                                       })
        enqueue { [self] in
            guard !cancel.isSet else {
                continuation.finish()
                return
            }
            if batch(key, model) != nil {
                // Admitted after this turn's other arrivals are in, so those for one model prefill together.
                arrivals.append((key, sequence))
                return
            }
            // A model whose cache cannot move rows runs alone, start to end.
            do {
                let result = try Generator(model: model.model, tokenizer: model.tokenizer)
                    .generate(promptIds: promptIds, options: options, stop: cancel) { id, delta in continuation.yield(.token(id: id, delta: delta)) }
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }
}
