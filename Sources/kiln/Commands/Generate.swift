// `kiln generate`: run a model folder on one prompt, streaming the text or printing the ids as JSON
// (the shape the engine acceptance script reads: {"prompt_ids":[…],"ids":[…],"text":"…"}).
import ArgumentParser
import Foundation
import KilnModels
import KilnTrain

/// Generates text from a prompt with an HF model folder.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt with a model folder or GGUF file.",
        discussion: "Greedy unless --temperature is given. The prompt is encoded with the tokenizer's default special tokens, as transformers' tokenizer(prompt).")

    @Option(name: .long, help: "The HF model folder (config.json, model.safetensors, tokenizer.json) or a .gguf file.")
    var model: String

    @Option(name: .long, help: ArgumentHelp("A PEFT LoRA adapter folder to apply, unmerged (repeatable).", valueName: "dir"))
    var adapter: [String] = []

    @Option(name: .long, help: "The prompt text.")
    var prompt: String

    @Option(name: .long, help: "The most new tokens to generate.")
    var maxNewTokens: Int = 64

    @Flag(name: .long, help: "Pick the most likely token each step (the default when no --temperature is given).")
    var greedy = false

    @Option(name: .long, help: "Sample with this temperature (> 0); omit for greedy.")
    var temperature: Float?

    @Option(name: .long, help: "Keep the smallest set of tokens whose probability reaches P (0 < P <= 1).")
    var topP: Float = 1

    @Option(name: .long, help: "Keep only the K most likely tokens (0 keeps all).")
    var topK: Int = 0

    @Option(name: .long, help: "Drop tokens below M times the top token's probability (0 <= M < 1).")
    var minP: Float = 0

    @Option(name: .long, help: "Seed of the sampler; the same seed gives the same tokens.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Penalise every token already seen by this factor (1 is off; HF semantics).")
    var repetitionPenalty: Float = 1

    @Option(name: .long, help: "Stop once the new text contains this string (repeatable); the string is cut from the text.")
    var stop: [String] = []

    @Flag(name: .long, help: "Print {\"prompt_ids\":[…],\"ids\":[…],\"text\":\"…\"} instead of streaming text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write the prompt's logits, {\"logits\": [[V floats] per prompt token]}, to this file "
                                            + "(for comparing with another runtime).", valueName: "file"))
    var logits: String?

    // The default stays the transformers-equal arithmetic until the integer path is clearly the faster one (issue 13).
    @Flag(name: .long, help: "Fast arithmetic: a GGUF file's quantised weights with llama.cpp's integer dot products (equal to llama.cpp, not transformers), bf16 weights with bf16 dot products where the CPU has them.")
    var fast = false

    func validate() throws {
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be 0 or more.") }
        if greedy && temperature != nil { throw ValidationError("--greedy and --temperature exclude each other.") }
        if let temperature, !(temperature > 0) { throw ValidationError("--temperature must be greater than 0; use --greedy for argmax.") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1].") }
        guard topK >= 0 else { throw ValidationError("--top-k must be 0 or more.") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("--min-p must be in [0, 1).") }
        guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be greater than 0.") }
        guard !stop.contains("") else { throw ValidationError("--stop needs a non-empty string.") }
    }

    func run() throws {
        let loaded = try ModelPath.open(model, adapters: adapter, exact: !fast)
        let promptIds = loaded.tokenizer.encode(prompt)
        let sampling = SamplingParameters(temperature: temperature ?? 0, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repetitionPenalty)
        let options = GenerationOptions(maxNewTokens: maxNewTokens, sampling: sampling, eosTokenIds: loaded.eosTokenIds,
                                        stopStrings: stop, seed: seed)
        if let logits {
            let output = try ModelPath.reporting { try loaded.model.forward(inputIds: [promptIds], attentionMask: nil, positionIds: nil).logits }
            let width = output.shape.last ?? 0
            let rows = stride(from: 0, to: output.count, by: max(1, width)).map { "[" + output.storage[$0..<($0 + width)].map { "\($0)" }.joined(separator: ",") + "]" }
            try ModelPath.reporting { try Data("{\"logits\":[\(rows.joined(separator: ","))]}".utf8).write(to: URL(fileURLWithPath: logits)) }
        }
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        let result = try ModelPath.reporting {
            try generator.generate(promptIds: promptIds, options: options) { _, delta in
                guard !json else { return }
                print(delta, terminator: "")
                flushOutput()
            }
        }
        if json {
            print("{\"prompt_ids\":\(JSONText.ids(result.promptIds)),\"ids\":\(JSONText.ids(result.ids)),\"text\":\(JSONText.string(result.text))}")
        } else {
            print("")
        }
    }
}

/// Opens the PATH argument of the model commands, turning load failures into a message and exit status 1.
enum ModelPath {
    /// The loaded folder or GGUF file with any PEFT `adapters` applied unmerged, or a printed error and `ExitCode(1)`.
    static func open(_ path: String, adapters: [String] = [], exact: Bool = true) throws -> LoadedModel {
        try reporting {
            let loaded = try adapters.map { try LoRAAdapter(folder: URL(fileURLWithPath: $0, isDirectory: true)) }
            return try LoadedModel(folder: URL(fileURLWithPath: path), adapters: LoRAAdapter.updates(loaded),
                                   arithmetic: exact ? .exact : .fast)
        }
    }

    /// Runs `body`, printing any error as `kiln: …` and exiting with status 1.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let exit as ExitCode { throw exit } catch {
            fail(error.localizedDescription)
        }
    }

    /// Prints `kiln: message` to standard error and exits with status 1.
    static func fail(_ message: String) -> Never {
        printError("kiln: \(message)")
        Foundation.exit(1)
    }
}

/// Compact JSON text with keys in a fixed order, which JSONSerialization does not promise.
enum JSONText {
    /// `[1,2,3]`.
    static func ids(_ ids: [Int]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }

    /// A JSON string literal, escaped by JSONEncoder.
    static func string(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(text)).flatMap { String(data: $0, encoding: .utf8) } ?? "\"\""
    }

    /// `["a","b"]`.
    static func strings(_ items: [String]) -> String { "[" + items.map(string).joined(separator: ",") + "]" }
}
