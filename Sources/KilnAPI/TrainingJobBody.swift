// A training job as the API writes it.

/// A queued, running or finished fine-tuning job.
public struct TrainingJobBody: Codable, Sendable, Equatable {
    public var id: Int
    /// Who queued it and the version it trains on.
    public var owner: String
    public var datanet: String
    public var version: Int
    /// The base model's name on the node.
    public var base: String
    /// queued, running, succeeded, failed, cancelled or interrupted.
    public var state: String
    /// The newest progress: step, total_steps, epoch, loss, learning_rate, grad_norm, tokens_per_second, eta_seconds, rss_bytes.
    public var progress: JSONValue?
    public var error: String?
    public var adapterSHA256: String?
    /// The run.finished ledger entry, once the job succeeded.
    public var ledgerSeq: Int?
    public var cancelRequested: Bool
    /// ISO 8601, UTC.
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    /// Every hyper-parameter of the run (the run spec).
    public var spec: JSONValue?
    /// Seen by its owner (and admins) alone; absent from older nodes' answers.
    public var isPrivate: Bool?
    /// The OpenAI-compatible model id of its adapter (`base:run-N`), once it succeeded.
    public var model: String?

    /// A job.
    public init(id: Int, owner: String, datanet: String, version: Int, base: String, state: String, progress: JSONValue?, error: String?,
                adapterSHA256: String?, ledgerSeq: Int?, cancelRequested: Bool, createdAt: String, startedAt: String?, finishedAt: String?,
                spec: JSONValue?) {
        (self.id, self.owner, self.datanet, self.version, self.base, self.state) = (id, owner, datanet, version, base, state)
        (self.progress, self.error, self.adapterSHA256, self.ledgerSeq, self.cancelRequested) = (progress, error, adapterSHA256, ledgerSeq, cancelRequested)
        (self.createdAt, self.startedAt, self.finishedAt, self.spec) = (createdAt, startedAt, finishedAt, spec)
    }

    enum CodingKeys: String, CodingKey {
        case id, owner, datanet, version, base, state, progress, error, spec, model
        case isPrivate = "private"
        case adapterSHA256 = "adapter_sha256"
        case ledgerSeq = "ledger_seq"
        case cancelRequested = "cancel_requested"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}
