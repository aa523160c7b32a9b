// `kiln datanet …`: the Datanet client commands, talking to a running server.
import ArgumentParser

/// Datanet commands against a server.
struct DatanetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "datanet", abstract: "Work with Datanets on a running server.",
                                                    subcommands: [])
}
