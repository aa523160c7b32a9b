// The server's model runner: loading and generation are seconds of CPU, so they run on one thread of their own, in
// arrival order, never on the async executors that answer other requests. Loaded models stay in a small
// least-recently-used set keyed by base and adapter, so a chat after a chat costs no load.
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
    private var loaded: [(key: String, model: LoadedModel)] = []
    /// Models kept loaded at once; a GGUF base is memory-mapped, so each costs little beyond its adapter.
    let capacity: Int

    private var started = false

    /// A worker whose thread starts with its first request.
    init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// Requests waiting behind the one running.
    var queueLength: Int { condition.withLock { pending.count } }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let work = pending.removeFirst()
            condition.unlock()
            work()
        }
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
        let key = base.path + "|" + (adapter?.path ?? "")
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

    /// Generates after `promptIds`, streaming each token; ends early once `cancel` is set.
    func generate(_ model: LoadedModel, promptIds: [Int], options: GenerationOptions, cancel: StopSignal) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        continuation.onTermination = { _ in cancel.set() }
        enqueue {
            guard !cancel.isSet else {
                continuation.finish()
                return
            }
            do {
                let generator = Generator(model: model.model, tokenizer: model.tokenizer)
                let result = try generator.generate(promptIds: promptIds, options: options, stop: cancel) { id, delta in
                    continuation.yield(.token(id: id, delta: delta))
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
