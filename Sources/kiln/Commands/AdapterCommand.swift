// `kiln adapter merge` and `kiln adapter export`: fold PEFT LoRA adapters into their base model and save a folder
// transformers and Kiln load, or a GGUF file llama.cpp runs.
import ArgumentParser
import Foundation
import KilnModels
import KilnTrain

/// Commands on LoRA adapters.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adapter", abstract: "Work with LoRA adapters (PEFT's format).",
                                                    subcommands: [Merge.self, Export.self])

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

    /// Merges adapters and writes the result in a chosen format.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge LoRA adapters into their base and export a safetensors model folder or a GGUF file.",
            discussion: """
                --format safetensors writes a model folder (as `kiln adapter merge`; the base must be a safetensors folder). \
                --format gguf writes one GGUF file for llama.cpp from a GGUF base: its metadata (tokenizer, chat template) \
                is kept and every matrix is written as --quant (f16, q8_0 or q4_1).
                """)

        @Option(help: ArgumentHelp("The base model: a safetensors folder or a .gguf file.", valueName: "path"))
        var base: String

        @Option(help: ArgumentHelp("A PEFT adapter folder; repeat to merge several, in order.", valueName: "dir"))
        var adapter: [String] = []

        @Option(help: ArgumentHelp("The folder (safetensors) or file (gguf) to write.", valueName: "path"))
        var out: String

        @Option(help: ArgumentHelp("safetensors or gguf.", valueName: "format"))
        var format: String = "safetensors"

        @Option(help: ArgumentHelp("GGUF matrix type: f16, q8_0 or q4_1.", valueName: "type"))
        var quant: String = "f16"

        @Flag(help: "Replace an existing output.")
        var force = false

        func validate() throws {
            guard !adapter.isEmpty else { throw ValidationError("Give at least one --adapter folder.") }
            guard ["safetensors", "gguf"].contains(format) else { throw ValidationError("--format must be safetensors or gguf.") }
            guard ExportQuantization(rawValue: quant) != nil else { throw ValidationError("--quant must be f16, q8_0 or q4_1.") }
            let isGGUF = ModelRegistry.isGGUF(URL(fileURLWithPath: base))
            if format == "gguf" && !isGGUF {
                throw ValidationError("--format gguf needs a .gguf base (converting a safetensors folder to GGUF is not supported yet); "
                                      + "export --format safetensors, or train on a GGUF base.")
            }
            if format == "safetensors" && isGGUF {
                throw ValidationError("--format safetensors needs a safetensors base folder; a GGUF base exports as --format gguf.")
            }
            if FileManager.default.fileExists(atPath: out) && !force {
                let empty = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? ["file"]).isEmpty
                if !empty { throw ValidationError("--out \(out) exists; choose a new path or pass --force.") }
            }
        }

        func run() async throws {
            try await reportingTrainingErrors {
                let adapters = try adapter.map { try LoRAAdapter(folder: URL(fileURLWithPath: $0, isDirectory: true)) }
                let baseURL = URL(fileURLWithPath: base)
                if format == "gguf" {
                    let summary = try GGUFExport.merge(base: baseURL, adapters: adapters, into: URL(fileURLWithPath: out),
                                                       quantization: ExportQuantization(rawValue: quant)!)
                    print("Wrote \(out): \(summary.tensors) tensors (\(summary.merged) merged), \(quant), \(formatBytes(summary.bytes)).")
                } else {
                    try AdapterMerge.merge(base: baseURL, adapters: adapters, into: URL(fileURLWithPath: out, isDirectory: true))
                    print("Merged \(adapters.count) \(adapters.count == 1 ? "adapter" : "adapters") into \(out).")
                }
            }
        }
    }
}
