// Builds the HTTP application: middleware, API routes and web pages over one set of stores.
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KilnData
import KilnModels
import Logging

/// Where and how `kiln serve` listens.
public struct ServerOptions: Sendable {
    /// The address to bind.
    public var host: String
    /// The port to bind; 0 picks a free one.
    public var port: Int
    /// The log level.
    public var logLevel: Logger.Level
    /// Seconds a connection may stay silent (no request, or a request that stops arriving) before it is closed.
    public var idleTimeout: Int
    /// The most connections served at once; further clients wait in the listen backlog until one closes.
    public var maxConnections: Int
    /// Login and registration budgets.
    public var attempts: AttemptLimits
    /// The Host allow-list and proxy trust; `nil` allowed hosts on a loopback address means loopback names only.
    public var guardOptions: RequestGuardOptions
    /// Base models training jobs may name besides `default` (each folder or .gguf file in it, by name).
    public var modelsDirectory: URL?
    /// How served GGUF models multiply their quantised matrices: float32 as transformers, or llama.cpp's integer
    /// arithmetic with `kiln serve --fast`.
    public var arithmetic: QuantizedArithmetic = .exact

    /// Creates options.
    public init(host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info, idleTimeout: Int = 30,
                maxConnections: Int = 4096, attempts: AttemptLimits = AttemptLimits(),
                guardOptions: RequestGuardOptions = RequestGuardOptions()) {
        self.attempts = attempts
        self.guardOptions = guardOptions
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

extension ServerOptions {
    /// The guard with the loopback default applied: a node bound to loopback answers only to loopback names.
    var effectiveGuard: RequestGuardOptions {
        var options = guardOptions
        if options.allowedHosts == nil, RequestGuardOptions.isLoopback(host) {
            options.allowedHosts = RequestGuardOptions.loopbackHosts
        }
        return options
    }
}

/// The router with every Kiln route, for the server and for tests (`app.test(.router)`).
public func buildRouter(_ services: KilnServices, attempts: AttemptLimits = AttemptLimits(),
                        guardOptions: RequestGuardOptions = RequestGuardOptions(), training: TrainingNode? = nil,
                        builtinDocs: [URL] = [], arithmetic: QuantizedArithmetic = .exact) -> Router<KilnContext> {
    let limiter = AttemptLimiter(attempts)
    let router = Router(context: KilnContext.self)
    // Middleware applies to routes added after it, so it is added first; the security headers go outermost so that
    // error responses carry them too.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: RequestGuardMiddleware(options: guardOptions))
    router.add(middleware: AuthMiddleware(accounts: services.accounts))
    let worker = InferenceWorker(arithmetic: arithmetic)
    let knowledge = KnowledgeService(store: services.knowledge, folder: KnowledgeService.folder(in: services.dataDirectory))
    if !builtinDocs.isEmpty { Task { await knowledge.syncBuiltin(builtinDocs) } }
    APIController(services: services, attempts: limiter, training: training, worker: worker, knowledge: knowledge).addRoutes(to: router)
    WebController(services: services, attempts: limiter, training: training, knowledge: knowledge).addRoutes(to: router)
    OpenAIController(models: ServedModels(catalog: training?.catalog ?? ModelCatalog(directory: nil), jobs: services.jobs),
                     worker: worker, knowledge: knowledge).addRoutes(to: router)
    let jobs = services.jobs
    router.get("metrics") { _, _ in
        let states = try await jobs.list(limit: 1000).map(\.state)
        let text = NodeMetrics.shared.text(gauges: [
            ("kiln_inference_queue_length", "Generation and load requests waiting for the inference thread.", Double(worker.queueLength)),
            ("kiln_inference_active_sequences", "Sequences decoding in the continuous batches.", Double(worker.activeSequences)),
            ("kiln_inference_peak_batch_sequences", "The most sequences one batch (a base with any of its adapters) decoded at once.",
             Double(worker.peakBatchSequences)),
            ("kiln_training_queue_length", "Training runs queued.", Double(states.filter { $0 == .queued }.count)),
            ("kiln_training_running", "Training runs in progress.", Double(states.filter { $0 == .running }.count)),
        ])
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    return router
}

/// The whole application, ready to run.
public func buildApplication(_ services: KilnServices, options: ServerOptions,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    var logger = Logger(label: "kiln")
    logger.logLevel = options.logLevel
    // Each connection holds a descriptor: make sure the process may open as many as it is allowed to serve.
    FileDescriptors.raiseLimit(toAtLeast: options.maxConnections + 256)
    // The training worker resumes what a stopped node left queued or running, then follows the queue.
    // Without --models, imported bases go to DATA/models.
    let models = options.modelsDirectory ?? services.dataDirectory.appendingPathComponent("models", isDirectory: true)
    let training = TrainingNode(services: services, catalog: ModelCatalog(directory: models))
    Task { await training.runner.start() }
    return Application(
        router: buildRouter(services, attempts: options.attempts, guardOptions: options.effectiveGuard, training: training,
                            builtinDocs: KnowledgeService.builtinDocuments(), arithmetic: options.arithmetic),
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(options.idleTimeout)))),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "Kiln", backlog: 1024,
                             availableConnectionsDelegate: MaximumAvailableConnections(options.maxConnections, logger: logger)),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
        logger: logger)
}

/// Headers every response carries.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = KilnContext

    func handle(_ request: Request, context: KilnContext, next: (Request, KilnContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }
}
