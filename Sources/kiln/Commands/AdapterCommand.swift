// `kiln adapter merge`: fold PEFT LoRA adapters into their base model and save a folder transformers and Kiln load.
import ArgumentParser
import Foundation
import KilnModels
import KilnTrain

/// Commands on LoRA adapters.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adapter", abstract: "Work with LoRA adapters (PEFT's format).",
                                                    subcommands: [Merge.self])

    /// Merges adapters into a base model folder.
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge LoRA adapters into their base model and save the result as a model folder.",
            discussion: """
                Each adapter is a PEFT folder (adapter_config.json + adapter_model.safetensors). The update scaling·B·A is \
                added to each adapted weight (transposed for GPT-2's Conv1D), as PEFT's merge_and_unload does. OUT gets \
                model.safetensors (F32) and every other file of the base folder (config, tokenizer, chat template).
                """)

        @Option(help: ArgumentHelp("The base model folder (config.json + safetensors).", valueName: "dir"))
        var base: String

        @Option(help: ArgumentHelp("A PEFT adapter folder; repeat to merge several, in order.", valueName: "dir"))
        var adapter: [String] = []

        @Option(help: ArgumentHelp("The folder to write the merged model into (created if missing).", valueName: "dir"))
        var out: String

        @Flag(help: "Write into a folder that is not empty (files of the same names are replaced).")
        var force = false

        func validate() throws {
            guard !adapter.isEmpty else { throw ValidationError("Give at least one --adapter folder.") }
            guard !ModelRegistry.isGGUF(URL(fileURLWithPath: base)) else {
                throw ValidationError("--base must be a safetensors model folder; GGUF bases are merged by `kiln train`'s export.")
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw ValidationError("--out \(out) is a file, not a folder.") }
                guard ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).isEmpty || force else {
                    throw ValidationError("--out \(out) is not empty; choose a new folder or pass --force.")
                }
            }
        }

        func run() async throws {
            let baseURL = URL(fileURLWithPath: base, isDirectory: true)
            do {
                _ = try ModelRegistry.modelType(folder: baseURL)
                let adapters = try adapter.map { try LoRAAdapter(folder: URL(fileURLWithPath: $0, isDirectory: true)) }
                try AdapterMerge.merge(base: baseURL, adapters: adapters, into: URL(fileURLWithPath: out, isDirectory: true))
                let modules = adapters.reduce(0) { $0 + $1.pairs.count }
                print("Merged \(adapters.count) \(adapters.count == 1 ? "adapter" : "adapters") (\(modules) modules) into \(out).")
            } catch let error as LoRAError {
                printError("kiln: \(error)")
                throw ExitCode(1)
            } catch let error as LocalizedError {
                printError("kiln: \(error.errorDescription ?? "\(error)")")
                throw ExitCode(1)
            }
        }
    }
}
