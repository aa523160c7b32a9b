// `kiln train`: LoRA/QLoRA fine-tuning in the foreground, with HF Trainer's semantics; `kiln train resume DIR`.
import ArgumentParser
import Foundation
import KilnAPI
import KilnModels
import KilnTrain

/// Fine-tuning commands.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Fine-tune a model with LoRA or QLoRA on a data file or a published Datanet version.",
        subcommands: [Start.self, Resume.self], defaultSubcommand: Start.self)

    /// Starts a run.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Fine-tune --base on --data (or --datanet/--version) and save a PEFT adapter in --out.",
            discussion: """
                Items are Datanet export lines ({"instruction","input","response"}, {"messages":[…]} or {"text"}), rendered \
                with the model's chat template; the loss is taken on the response only. Each optimiser step takes \
                --gradient-accumulation micro-batches of --micro-batch-size items, right-padded, and normalises the loss by \
                the step's label tokens, as Hugging Face Trainer does. OUT gets adapter_config.json, \
                adapter_model.safetensors (PEFT's names), metrics.jsonl (one line per step, one per evaluation), \
                run_spec.json and checkpoints/; `kiln train resume OUT` continues a stopped run exactly.
                """)

        @Option(help: ArgumentHelp("The base model: an HF folder or a .gguf file.", valueName: "path"))
        var base: String
        @Option(help: ArgumentHelp("Training items (JSONL, Datanet export shape).", valueName: "file"))
        var data: String?
        @Option(help: ArgumentHelp("Validation items (JSONL); evaluated before training and after each epoch.", valueName: "file"))
        var validation: String?
        @Option(help: ArgumentHelp("Train on this Datanet's published version instead of --data (with --version and --server).", valueName: "slug"))
        var datanet: String?
        @Option(help: "The Datanet version to train on.")
        var version: Int?
        @OptionGroup var address: ServerAddressOptions
        @Option(help: ArgumentHelp("The folder for the adapter, metrics and checkpoints (created if missing).", valueName: "dir"))
        var out: String
        @Option(help: ArgumentHelp("Start from this PEFT adapter's tensors instead of a fresh init.", valueName: "dir"))
        var initAdapter: String?
        @Option(help: "LoRA rank r.") var loraR: Int = 8
        @Option(help: "LoRA alpha (the update is scaled by alpha/r).") var loraAlpha: Double = 16
        @Flag(help: "Scale by alpha/√r (rank-stabilised LoRA).") var rslora = false
        @Option(help: "Dropout on the adapter's input.") var loraDropout: Double = 0
        @Option(help: ArgumentHelp("Comma-separated module names, or all-linear (every linear but the output layer).",
                                   valueName: "m1,m2,…|all-linear"))
        var targetModules: String = "all-linear"
        @Option(help: "Peak learning rate.") var learningRate: Double = 2e-4
        @Option(help: "Passes over the training items.") var epochs: Int = 3
        @Option(help: "Stop after this many optimiser steps (overrides --epochs).") var maxSteps: Int?
        @Option(help: "Items per forward pass.") var microBatchSize: Int = 4
        @Option(help: "Micro-batches per optimiser step.") var gradientAccumulation: Int = 1
        @Option(help: "Tokens kept per item (the first ones).") var maxLength: Int = 512
        @Option(help: ArgumentHelp("constant, constant_with_warmup, linear or cosine.", valueName: "schedule"))
        var lrScheduler: String = "linear"
        @Option(help: "Steps of linear warmup from 0 (ignored by constant).") var warmupSteps: Int = 0
        @Option(help: "Decoupled weight decay.") var weightDecay: Double = 0
        @Option(help: "Clip the global gradient norm to this.") var maxGradNorm: Double = 1
        @Option(help: "Seed for the adapter init, dropout and shuffling.") var seed: UInt64 = 42
        @Flag(help: "Shuffle the items each epoch (seeded) instead of file order.") var shuffle = false
        @Option(help: ArgumentHelp("QLoRA: quantise the base's linear weights (nf4).", valueName: "nf4")) var qlora: String?
        @Flag(help: "With --qlora nf4, quantise the absmax values again (double quantisation).") var doubleQuant = false
        @Flag(inversion: .prefixedNo, help: "Recompute each layer in backward to save memory (default: on for QLoRA and GGUF bases).")
        var gradientCheckpointing: Bool?
        @Option(help: ArgumentHelp("Recompute only the first N layers in backward; the rest keep their activations (memory for speed, a layer at a time).", valueName: "N"))
        var recomputeLayers: Int?
        @Option(help: "Write a checkpoint every N optimiser steps (0: only at the end).") var checkpointEvery: Int = 0
        @Option(help: ArgumentHelp("kiln (this engine) or torch (the Python worker in tools/).", valueName: "name")) var backend: String = "kiln"
        @Flag(help: "Print every event as a JSON line on standard output.") var json = false

        func validate() throws {
            guard (data != nil) != (datanet != nil) else { throw ValidationError("Give either --data FILE or --datanet SLUG --version N.") }
            if datanet != nil, version == nil { throw ValidationError("--datanet needs --version N.") }
            guard LRSchedule(rawValue: lrScheduler) != nil else {
                throw ValidationError("--lr-scheduler must be one of \(LRSchedule.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError("--out \(out) is a file, not a folder.")
            }
        }

        func run() async throws {
            let output = URL(fileURLWithPath: out, isDirectory: true)
            try await reportingTrainingErrors {
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
                let (train, validationSource) = try await dataSources(output: output)
                let baseURL = URL(fileURLWithPath: base)
                let targets = targetModules.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                var spec = TrainingSpec(
                    base: baseURL.path, baseSHA256: try FileHash.baseModel(baseURL), train: train, validation: validationSource,
                    initAdapter: initAdapter.map { URL(fileURLWithPath: $0).path }, loraR: loraR, loraAlpha: loraAlpha, useRSLoRA: rslora,
                    loraDropout: loraDropout, targetModules: targets, learningRate: learningRate, epochs: epochs, maxSteps: maxSteps,
                    microBatchSize: microBatchSize, gradientAccumulation: gradientAccumulation, maxLength: maxLength,
                    scheduler: LRSchedule(rawValue: lrScheduler)!, warmupSteps: warmupSteps, weightDecay: weightDecay,
                    maxGradNorm: maxGradNorm, seed: seed, shuffle: shuffle, qlora: qlora, doubleQuantization: doubleQuant,
                    checkpointEvery: checkpointEvery, backend: backend)
                spec.gradientCheckpointing = gradientCheckpointing
                spec.recomputeLayers = recomputeLayers
                try spec.validate()
                guard backend == "kiln" else {
                    try TorchBackend.run(spec, output: output, json: json)
                    return
                }
                let run = try TrainingRun(spec: spec, output: output)
                try TrainingReporter(json: json).drive(run)
            }
        }

        /// The training and validation files: given, or exported from the Datanet version into OUT/data/.
        func dataSources(output: URL) async throws -> (DataSource, DataSource?) {
            guard let datanet, let version else {
                let train = URL(fileURLWithPath: data!)
                return (DataSource(path: train.path, sha256: try FileHash.sha256(of: train)),
                        try validation.map { path in
                            let url = URL(fileURLWithPath: path)
                            return DataSource(path: url.path, sha256: try FileHash.sha256(of: url))
                        })
            }
            return try await DatanetTrainingData.fetch(slug: datanet, version: version, server: address.url,
                                                       into: output.appendingPathComponent("data"), validation: validation)
        }
    }

    /// Continues a stopped run.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue a stopped run from its newest checkpoint, exactly as if it had not stopped.")

        @Argument(help: ArgumentHelp("The run's output folder (--out of `kiln train`).", valueName: "dir"))
        var dir: String
        @Flag(help: "Print every event as a JSON line on standard output.") var json = false

        func run() async throws {
            try await reportingTrainingErrors {
                let run = try TrainingRun.resume(URL(fileURLWithPath: dir, isDirectory: true))
                try TrainingReporter(json: json).drive(run)
            }
        }
    }
}

/// `--backend torch`: the run spec handed to tools/torch_train.py (PyTorch + PEFT), under torchrun when
/// KILN_TORCH_NPROC asks for several processes (GPUs).
enum TorchBackend: Error, LocalizedError {
    case workerMissing(searched: [String])
    case failed(status: Int32)

    var errorDescription: String? {
        switch self {
        case .workerMissing(let searched):
            "--backend torch needs tools/torch_train.py (looked in \(searched.joined(separator: ", "))); set KILN_TORCH_WORKER to its path."
        case .failed(let status): "the torch worker exited with status \(status); its output is above."
        }
    }

    /// Writes OUT/run_spec.json and runs the worker in the foreground, its events and errors passed through.
    static func run(_ spec: TrainingSpec, output: URL, json: Bool) throws {
        try spec.write(to: output)
        let environment = ProcessInfo.processInfo.environment
        let root = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates: [String] = [environment["KILN_TORCH_WORKER"], FileManager.default.currentDirectoryPath + "/tools/torch_train.py",
                                    root.appendingPathComponent("tools/torch_train.py").path].compactMap { $0 }
        guard let worker = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TorchBackend.workerMissing(searched: candidates)
        }
        let venv = URL(fileURLWithPath: worker).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv-bench/bin/python").path
        let python = environment["KILN_TORCH_PYTHON"] ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3")
        let processes = Int(environment["KILN_TORCH_NPROC"] ?? "") ?? 1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = processes > 1 ? [python, "-m", "torch.distributed.run", "--nproc_per_node", "\(processes)", worker, output.path]
            : [python, worker, output.path]
        if !json { printError("Running the run on PyTorch: \(process.arguments!.joined(separator: " "))") }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TorchBackend.failed(status: process.terminationStatus) }
        if !json { print("Adapter: \(output.path)/adapter_model.safetensors (PyTorch + PEFT)") }
    }
}

/// Runs `body`, turning training errors into `kiln: …` on stderr and exit status 1.
func reportingTrainingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ClientError {
        printError("kiln: \(error.message)")
        throw ExitCode(1)
    } catch let error as LocalizedError {
        printError("kiln: \(error.errorDescription ?? "\(error)")")
        throw ExitCode(1)
    } catch {
        printError("kiln: \(error)")
        throw ExitCode(1)
    }
}
