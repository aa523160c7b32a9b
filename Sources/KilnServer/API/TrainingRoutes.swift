// Training jobs over the API: queue a LoRA/QLoRA run on a published text version, follow it, cancel it. The node's
// `JobRunner` does the work; the run's spec takes the node's defaults for what the request leaves out.
import Foundation
import HTTPTypes
import Hummingbird
import KilnAPI
import KilnData
import KilnTrain

/// The body of `POST /api/datanets/:slug/versions/:number/train`; every field optional.
struct TrainingJobRequest: Decodable, Sendable {
    var base = "default"
    var loraR = 8, loraAlpha = 16.0, loraDropout = 0.0, useRSLoRA = false
    var targetModules = ["all-linear"]
    var learningRate = 2e-4, epochs = 3, maxSteps: Int?
    var microBatchSize = 4, gradientAccumulation = 1, maxLength = 512
    var lrScheduler = "linear", warmupSteps = 0, weightDecay = 0.0, maxGradNorm = 1.0
    var seed = 42, shuffle = false, qlora: String?, checkpointEvery = 50
    /// `POST /api/runs` names the version in the body (the older route, in its path).
    var datanet: String?, version: Int?
    var isPrivate = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case base, epochs, seed, shuffle, qlora
        case loraR = "lora_r", loraAlpha = "lora_alpha", loraDropout = "lora_dropout", useRSLoRA = "use_rslora"
        case targetModules = "target_modules", learningRate = "learning_rate", maxSteps = "max_steps"
        case microBatchSize = "micro_batch_size", gradientAccumulation = "gradient_accumulation", maxLength = "max_length"
        case lrScheduler = "lr_scheduler", warmupSteps = "warmup_steps", weightDecay = "weight_decay", maxGradNorm = "max_grad_norm"
        case checkpointEvery = "checkpoint_every"
        case datanet, version
        case isPrivate = "private"
    }

    /// The node's defaults for every setting.
    init() {}

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func take<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws { if let given = try c.decodeIfPresent(T.self, forKey: key) { value = given } }
        try take(.base, &base)
        try take(.loraR, &loraR)
        try take(.loraAlpha, &loraAlpha)
        try take(.loraDropout, &loraDropout)
        try take(.useRSLoRA, &useRSLoRA)
        try take(.targetModules, &targetModules)
        try take(.learningRate, &learningRate)
        try take(.epochs, &epochs)
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps)
        try take(.microBatchSize, &microBatchSize)
        try take(.gradientAccumulation, &gradientAccumulation)
        try take(.maxLength, &maxLength)
        try take(.lrScheduler, &lrScheduler)
        try take(.warmupSteps, &warmupSteps)
        try take(.weightDecay, &weightDecay)
        try take(.maxGradNorm, &maxGradNorm)
        try take(.seed, &seed)
        try take(.shuffle, &shuffle)
        qlora = try c.decodeIfPresent(String.self, forKey: .qlora)
        try take(.checkpointEvery, &checkpointEvery)
        datanet = try c.decodeIfPresent(String.self, forKey: .datanet)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        try take(.isPrivate, &isPrivate)
    }
}

extension APIController {
    @Sendable func queueTraining(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await decodeBody(TrainingJobRequest.self, request)
        guard body.datanet == nil && body.version == nil else {
            throw DataError.badRequest(code: "bad_field", message: "This route takes the Datanet and version from its path; POST /api/runs takes them in the body.")
        }
        let job = try await startRun(user: user, datanet: try await datanet(context), number: try context.numberParameter("number"), body: body)
        return JSON.response(TrainingJobBody(job), status: .accepted)
    }

    /// Queues a run (`RunQueue.create`) and wakes the training worker.
    func startRun(user: User, datanet: Datanet, number: Int, body: TrainingJobRequest) async throws -> TrainingJob {
        guard let training else { throw DataError.unprocessable(code: "training_disabled", message: "Training is not enabled on this node.") }
        let job = try await RunQueue.create(services: services, catalog: training.catalog, user: user, datanet: datanet, number: number, body: body)
        await training.runner.start()
        return job
    }

    /// What is wrong with a spec's values, or nil.
    static func problem(_ spec: TrainingSpec) -> TrainingSpecError? {
        do {
            try spec.validate()
            return nil
        } catch {
            return error
        }
    }

    @Sendable func listJobs(_ request: Request, context: KilnContext) async throws -> Response {
        let visible = try await services.jobs.list().filter { RunAccess.canRead($0, context) }
        return JSON.response(PageBody(items: visible.map { TrainingJobBody($0, withSpec: false) }, next: nil))
    }

    @Sendable func showJob(_ request: Request, context: KilnContext) async throws -> Response {
        guard let job = try await services.jobs.job(try context.numberParameter("id")), RunAccess.canRead(job, context) else {
            throw DataError.notFound("No such training job.")
        }
        return JSON.response(TrainingJobBody(job))
    }

    @Sendable func cancelJob(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let id = try context.numberParameter("id")
        guard let job = try await services.jobs.job(id), job.datanet == datanet.slug, RunAccess.canRead(job, context) else {
            throw DataError.notFound("\(datanet.slug) has no training job \(id).")
        }
        return try await cancel(job)
    }

    /// Asks a queued or running job to stop (both cancel routes).
    /// - Throws: `DataError.conflict` once it has ended.
    func cancel(_ job: TrainingJob) async throws -> Response {
        guard job.state == .queued || job.state == .running else {
            throw DataError.conflict(code: "job_finished", message: "Run \(job.id) is \(job.state.rawValue); only queued or running runs can be cancelled.")
        }
        return JSON.response(TrainingJobBody(try await services.jobs.requestCancel(job.id)!))
    }
}

extension TrainingJobBody {
    /// The API shape of a stored job.
    init(_ job: TrainingJob, withSpec: Bool = true) {
        self.init(id: job.id, owner: job.owner, datanet: job.datanet, version: job.version, base: job.base, state: job.state.rawValue,
                  progress: job.progress.flatMap { JSONValue(parsing: $0) }, error: job.error, adapterSHA256: job.adapterSHA256,
                  ledgerSeq: job.ledgerSeq, cancelRequested: job.cancelRequested, createdAt: ISO8601.string(milliseconds: job.createdAt),
                  startedAt: job.startedAt.map(ISO8601.string(milliseconds:)), finishedAt: job.finishedAt.map(ISO8601.string(milliseconds:)),
                  spec: withSpec ? JSONValue(parsing: job.spec) : nil)
        isPrivate = job.isPrivate
        model = job.state == .succeeded ? "\(ServedModels.baseID(job.base)):run-\(job.id)" : nil
    }
}
