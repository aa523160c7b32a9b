// `kiln serve`: run a node.
import ArgumentParser
import Foundation
import Hummingbird
import KilnData
import KilnModels
import KilnServer
import Logging

/// Starts the HTTP server over a data folder.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the web UI and the API.")

    @OptionGroup var data: DataOptions
    @OptionGroup(title: "Limits") var settings: NodeSettings

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port: Int = 8080

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Fast arithmetic: GGUF models' quantised weights with llama.cpp's integer dot products (equal to llama.cpp, not transformers), bf16 weights with bf16 dot products where the CPU has them.")
    var fast = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level.") }
    }

    func run() async throws {
        let services = try await openServices(data.url, limits: settings.limits, apiTokenDays: settings.apiTokenDays)
        await collectAtStart(services)
        let options = {
            var options = settings.serverOptions(host: host, port: port, logLevel: Logger.Level(rawValue: logLevel) ?? .info)
            options.arithmetic = fast ? .fast : .exact
            return options
        }()
        let app = buildApplication(services, options: options) { port in
            print("Kiln is serving http://\(options.host):\(port)/ (data: \(data.url.path))")
            flushOutput()
        }
        try await app.runService()
        await services.close()
    }
}

/// Opens a data folder, turning storage errors into a readable message and a non-zero exit.
func openServices(_ url: URL, limits: UploadLimits = UploadLimits(), apiTokenDays: Int = 90) async throws -> KilnServices {
    // Everything the node writes (database, blobs, keys) is readable by its owner only.
    umask(0o077)
    do {
        return try await KilnServices.open(dataDirectory: url, limits: limits, apiTokenLifetime: TimeInterval(apiTokenDays) * 86_400)
    } catch {
        printError("kiln: cannot open the data folder \(url.path): \(error)")
        throw ExitCode(2)
    }
}

/// Deletes blobs a crash or failed upload left unnamed, as every start does; a failure is reported, never fatal.
func collectAtStart(_ services: KilnServices) async {
    do {
        let swept = try await services.collectOrphanedBlobs()
        if swept.blobs > 0 { print("Deleted \(swept.blobs) stored files no submission names (\(swept.bytes) bytes).") }
    } catch {
        printError("kiln: could not collect unreferenced files: \(error)")
    }
}
