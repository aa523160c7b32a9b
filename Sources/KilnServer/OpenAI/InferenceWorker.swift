// The server's model runner: loading and generation are seconds of CPU, so they run on one thread of their own, never
// on the async executors that answer other requests. Generation is continuously batched: the requests for one base
// decode together, a new one joining at the next step. A base is loaded once; each adapter over it is attached beside
// its weights (a slot of the base's `AdapterSlots`) and applied unmerged to the rows of the requests that name it, so
// requests for a base and any number of its adapters share one batch. Families without per-row adapters load a model
// per adapter, each its own batch, and the batches take turns step by step. Loaded bases and attached adapters stay in
// small least-recently-used sets, so a chat after a chat costs no load.
import Foundation
import KilnModels
import KilnTrain

/// A model ready to generate: the loaded base (with the adapter merged in, for families without slots), the batch its
/// requests decode in, and the adapter slot its rows use (0: the base alone).
struct ServingModel: Sendable {
    let loaded: LoadedModel
    let key: String
    let slot: Int
}

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
    private var widest = 0
    /// Sequences that arrived this turn, admitted together per model; touched by the worker thread only.
    private var arrivals: [(key: String, sequence: BatchedSequence)] = []
    private var loaded: [(key: String, model: LoadedModel)] = []
    /// Adapters attached to loaded bases, by (base, adapter) key; touched by the worker thread only.
    private var slots: [(key: String, slot: Int, model: LoadedModel)] = []
    /// Models kept loaded at once; a GGUF base is memory-mapped, so each costs little beyond its adapter.
    let capacity: Int
    /// Adapters kept attached at once; each costs its own small matrices only.
    let adapterCapacity = 64

    private var started = false

    /// How loaded GGUF models multiply their quantised matrices.
    let arithmetic: QuantizedArithmetic

    /// A worker whose thread starts with its first request.
    init(capacity: Int = 4, arithmetic: QuantizedArithmetic = .exact) {
        self.capacity = capacity
        self.arithmetic = arithmetic
    }

    /// Requests and loads waiting for the worker's next turn.
    var queueLength: Int { condition.withLock { pending.count } }

    /// Sequences decoding in the running batches.
    var activeSequences: Int { condition.withLock { decoding } }

    /// The most sequences one batch has decoded at once since the server started.
    var peakBatchSequences: Int { condition.withLock { widest } }

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
            let largest = batches.map(\.batch.count).max() ?? 0
            condition.withLock {
                decoding = active
                widest = max(widest, largest)
            }
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

    /// The model at `base` with the PEFT adapter folder `adapter` applied unmerged: the base loaded once and reused, the
    /// adapter attached to it once (or, for a family without slots, a model of its own).
    /// - Throws: load errors (a bad file, an adapter for another base).
    func model(base: URL, adapter: URL?) async throws -> ServingModel {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { [self] in
                continuation.resume(with: Result { try serving(base: base, adapter: adapter) })
            }
        }
    }

    /// `model(base:adapter:)` on the worker thread.
    private func serving(base: URL, adapter: URL?) throws -> ServingModel {
        let shared = try loadedModel(Self.key(base: base, adapter: nil)) { try LoadedModel(folder: base, arithmetic: arithmetic) }
        // The batch key names this loaded instance: a base reloaded after eviction has new slots and a batch of its own.
        let baseKey = Self.key(base: base, adapter: nil) + "#\(ObjectIdentifier(shared.adapterSlots).hashValue)"
        guard let adapter else { return ServingModel(loaded: shared, key: baseKey, slot: 0) }
        guard shared.adapterSlots.isSupported else {
            let key = Self.key(base: base, adapter: adapter)
            let own = try loadedModel(key) { try LoadedModel(folder: base, adapters: LoRAAdapter.updates([try LoRAAdapter(folder: adapter)]), arithmetic: arithmetic) }
            return ServingModel(loaded: own, key: key, slot: 0)
        }
        let adapterKey = Self.key(base: base, adapter: adapter)
        if let index = slots.firstIndex(where: { $0.key == adapterKey }) {
            let entry = slots.remove(at: index)
            slots.append(entry)
            return ServingModel(loaded: shared, key: baseKey, slot: entry.slot)
        }
        let slot = try shared.attach(LoRAAdapter.updates([try LoRAAdapter(folder: adapter)]))
        slots.append((adapterKey, slot, shared))
        if slots.count > adapterCapacity {
            // The least recently named adapter leaves; a request still decoding with it would finish on the base alone,
            // so the set is far larger than the requests a node decodes at once.
            let evicted = slots.removeFirst()
            evicted.model.adapterSlots.detach(evicted.slot)
        }
        return ServingModel(loaded: shared, key: baseKey, slot: slot)
    }

    /// The model loaded under `key`, loading it with `load` on first use; the least recently used leaves past `capacity`.
    private func loadedModel(_ key: String, _ load: () throws -> LoadedModel) throws -> LoadedModel {
        if let index = loaded.firstIndex(where: { $0.key == key }) {
            let entry = loaded.remove(at: index)
            loaded.append(entry)
            return entry.model
        }
        let model = try load()
        loaded.append((key, model))
        if loaded.count > capacity {
            let gone = loaded.removeFirst()
            slots.removeAll { $0.key.hasPrefix(gone.key) }
        }
        return model
    }

    /// Generates after `promptIds` with `model`, streaming each token; ends early once `cancel` is set.
    func generate(_ model: ServingModel, promptIds: [Int], options: GenerationOptions,
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
        sequence.adapterSlot = model.slot
        let key = model.key
        enqueue { [self] in
            guard !cancel.isSet else {
                continuation.finish()
                return
            }
            if batch(key, model.loaded) != nil {
                // Admitted after this turn's other arrivals are in, so those for one model prefill together.
                arrivals.append((key, sequence))
                return
            }
            // A model whose cache cannot move rows runs alone, start to end.
            do {
                let generator = Generator(model: model.loaded.model, tokenizer: model.loaded.tokenizer)
                let result = try AdapterSlots.$routing.withValue(model.slot == 0 ? nil : [model.slot]) {
                    try generator.generate(promptIds: promptIds, options: options, stop: cancel) { id, delta in
                        continuation.yield(.token(id: id, delta: delta))
                    }
                }
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }
}
