// Queuing a run: the one path the API, the web form and the demo take. The request is checked against the node (the
// Datanet's kind, the base, scheduler, every range, the base's real module names) and the run spec stored with the job;
// nothing is stored when any check fails.
import Foundation
import KilnData
import KilnTrain

/// Creates training jobs.
enum RunQueue {
    /// Checks `body` and stores a queued job training `datanet` version `number` for `user`.
    /// - Throws: `DataError.badRequest` naming what is wrong, `.notFound` for a missing version.
    static func create(services: KilnServices, catalog: ModelCatalog, user: User, datanet: Datanet, number: Int,
                       body: TrainingJobRequest) async throws -> TrainingJob {
        let checked = try await check(services: services, catalog: catalog, datanet: datanet, number: number, body: body)
        var spec = checked.spec
        spec.baseSHA256 = try FileHash.baseModel(checked.base)
        let stored = spec
        let runs = services.dataDirectory.appendingPathComponent("runs")
        // A run on a private Datanet is private too: its curve, answers and adapter would show what the data holds.
        return try await services.jobs.create(owner: user, datanet: datanet, version: number, base: body.base,
                                              isPrivate: body.isPrivate || datanet.isPrivate) { id in
            let folder = runs.appendingPathComponent("job-\(id)").path
            return (String(decoding: try JSONEncoder().encode(stored), as: UTF8.self), folder)
        }
    }

    /// Checks `body` against the node and returns the base's path, the version's header and the run spec (without the
    /// base's hash, which `create` adds): what the estimate checks too, so it refuses what a start would refuse.
    /// - Throws: `DataError.badRequest` naming what is wrong, `.notFound` for a missing version.
    static func check(services: KilnServices, catalog: ModelCatalog, datanet: Datanet, number: Int,
                      body: TrainingJobRequest) async throws -> (base: URL, version: DatasetVersion, spec: TrainingSpec) {
        guard datanet.kind == .text else {
            throw DataError.badRequest(code: "not_text", message: "Only text Datanets can be trained on; \(datanet.slug) holds \(datanet.kind.rawValue).")
        }
        let version = try await services.versions.header(datanet, number: number)
        guard let base = catalog.path(body.base) else {
            throw DataError.badRequest(code: "unknown_base", message: "This node has no base model named \"\(body.base.prefix(128))\".")
        }
        guard let scheduler = LRSchedule(rawValue: body.lrScheduler) else {
            throw DataError.badRequest(code: "bad_field",
                                       message: "Field \"lr_scheduler\" must be one of \(LRSchedule.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard body.seed >= 0 else { throw DataError.badRequest(code: "bad_field", message: "Field \"seed\" must be a non-negative integer.") }
        let spec = TrainingSpec(
            base: base.path, baseSHA256: "", train: DataSource(path: "", sha256: "", datanet: datanet.slug, version: version.number,
                                                              merkleRoot: version.merkleRoot),
            validation: nil, initAdapter: nil, loraR: body.loraR, loraAlpha: body.loraAlpha, useRSLoRA: body.useRSLoRA,
            loraDropout: body.loraDropout, targetModules: body.targetModules, learningRate: body.learningRate, epochs: body.epochs,
            maxSteps: body.maxSteps, microBatchSize: body.microBatchSize, gradientAccumulation: body.gradientAccumulation,
            maxLength: body.maxLength, scheduler: scheduler, warmupSteps: body.warmupSteps, weightDecay: body.weightDecay,
            maxGradNorm: body.maxGradNorm, seed: UInt64(body.seed), shuffle: body.shuffle, qlora: body.qlora, doubleQuantization: false,
            checkpointEvery: body.checkpointEvery, backend: "kiln")
        if let problem = APIController.problem(spec) {
            throw DataError.badRequest(code: "bad_field", message: "Field \"\(problem.field)\" \(problem.rule).")
        }
        try await ModuleNames.shared.check(body.targetModules, base: base)
        return (base, version, spec)
    }
}
