// `kiln demo`: a node with example data, ready to explore.
import ArgumentParser
import Foundation
import Hummingbird
import KilnData
import KilnServer
import Logging

/// Seeds a demo data folder (once) and serves it.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve a demo node with example Datanets, items and users.")

    @Option(help: "The demo data folder (created and seeded on first run).")
    var data: String = "./kiln-demo"

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port: Int = 8080

    @Flag(help: "Delete the demo folder first and seed it again.")
    var reset = false

    @OptionGroup(title: "Limits") var settings: NodeSettings

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
    }

    func run() async throws {
        let url = URL(fileURLWithPath: data, isDirectory: true)
        if reset { try? FileManager.default.removeItem(at: url) }
        let services = try await openServices(url, limits: settings.limits, apiTokenDays: settings.apiTokenDays)
        await collectAtStart(services)
        if try await DemoData.seed(services) {
            print("Seeded demo data in \(url.path).")
        }
        let options = settings.serverOptions(host: host, port: port)
        // The demo's fine-tuned model: trained here on first start, then cached with the rest of the demo data.
        let trained = try await DemoRun.ensure(services, models: options.modelsDirectory) { line in
            printError("\r" + line, terminator: "")
        }
        if let trained { printError("\rThe demo model is trained (run \(trained)).                              ") }
        let logins = try await loginsToPrint(services)
        let app = buildApplication(services, options: options) { port in
            print("Kiln demo: http://\(options.host):\(port)/start")
            print("Demo logins (username / password):")
            for login in logins {
                print("  \(login.username.padding(toLength: 8, withPad: " ", startingAt: 0)) / \(login.password)   (\(login.role))")
            }
            flushOutput()
        }
        try await app.runService()
        await services.close()
    }

    /// The demo logins; off loopback the printed passwords would be public, so the admin first gets a fresh random one.
    func loginsToPrint(_ services: KilnServices) async throws -> [(username: String, password: String, role: String)] {
        guard !RequestGuardOptions.isLoopback(host), let admin = try await services.accounts.user(named: "admin") else { return DemoData.logins }
        let password = (0..<4).map { _ in String(format: "%04x", UInt16.random(in: 0...UInt16.max)) }.joined(separator: "-")
        try await services.accounts.changePassword(userId: admin.id, to: password)
        return DemoData.logins.map { $0.username == "admin" ? (username: $0.username, password: password, role: $0.role) : $0 }
    }
}
