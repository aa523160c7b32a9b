// One fine-tuning run with HF Trainer 5.24's semantics (Tests/Fixtures/README.md §10): micro-batches in file order
// (or a seeded shuffle), right-padded; per optimiser step the loss Σ token CE / the step's label tokens, backward per
// micro-batch, clipping by global norm, the schedule's rate, torch AdamW with decoupled decay; validation after each
// epoch; checkpoints every N steps; metrics.jsonl in Trainer's keys. `resume` continues from the newest checkpoint
// exactly as if the run had not stopped.
import Foundation
import KilnModels
import KilnTensor

/// Why a run could not start or continue.
public enum TrainingRunError: Error, Equatable, Sendable {
    /// The training file has no items.
    case noTrainingItems(path: String)
    /// A data file cannot be read.
    case unreadableData(path: String, reason: String)
    /// A checkpoint folder is damaged.
    case badCheckpoint(path: String, reason: String)
    /// `resume` found no run spec in the folder.
    case notARun(path: String)
}

extension TrainingRunError: LocalizedError {
    /// A sentence naming the file at fault.
    public var errorDescription: String? {
        switch self {
        case .noTrainingItems(let path): "\(path) has no training items."
        case .unreadableData(let path, let reason): "Cannot read \(path): \(reason)."
        case .badCheckpoint(let path, let reason): "The checkpoint \(path) cannot be resumed: \(reason)."
        case .notARun(let path): "\(path) holds no run_spec.json: it is not the output folder of a kiln train run."
        }
    }
}

/// A prepared run: base, graph, adapter, data and optimiser state.
public final class TrainingRun {
    /// The spec it runs.
    public let spec: TrainingSpec
    /// The output folder (adapter, metrics.jsonl, checkpoints/).
    public let output: URL
    /// The trainable pairs.
    public let adapter: AdapterParameters
    /// Training items as read (ids and hashes go into the run's ledger entry).
    public let trainItems: [TrainingItem]
    /// The step plan and the number of optimiser steps the run takes.
    public let plan: StepPlan
    public let totalSteps: Int
    /// Optimiser steps completed.
    public private(set) var completedSteps = 0

    private let formatter: TrainingFormatter
    private let trainRows: [TrainingRow]
    private let validationRows: [TrainingRow]
    private var stepper: OptimizerStep
    private var dropout: DropoutSource?

    /// Loads the base, formats the data and attaches the adapter (PEFT's init from `spec.seed`, or `spec.initAdapter`).
    /// - Throws: `TrainingSpecError`, `TrainingRunError`, `TrainingDataError`, `LoRAError`, `TrainingGraphError`, or the
    ///   loader's errors naming the file at fault.
    public init(spec: TrainingSpec, output: URL) throws {
        try spec.validate()
        self.spec = spec
        self.output = output
        let base = URL(fileURLWithPath: spec.base)
        let formatter = try TrainingFormatter(base: base, maxLength: spec.maxLength)
        self.formatter = formatter
        let items = try Self.readItems(spec.train.path)
        guard !items.isEmpty else { throw TrainingRunError.noTrainingItems(path: spec.train.path) }
        trainItems = items
        trainRows = try items.map(formatter.row)
        validationRows = try spec.validation.map { try Self.readItems($0.path).map(formatter.row) } ?? []
        let checkpoint = try BaseCheckpoint.load(base)
        var graph = try TrainingGraphs.make(checkpoint, nf4: spec.qlora == "nf4" ? NF4Options(doubleQuantization: spec.doubleQuantization) : nil)
        graph.recomputedLayers = spec.recomputedLayers(quantised: checkpoint.isGGUF)
        let initial = try spec.initAdapter.map { try LoRAAdapter(folder: URL(fileURLWithPath: $0)) }
        adapter = try AdapterParameters.attach(to: &graph, config: spec.loraConfig, initial: initial, seed: spec.seed)
        plan = StepPlan(items: trainRows.count, microBatch: spec.microBatchSize, accumulation: spec.gradientAccumulation, epochs: spec.epochs)
        totalSteps = spec.maxSteps ?? plan.totalSteps
        stepper = OptimizerStep(graph: graph, adapter: adapter, weightDecay: spec.weightDecay, maxGradNorm: spec.maxGradNorm)
        dropout = spec.loraDropout > 0 ? DropoutSource(seed: spec.seed &+ 0x5EED) : nil
    }

    /// Reopens the run in `output` at its newest checkpoint (or from the start when it has none).
    /// - Throws: `TrainingRunError.notARun` or `.badCheckpoint`, or what `init(spec:output:)` throws.
    public static func resume(_ output: URL) throws -> TrainingRun {
        guard let spec = try TrainingSpec.saved(in: output) else { throw TrainingRunError.notARun(path: output.path) }
        let run = try TrainingRun(spec: spec, output: output)
        if let checkpoint = try RunCheckpoint.latest(output: output) { try run.restore(checkpoint) }
        return run
    }

    /// Puts a checkpoint's adapter, moments, step and generator state in place.
    /// - Throws: `TrainingRunError.badCheckpoint` when a tensor is missing or misshapen.
    func restore(_ checkpoint: RunCheckpoint) throws {
        let path = output.appendingPathComponent("checkpoints").appendingPathComponent(RunCheckpoint.folderName(step: checkpoint.step)).path
        for (index, parameter) in adapter.parameters.enumerated() {
            guard let values = checkpoint.parameters[parameter.name], values.count == parameter.value.count,
                  let m = checkpoint.expAvg[parameter.name], let v = checkpoint.expAvgSq[parameter.name], m.count == values.count, v.count == values.count else {
                throw TrainingRunError.badCheckpoint(path: path, reason: "\(parameter.name) is missing or has the wrong size")
            }
            parameter.value.storage = values
            stepper.states[index] = AdamWState(expAvg: m, expAvgSq: v, step: checkpoint.adamStep)
        }
        adapter.syncViews()
        if dropout != nil { dropout = DropoutSource(seed: checkpoint.dropoutState) }
        completedSteps = checkpoint.step
    }

    /// Runs the remaining steps, writing metrics.jsonl, checkpoints and finally the adapter into `output`; `observer` sees
    /// every event; `shouldStop` is asked before each step (a cancelled run checkpoints what it completed and returns nil).
    /// - Throws: file-system errors, or `TrainingGraphError` for a batch the model cannot run.
    @discardableResult
    public func run(observer: (TrainingEvent) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> TrainingSummary? {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try spec.write(to: output)
        var metrics = try MetricsFile(output.appendingPathComponent("metrics.jsonl"), keepingThrough: completedSteps)
        func emit(_ event: TrainingEvent) throws {
            if let line = event.metricsLine { try metrics.append(line) }
            observer(event)
        }
        let started = Date(), firstStep = completedSteps
        var tokens = 0
        let trainable = adapter.parameters.reduce(0) { $0 + $1.value.count }
        try emit(.started(totalSteps: totalSteps, trainItems: trainRows.count, validationItems: validationRows.count,
                          trainableParameters: trainable, fromStep: completedSteps))
        var lastEval: Double?
        if completedSteps == 0, !validationRows.isEmpty {
            lastEval = try evaluate()
            try emit(.evaluation(step: 0, epoch: 0, loss: lastEval!))
        }
        var lastLoss = 0.0
        while completedSteps < totalSteps {
            if shouldStop() {
                try checkpoint(emit: emit)
                return nil
            }
            let stepStart = Date()
            let step = completedSteps + 1
            let (epoch, micro) = plan.step(step)
            let order = itemOrder(epoch: epoch)
            let batches = micro.map { microBatch(order: order, index: $0) }
            let rate = spec.scheduler.rate(step: step, totalSteps: totalSteps, warmupSteps: spec.warmupSteps, base: spec.learningRate)
            let (loss, norm) = try stepper.take(batches, rate: rate, dropout: &dropout)
            completedSteps = step
            lastLoss = Double(loss)
            let elapsed = Date().timeIntervalSince(stepStart)
            let stepTokens = batches.reduce(0) { $0 + $1.realTokens }
            tokens += stepTokens
            try emit(.step(StepMetrics(step: step, epoch: epoch, loss: Double(loss), learningRate: rate, gradNorm: Double(norm),
                                       tokensPerSecond: Double(stepTokens) / max(elapsed, 1e-9),
                                       etaSeconds: Date().timeIntervalSince(started) / Double(step - firstStep) * Double(totalSteps - step),
                                       rssBytes: ProcessMemory.residentBytes, totalSteps: totalSteps)))
            let epochEnds = step % plan.stepsPerEpoch.count == 0 || step == totalSteps
            if epochEnds, !validationRows.isEmpty {
                lastEval = try evaluate()
                try emit(.evaluation(step: step, epoch: epoch, loss: lastEval!))
            }
            if step == totalSteps || spec.checkpointEvery > 0 && step % spec.checkpointEvery == 0 { try checkpoint(emit: emit) }
        }
        try adapter.adapter().save(to: output, baseModel: spec.base)
        let adapterFile = output.appendingPathComponent("adapter_model.safetensors")
        let seconds = Date().timeIntervalSince(started)
        let summary = TrainingSummary(steps: completedSteps, finalLoss: lastLoss, finalEvalLoss: lastEval, seconds: seconds,
                                      tokensPerSecond: Double(tokens) / max(seconds, 1e-9), peakRSSBytes: ProcessMemory.peakResidentBytes,
                                      adapterSHA256: try FileHash.sha256(of: adapterFile), adapterPath: output.path)
        try emit(.finished(summary))
        return summary
    }

    private func checkpoint(emit: (TrainingEvent) throws -> Void) throws {
        let epoch = completedSteps == 0 ? 0 : plan.step(completedSteps).epoch
        let folder = try RunCheckpoint.write(step: completedSteps, epoch: epoch, adapter: adapter, states: stepper.states, dropout: dropout,
                                             baseModel: spec.base, output: output)
        try emit(.checkpoint(step: completedSteps, path: folder.path))
    }

    /// Micro-batch `index` of `epoch` (1-based): `microBatchSize` consecutive items of the epoch's order, right-padded.
    func microBatch(epoch: Int, index: Int) -> TokenBatch {
        microBatch(order: itemOrder(epoch: epoch), index: index)
    }

    /// Micro-batch `index` of an epoch whose item order is `order`.
    func microBatch(order: [Int], index: Int) -> TokenBatch {
        let start = index * spec.microBatchSize
        let rows = order[start..<min(order.count, start + spec.microBatchSize)].map { trainRows[$0] }
        let padded = formatter.batch(rows)
        return TokenBatch(inputIds: padded.inputIds, attentionMask: padded.attentionMask, labels: padded.labels)
    }

    /// File order, or a permutation seeded by the run seed and the epoch (the same on resume).
    func itemOrder(epoch: Int) -> [Int] {
        var order = Array(trainRows.indices)
        guard spec.shuffle else { return order }
        var random = DropoutSource(seed: spec.seed &* 0x9E37_79B9 &+ UInt64(epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        return order
    }

    /// Trainer's eval_loss: batches of `microBatchSize` validation rows, each batch's token-mean loss, averaged weighted by rows.
    /// - Throws: `TrainingGraphError` for a batch the model cannot run.
    public func evaluate() throws -> Double {
        var total = 0.0, rows = 0
        var noDropout: DropoutSource? = nil
        for start in stride(from: 0, to: validationRows.count, by: spec.microBatchSize) {
            let slice = Array(validationRows[start..<min(validationRows.count, start + spec.microBatchSize)])
            let padded = formatter.batch(slice)
            let batch = TokenBatch(inputIds: padded.inputIds, attentionMask: padded.attentionMask, labels: padded.labels)
            let tape = Tape(recording: false)
            let result = try stepper.graph.loss(batch, tape: tape, divisor: Float(max(1, batch.labelTokens)), dropout: &noDropout)
            total += Double(result.loss.value.storage[0]) * Double(slice.count)
            rows += slice.count
        }
        return rows == 0 ? .nan : total / Double(rows)
    }

    /// The items of a JSONL file.
    /// - Throws: `TrainingRunError.unreadableData` or `TrainingDataError.badItem`.
    static func readItems(_ path: String) throws -> [TrainingItem] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TrainingRunError.unreadableData(path: path, reason: error.localizedDescription)
        }
        var items: [TrainingItem] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            items.append(try TrainingItem(jsonLine: String(line), line: number + 1))
        }
        return items
    }
}
