// The server settings `kiln serve` and `kiln demo` share: body and item caps, connection limits, login budgets.
import ArgumentParser
import Foundation
import KilnData
import KilnServer
import Logging

/// Limits that protect a node from oversized requests, idle connections and password guessing.
struct NodeSettings: ParsableArguments {
    @Option(help: "The most bytes one text item may have; Datanet rules may not allow more.")
    var maxTextItemBytes: Int = UploadLimits().maxTextItemBytes

    @Option(help: "The most bytes one image or audio file may have; Datanet rules may not allow more.")
    var maxMediaItemBytes: Int = UploadLimits().maxMediaItemBytes

    @Option(help: "The most bytes of one JSON or JSON Lines request body.")
    var maxJSONRequestBytes: Int = UploadLimits().maxJSONRequestBytes

    @Option(help: "The most bytes of one multipart/form-data upload.")
    var maxMultipartBytes: Int = UploadLimits().maxMultipartBytes

    @Option(help: "Items of one contributor the automatic checks may reject in one Datanet per UTC day; more are refused with 429.")
    var maxAutoRejectionsPerDay: Int = UploadLimits().maxAutoRejectionsPerDay

    @Option(help: "Bytes of pending and accepted items one contributor may keep on the node.")
    var userQuotaBytes: Int = UploadLimits().userQuotaBytes

    @Option(help: "Days an API token from `kiln login` stays valid.")
    var apiTokenDays: Int = 90

    @Option(help: "Seconds a connection may stay silent before it is closed.")
    var idleTimeout: Int = ServerOptions().idleTimeout

    @Option(help: "The most connections served at once; more wait until one closes.")
    var maxConnections: Int = ServerOptions().maxConnections

    @Option(help: "Login and sign-up attempts one IP address may make per minute (and in a burst).")
    var loginAttemptsPerMinute: Int = AttemptLimits().perAddressPerMinute

    @Option(help: "Failed logins one username may have per hour (10 in a burst) before it must wait.")
    var failedLoginsPerHour: Int = AttemptLimits().perUsernamePerHour

    @Option(help: ArgumentHelp("Base models training jobs may name (each model folder or .gguf file in DIR, by name), besides "
                               + "`default` (SmolLM2-135M-Instruct).", valueName: "dir"))
    var models: String?

    @Option(help: "Host names the node answers to, comma-separated (DNS-rebinding guard). Default: loopback names when bound to loopback, any otherwise.")
    var allowedHosts: String?

    @Flag(help: "Believe X-Forwarded-For and X-Forwarded-Proto (only behind a reverse proxy that sets them); HTTPS then gets Secure cookies.")
    var trustProxy = false

    /// The upload caps.
    var limits: UploadLimits {
        UploadLimits(maxTextItemBytes: maxTextItemBytes, maxMediaItemBytes: maxMediaItemBytes,
                     maxJSONRequestBytes: maxJSONRequestBytes, maxMultipartBytes: maxMultipartBytes,
                     maxAutoRejectionsPerDay: maxAutoRejectionsPerDay, userQuotaBytes: userQuotaBytes)
    }

    /// The attempt budgets.
    var attempts: AttemptLimits {
        AttemptLimits(perAddressBurst: loginAttemptsPerMinute, perAddressPerMinute: loginAttemptsPerMinute,
                      perUsernamePerHour: failedLoginsPerHour)
    }

    func validate() throws {
        do {
            try limits.validate()
        } catch let error as DataError {
            throw ValidationError(error.message)
        }
        guard (1...3650).contains(apiTokenDays) else { throw ValidationError("--api-token-days must be between 1 and 3650.") }
        guard (1...86_400).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be between 1 and 86400 seconds.") }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be between 1 and 1000000.") }
        guard (1...1_000_000).contains(loginAttemptsPerMinute) else {
            throw ValidationError("--login-attempts-per-minute must be between 1 and 1000000.")
        }
        guard (1...1_000_000).contains(failedLoginsPerHour) else {
            throw ValidationError("--failed-logins-per-hour must be between 1 and 1000000.")
        }
    }

    /// Server options with these settings.
    func serverOptions(host: String, port: Int, logLevel: Logger.Level = .info) -> ServerOptions {
        let hosts = allowedHosts.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
        var options = ServerOptions(host: host, port: port, logLevel: logLevel, idleTimeout: idleTimeout, maxConnections: maxConnections,
                                    attempts: attempts, guardOptions: RequestGuardOptions(allowedHosts: hosts, trustProxy: trustProxy))
        options.modelsDirectory = models.map { URL(fileURLWithPath: $0, isDirectory: true) }
        return options
    }
}
