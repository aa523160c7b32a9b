// `kiln datanet …`: the Datanet client commands, talking to a running server over its JSON API.
import ArgumentParser
import Foundation

/// Datanet commands against a server.
struct DatanetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datanet",
        abstract: "Work with Datanets on a running server.",
        discussion: """
            Every command talks to a running `kiln serve` (--server, or KILN_SERVER). Commands that write need a token \
            from `kiln login` (--token, or KILN_TOKEN). Reading Datanets, leaderboards and versions needs none.
            """,
        subcommands: [Create.self, List.self, Show.self, Submit.self, Queue.self, Review.self, Leaderboard.self,
                      Publish.self, Export.self])
}

// MARK: - Shared options

/// Which server to talk to: `--server URL`.
struct ServerAddressOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The Kiln server's base URL (default: $KILN_SERVER, else http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    /// The server URL after applying the environment and default, without a trailing slash.
    var url: String {
        let chosen = server ?? ProcessInfo.processInfo.environment["KILN_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "http://127.0.0.1:8080"
        return chosen.hasSuffix("/") ? String(chosen.dropLast()) : chosen
    }

    func validate() throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw ValidationError("--server \(url) is not an http:// or https:// URL (for example http://127.0.0.1:8080).")
        }
        guard components.query == nil, components.fragment == nil else {
            throw ValidationError("--server \(url) must be a base URL without a query or fragment.")
        }
    }
}

/// Which server, and as whom: `--server URL --token T`.
struct ClientOptions: ParsableArguments {
    @OptionGroup var address: ServerAddressOptions

    @Option(name: .long, help: ArgumentHelp(
        "An API token from `kiln login` (default: $KILN_TOKEN). Needed by commands that write.", valueName: "token"))
    var token: String?

    /// The token after applying the environment; `nil` means anonymous.
    var resolvedToken: String? {
        token ?? ProcessInfo.processInfo.environment["KILN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Refuses, before `run()`, a command that writes but has no token.
    ///
    /// - Throws: `ValidationError` naming both ways to give one.
    func requireToken() throws {
        guard resolvedToken != nil else {
            throw ValidationError("This command needs a token: pass --token or set KILN_TOKEN (get one with `kiln login`).")
        }
    }

    /// Runs `body` with a client, turning client errors into `kiln: …` on stderr and exit status 1.
    func withClient<T: Sendable>(_ body: (APIClient) async throws -> T) async throws -> T {
        try await runReportingErrors {
            try await APIClient.with(server: address.url, token: resolvedToken, body)
        }
    }
}

/// Runs `body`, printing a `ClientError` as `kiln: <message>` and exiting 1 instead of showing a Swift error.
func runReportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ClientError {
        printError("kiln: \(error.message)")
        throw ExitCode(1)
    }
}

/// Prints an API answer exactly as the server sent it, for `--json`.
func printRawJSON(_ data: Data) {
    let text = String(decoding: data, as: UTF8.self)
    // `print`, not a raw write, so this keeps its order with the other lines on standard output.
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
}

/// Lays out rows as left-aligned columns separated by two spaces, the last column unpadded.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
