// What a run would cost before it starts: optimiser steps, tokens, time and memory, for the form's "Estimate" box
// and for scripts. Tokens come from tokenizing (up to 1,000 of) the version's training items with the base's own
// tokenizer; the speed is what earlier runs on this base measured on this node, or, before any, the node's measured
// prompt speed through the engine divided by the cost of a training step over a forward pass; memory adds the base,
// the adapter's weights, gradients and AdamW moments, and the activations each layer keeps for backward.
import Foundation
import Hummingbird
import KilnAPI
import KilnData
import KilnModels

/// The figures of `POST /api/runs/estimate`.
struct RunEstimateBody: Codable, Sendable, Equatable {
    var trainItems: Int
    var steps: Int
    var tokens: Int
    var tokensPerSecond: Double
    /// `earlier_runs` (measured by runs on this base) or `engine` (from the engine's prompt speed on this node).
    var speedSource: String
    var seconds: Double
    var memoryBytes: Int
    var trainableParameters: Int

    enum CodingKeys: String, CodingKey {
        case steps, tokens, seconds
        case trainItems = "train_items", tokensPerSecond = "tokens_per_second", speedSource = "speed_source"
        case memoryBytes = "memory_bytes", trainableParameters = "trainable_parameters"
    }
}

extension APIController {
    @Sendable func estimateRun(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        let body = try await decodeBody(TrainingJobRequest.self, request)
        guard let slug = body.datanet, let number = body.version else {
            throw DataError.badRequest(code: "bad_field", message: "Fields \"datanet\" (a slug) and \"version\" (a published version number) are required.")
        }
        let datanet = try await readableDatanet(slug, context)
        guard let worker, let training else { throw DataError.unprocessable(code: "training_disabled", message: "Training is not enabled on this node.") }
        let (base, version, _) = try await RunQueue.check(services: services, catalog: training.catalog, datanet: datanet, number: number,
                                                          body: body)
        let facts = try ModelFacts.of(base)
        let serving = try await worker.model(base: base, adapter: nil)
        let model = serving.loaded
        // Token lengths of the first training items, as the trainer cuts them at max_length.
        var lengths: [Int] = []
        try await VersionExportLine.pages(services.versions, datanet, number: number) { page in
            for line in page where line.split == "train" && lengths.count < 1000 {
                let text = line.fields.values.compactMap { value -> String? in if case .string(let s) = value { s } else { nil } }.joined(separator: "\n")
                lengths.append(min(body.maxLength, model.tokenizer.encode(text).count + 12))
            }
        }
        let items = version.trainCount
        let meanLength = lengths.isEmpty ? 0 : Double(lengths.reduce(0, +)) / Double(lengths.count)
        let perStep = max(1, body.microBatchSize * body.gradientAccumulation)
        let stepsPerEpoch = max(1, (items + perStep - 1) / perStep)
        // As Trainer: max_steps, when given, overrides the epochs (the data repeats as often as it takes).
        let steps = body.maxSteps ?? stepsPerEpoch * body.epochs
        let tokens = Int(meanLength * Double(body.maxSteps.map { $0 * perStep } ?? items * body.epochs))
        let (speed, source) = try await trainingSpeed(base: body.base, qlora: body.qlora != nil, serving: serving, worker: worker)
        let shape = RunShape(facts: facts, rank: body.loraR, targets: body.targetModules)
        // QLoRA holds an unquantised base in 4 bits (about a seventh of its Float32 size); a GGUF base stays as stored.
        let loaded = ModelFacts.int("memory_bytes", in: facts) ?? 0
        let memory = shape.memoryBytes(batch: body.microBatchSize, length: Int(meanLength.rounded(.up)), qlora: body.qlora != nil,
                                       baseBytes: body.qlora != nil && !ModelRegistry.isGGUF(base) ? loaded / 7 : loaded)
        return JSON.response(RunEstimateBody(trainItems: items, steps: steps, tokens: tokens, tokensPerSecond: speed, speedSource: source,
                                             seconds: Double(tokens) / max(speed, 1e-9), memoryBytes: memory,
                                             trainableParameters: shape.trainableParameters))
    }

    /// Training tokens per second for `base` on this node: the median of earlier finished runs' last logged speed, or an
    /// engine measurement (prompt speed over 128 tokens, divided by 3 for forward + backward, by 4 with QLoRA's recompute).
    func trainingSpeed(base name: String, qlora: Bool, serving: ServingModel, worker: InferenceWorker) async throws -> (Double, String) {
        let speeds = try await services.jobs.list(limit: 200).compactMap { job -> Double? in
            guard job.base == name, job.state == .succeeded, (job.spec.contains("\"qlora\":\"nf4\"")) == qlora,
                  case .number(let speed)? = job.progress.flatMap({ JSONValue(parsing: $0) })?["tokens_per_second"] else { return nil }
            return speed
        }.sorted()
        if !speeds.isEmpty { return (speeds[speeds.count / 2], "earlier_runs") }
        // The form asks again on every change; the engine's speed is measured once per base and process.
        let cacheKey = "\(name)|\(qlora)"
        if let known = EngineSpeeds.shared.value(cacheKey) { return (known, "engine") }
        let prompt = Array(serving.loaded.tokenizer.encode(String(repeating: "The oven is hot and the bread is rising. ", count: 16)).prefix(128))
        let started = Date()
        for try await _ in worker.generate(serving, promptIds: prompt, options: GenerationOptions(maxNewTokens: 1), cancel: StopSignal()) {}
        let promptSpeed = Double(prompt.count) / max(Date().timeIntervalSince(started), 1e-6)
        let speed = promptSpeed / (qlora ? 4 : 3)
        EngineSpeeds.shared.set(cacheKey, speed)
        return (speed, "engine")
    }
}

/// Training speeds derived from engine measurements, by base and QLoRA.
final class EngineSpeeds: @unchecked Sendable {
    /// One per process.
    static let shared = EngineSpeeds()
    private let lock = NSLock()
    private var speeds: [String: Double] = [:]

    func value(_ key: String) -> Double? { lock.withLock { speeds[key] } }
    func set(_ key: String, _ speed: Double) { lock.withLock { speeds[key] = speed } }
}

/// The sizes that set a run's memory, from a base's facts.
struct RunShape {
    let layers, hidden, intermediate, heads, vocab, kvWidth: Int
    let trainableParameters: Int

    init(facts: [ModelFacts.Fact], rank: Int, targets: [String]) {
        func fact(_ key: String) -> Int { ModelFacts.int(key, in: facts) ?? 0 }
        (layers, hidden, intermediate, heads, vocab) = (fact("layers"), fact("hidden_size"), fact("intermediate_size"), fact("attention_heads"),
                                                        fact("vocab_size"))
        kvWidth = heads > 0 ? hidden / heads * max(1, fact("kv_heads")) : hidden
        // Each adapted linear adds rank × (in + out); all-linear adapts the four attention and three MLP projections.
        let linears: [String: (Int, Int)] = ["q_proj": (hidden, hidden), "k_proj": (hidden, kvWidth), "v_proj": (hidden, kvWidth),
                                             "o_proj": (hidden, hidden), "gate_proj": (hidden, intermediate), "up_proj": (hidden, intermediate),
                                             "down_proj": (intermediate, hidden)]
        let chosen = targets == ["all-linear"] ? Array(linears.values) : targets.compactMap { linears[$0] }
        let perLayer = chosen.reduce(0) { $0 + rank * ($1.0 + $1.1) }
        trainableParameters = perLayer * layers
    }

    /// Peak bytes: the base as loaded, the adapter with its gradient and two AdamW moments in Float32, the activations
    /// of the stored layers (all but the recomputed ones; QLoRA recomputes every layer and keeps only their inputs), and
    /// the logits with their gradient.
    func memoryBytes(batch: Int, length: Int, qlora: Bool, baseBytes: Int) -> Int {
        let tokens = batch * length
        // Per token and layer: gate, up and their product; the attention probabilities; six hidden-wide activations.
        let layerBytes = 4 * (3 * intermediate + heads * length + 6 * hidden) * tokens
        let activations = qlora ? layerBytes + layers * hidden * 4 * tokens : layers * layerBytes
        return baseBytes + 16 * trainableParameters + activations + 2 * 4 * vocab * tokens
    }
}
