// A run spec: everything that decides what a fine-tuning run computes (base model and its hash, data and its roots,
// every hyper-parameter), so a run can be stored, queued, resumed, handed to another backend and recorded on the ledger.
import Foundation

/// A data file a run reads, with where it came from.
public struct DataSource: Codable, Sendable, Equatable {
    /// The JSONL file (Datanet export shape).
    public var path: String
    /// SHA-256 of the file's bytes.
    public var sha256: String
    /// The Datanet and version it was exported from, and that version's Merkle root, when it came from one.
    public var datanet: String?
    public var version: Int?
    public var merkleRoot: String?

    /// A source.
    public init(path: String, sha256: String, datanet: String? = nil, version: Int? = nil, merkleRoot: String? = nil) {
        self.path = path
        self.sha256 = sha256
        self.datanet = datanet
        self.version = version
        self.merkleRoot = merkleRoot
    }

    enum CodingKeys: String, CodingKey {
        case path, sha256, datanet, version
        case merkleRoot = "merkle_root"
    }
}

/// Every setting of a LoRA/QLoRA fine-tuning run.
public struct TrainingSpec: Codable, Sendable, Equatable {
    /// The base model folder or `.gguf` file, and the SHA-256 over its weight files (`BaseHash`).
    public var base: String
    public var baseSHA256: String
    /// Training and (optional) validation data.
    public var train: DataSource
    public var validation: DataSource?
    /// A PEFT adapter whose tensors start the run instead of PEFT's init.
    public var initAdapter: String?
    /// LoRA.
    public var loraR: Int
    public var loraAlpha: Double
    public var useRSLoRA: Bool
    public var loraDropout: Double
    public var targetModules: [String]
    /// Optimisation.
    public var learningRate: Double
    public var epochs: Int
    public var maxSteps: Int?
    public var microBatchSize: Int
    public var gradientAccumulation: Int
    public var maxLength: Int
    public var scheduler: LRSchedule
    public var warmupSteps: Int
    public var weightDecay: Double
    public var maxGradNorm: Double
    public var seed: UInt64
    /// Shuffle the items each epoch (seeded) instead of file order.
    public var shuffle: Bool
    /// "nf4" for QLoRA over NF4 weights, with `doubleQuantization`; nil: the base as stored.
    public var qlora: String?
    public var doubleQuantization: Bool
    /// Recompute each block in backward instead of keeping its activations; nil: on for QLoRA and quantised (GGUF) bases,
    /// as PEFT's `prepare_model_for_kbit_training` turns it on, off otherwise.
    public var gradientCheckpointing: Bool? = nil
    /// Recompute only the first N layers (the rest keep their activations): between no checkpointing and all of it,
    /// trading memory for speed a layer at a time; overrides `gradientCheckpointing` when set.
    public var recomputeLayers: Int? = nil
    /// Steps between checkpoints (0: only at the end).
    public var checkpointEvery: Int
    /// "kiln" (this engine) or "torch" (the Python worker).
    public var backend: String

    /// A spec with every setting given.
    public init(base: String, baseSHA256: String, train: DataSource, validation: DataSource?, initAdapter: String?, loraR: Int, loraAlpha: Double, useRSLoRA: Bool, loraDropout: Double, targetModules: [String], learningRate: Double, epochs: Int, maxSteps: Int?, microBatchSize: Int, gradientAccumulation: Int, maxLength: Int, scheduler: LRSchedule, warmupSteps: Int, weightDecay: Double, maxGradNorm: Double, seed: UInt64, shuffle: Bool, qlora: String?, doubleQuantization: Bool, checkpointEvery: Int, backend: String) {
        self.base = base
        self.baseSHA256 = baseSHA256
        self.train = train
        self.validation = validation
        self.initAdapter = initAdapter
        self.loraR = loraR
        self.loraAlpha = loraAlpha
        self.useRSLoRA = useRSLoRA
        self.loraDropout = loraDropout
        self.targetModules = targetModules
        self.learningRate = learningRate
        self.epochs = epochs
        self.maxSteps = maxSteps
        self.microBatchSize = microBatchSize
        self.gradientAccumulation = gradientAccumulation
        self.maxLength = maxLength
        self.scheduler = scheduler
        self.warmupSteps = warmupSteps
        self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm
        self.seed = seed
        self.shuffle = shuffle
        self.qlora = qlora
        self.doubleQuantization = doubleQuantization
        self.checkpointEvery = checkpointEvery
        self.backend = backend
    }

    enum CodingKeys: String, CodingKey {
        case base, train, validation, epochs, seed, shuffle, qlora, backend, scheduler
        case baseSHA256 = "base_sha256"
        case initAdapter = "init_adapter"
        case loraR = "lora_r"
        case loraAlpha = "lora_alpha"
        case useRSLoRA = "use_rslora"
        case loraDropout = "lora_dropout"
        case targetModules = "target_modules"
        case learningRate = "learning_rate"
        case maxSteps = "max_steps"
        case microBatchSize = "micro_batch_size"
        case gradientAccumulation = "gradient_accumulation"
        case maxLength = "max_length"
        case warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay"
        case maxGradNorm = "max_grad_norm"
        case doubleQuantization = "double_quantization"
        case gradientCheckpointing = "gradient_checkpointing"
        case recomputeLayers = "recompute_layers"
        case checkpointEvery = "checkpoint_every"
    }

    /// Leading layers whose activations backward recomputes, for a base that is (`quantised`) or is not quantised.
    public func recomputedLayers(quantised: Bool) -> Int {
        if let recomputeLayers { return recomputeLayers }
        return gradientCheckpointing ?? (qlora != nil || quantised) ? Int.max : 0
    }

    /// The spec file of a run folder.
    public static func url(in output: URL) -> URL { output.appendingPathComponent("run_spec.json") }

    /// Writes the spec as `run_spec.json` in `output` (sorted keys, atomically).
    /// - Throws: file-system errors.
    public func write(to output: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: Self.url(in: output), options: .atomic)
    }

    /// The spec saved in a run folder, or nil when it has none.
    /// - Throws: `DecodingError` for a spec file that is not a TrainingSpec.
    public static func saved(in output: URL) throws -> TrainingSpec? {
        guard let data = try? Data(contentsOf: url(in: output)) else { return nil }
        return try JSONDecoder().decode(TrainingSpec.self, from: data)
    }

    /// The LoRA configuration the run trains and saves.
    public var loraConfig: LoRAConfig {
        LoRAConfig(r: loraR, alpha: loraAlpha, useRSLoRA: useRSLoRA, targetModules: targetModules, dropout: loraDropout)
    }

    /// Checks every value is in range.
    /// - Throws: `TrainingSpecError.invalid` naming the flag.
    public func validate() throws(TrainingSpecError) {
        func require(_ condition: Bool, _ flag: String, _ rule: String) throws(TrainingSpecError) {
            if !condition { throw .invalid(flag: flag, rule: rule) }
        }
        // Upper bounds keep every value a node accepts (a job request is this spec) within what allocates and finishes:
        // far above any real run, far below what overflows a size or exhausts memory.
        try require((1...1024).contains(loraR), "--lora-r", "must be an integer from 1 to 1024")
        try require(loraAlpha > 0 && loraAlpha <= 1e6, "--lora-alpha", "must be a number above 0, at most 1e6")
        try require(loraDropout >= 0 && loraDropout < 1, "--lora-dropout", "must be in [0, 1)")
        try require((1...256).contains(targetModules.count) && targetModules.allSatisfy { (1...128).contains($0.utf8.count) },
                    "--target-modules", "must name 1 to 256 modules of 1 to 128 bytes")
        try require(learningRate >= 0 && learningRate <= 10, "--learning-rate", "must be a number from 0 to 10")
        try require((1...10_000).contains(epochs), "--epochs", "must be an integer from 1 to 10000")
        try require(maxSteps.map { (1...10_000_000).contains($0) } ?? true, "--max-steps", "must be an integer from 1 to 10000000")
        try require((1...1024).contains(microBatchSize), "--micro-batch-size", "must be an integer from 1 to 1024")
        try require((1...65_536).contains(gradientAccumulation), "--gradient-accumulation", "must be an integer from 1 to 65536")
        try require((2...131_072).contains(maxLength), "--max-length", "must be an integer from 2 to 131072")
        try require((0...10_000_000).contains(warmupSteps), "--warmup-steps", "must be an integer from 0 to 10000000")
        try require(weightDecay >= 0 && weightDecay <= 10, "--weight-decay", "must be a number from 0 to 10")
        try require(maxGradNorm > 0 && maxGradNorm <= 1e6, "--max-grad-norm", "must be a number above 0, at most 1e6")
        try require((0...10_000_000).contains(checkpointEvery), "--checkpoint-every", "must be an integer from 0 to 10000000")
        try require(recomputeLayers.map { (0...100_000).contains($0) } ?? true, "--recompute-layers", "must be an integer from 0 to 100000")
        try require(qlora == nil || qlora == "nf4", "--qlora", "must be nf4")
        try require(["kiln", "torch"].contains(backend), "--backend", "must be kiln or torch")
    }
}

/// Why a run spec cannot be used.
public enum TrainingSpecError: Error, Equatable, Sendable {
    /// A setting is out of range.
    case invalid(flag: String, rule: String)

    /// The setting's name in a job request and run_spec.json (`--lora-r` → `lora_r`).
    public var field: String {
        switch self {
        case .invalid(let flag, _): String(flag.drop { $0 == "-" }).replacingOccurrences(of: "-", with: "_")
        }
    }

    /// The rule the value broke.
    public var rule: String {
        switch self {
        case .invalid(_, let rule): rule
        }
    }
}

extension TrainingSpecError: LocalizedError {
    /// A sentence naming the flag.
    public var errorDescription: String? {
        switch self {
        case .invalid(let flag, let rule): "\(flag) \(rule)."
        }
    }
}
