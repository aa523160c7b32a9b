// The demo's fine-tuning run: SmolLM2 trained on the demo's recipe instructions the first time `kiln demo` starts
// (under a minute on two cores, with a progress line), then kept in the data folder like any run, so later starts
// open at once with a finished run to compare, chat with and correct.
import Foundation
import KilnAPI
import KilnData
import KilnModels
import Logging

/// Trains (once) and finds the demo run.
public enum DemoRun {
    /// The run's settings: small and quick, with a rate high enough that 20 items visibly change the answers.
    static var request: TrainingJobRequest {
        var body = TrainingJobRequest()
        (body.loraR, body.loraAlpha, body.learningRate, body.epochs, body.microBatchSize, body.maxLength) = (8, 16, 1e-3, 4, 4, 256)
        body.checkpointEvery = 5
        return body
    }

    /// Makes sure the demo run on `recipe-instructions` has succeeded, training or resuming it here if not; `progress`
    /// gets a line per second while it trains.
    /// - Returns: the run's id, or nil when the default model is not installed (the demo then has no run).
    @discardableResult
    public static func ensure(_ services: KilnServices, models: URL?, progress: @escaping @Sendable (String) -> Void) async throws -> Int? {
        guard DefaultModel.locate() != nil, let curator = try await services.accounts.user(named: "curator") else { return nil }
        let datanet = try await services.datanets.get("recipe-instructions")
        let catalog = ModelCatalog(directory: models)
        var job = try await services.jobs.list(limit: 500).last { $0.datanet == datanet.slug && $0.owner == curator.username }
        if job == nil {
            guard let version = try await services.versions.list(datanet).map(\.number).max() else { return nil }
            job = try await RunQueue.create(services: services, catalog: catalog, user: curator, datanet: datanet, number: version, body: request)
        }
        guard var job else { return nil }
        if job.state == .succeeded { return job.id }
        // A demo stopped while training left its run running or interrupted; it continues from its last checkpoint.
        try await services.jobs.markInterrupted()
        if job.state != .queued, let resumed = try await services.jobs.resume(job.id) { job = resumed }
        guard let claimed = try await services.jobs.claimNext(), claimed.id == job.id else { return nil }
        // The progress line says how it goes; only problems are logged, so no log line breaks into it.
        var logger = Logger(label: "kiln.demo")
        logger.logLevel = .warning
        let runner = JobRunner(services: services, catalog: catalog, logger: logger)
        let watcher = Task {
            while !Task.isCancelled {
                if let current = try? await services.jobs.job(claimed.id), case .object(let p)? = current.progress.flatMap({ JSONValue(parsing: $0) }),
                   case .number(let step)? = p["step"], case .number(let total)? = p["total_steps"] {
                    let loss: String = if case .number(let l)? = p["loss"] { String(format: "%.3f", l) } else { "–" }
                    progress("Training the demo model: step \(Int(step))/\(Int(total)), loss \(loss)")
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await runner.execute(claimed)
        watcher.cancel()
        let finished = try await services.jobs.job(claimed.id)
        return finished?.state == .succeeded ? claimed.id : nil
    }
}
