// The `kiln` command: serve, demo, admin and the Datanet client commands.
import ArgumentParser
import Foundation
import KilnHost

/// The root command.
@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Kiln: an open data-and-model foundry.",
        discussion: "Start with `kiln demo`, or `kiln serve --data DIR` for a real node.",
        subcommands: [Serve.self, Demo.self, Admin.self, Login.self, DatanetCommand.self, Ledger.self, ModelCommand.self, AdapterCommand.self, TrainCommand.self, Generate.self, Tokenize.self, Chat.self])

    /// Refuses a CPU without the engine's instruction sets before anything runs, instead of dying of an illegal instruction.
    static func main() async {
        CPUFeatures.requireEngineSupport()
        OpenBLASEnvironment.restartIfNeeded()
        HeapPolicy.retainFreedMemory()
        await main(nil)
    }
}

/// Options shared by commands that open a data folder directly.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "The data folder (SQLite file and blobs). KILN_DATABASE_URL=postgres://… switches to PostgreSQL.")
    var data: String = "./kiln-data"

    /// The data folder as a URL.
    var url: URL { URL(fileURLWithPath: data, isDirectory: true) }
}

/// Writes to standard error, ending with `terminator` (a progress line passes "" and starts with a carriage return).
func printError(_ message: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((message + terminator).utf8))
}

/// Flushes standard output, so a server's address and logins appear at once even when piped to a file.
func flushOutput() {
    fflush(nil)
}
