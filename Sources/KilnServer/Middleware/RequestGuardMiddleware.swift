// Checks made before any route runs: the Host allow-list (DNS rebinding), the Origin of writes (cross-site forms,
// login CSRF included), and what a trusted reverse proxy says about the client.
import HTTPTypes
import Hummingbird
import KilnData

/// Who may address this node and how a proxy in front of it is believed.
public struct RequestGuardOptions: Sendable, Equatable {
    /// Host names (without port) requests may name; `nil` allows any. A node bound to loopback allows only loopback
    /// names by default, so a web page that rebinds its own name to 127.0.0.1 cannot talk to it.
    public var allowedHosts: Set<String>?
    /// Whether `X-Forwarded-For` and `X-Forwarded-Proto` are believed (only behind a proxy that sets them).
    public var trustProxy: Bool

    /// Creates options.
    public init(allowedHosts: Set<String>? = nil, trustProxy: Bool = false) {
        self.allowedHosts = allowedHosts.map { Set($0.map { $0.lowercased() }) }
        self.trustProxy = trustProxy
    }

    /// The names a loopback-bound node answers to.
    public static let loopbackHosts: Set<String> = ["localhost", "127.0.0.1", "[::1]", "::1"]

    /// Whether `host` is a loopback address, so that only loopback names need be allowed.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Enforces `RequestGuardOptions` and records the client's address and scheme in the context.
struct RequestGuardMiddleware: RouterMiddleware {
    typealias Context = KilnContext

    let options: RequestGuardOptions

    func handle(_ request: Request, context: KilnContext, next: (Request, KilnContext) async throws -> Response) async throws -> Response {
        var context = context
        let host = Self.hostName(request.head.authority ?? "")
        // Browsers always send Host, so a request without one (HTTP/1.0 tools) cannot be a rebinding attack.
        if let allowed = options.allowedHosts, !host.isEmpty, !allowed.contains(host) {
            throw DataError.badRequest(code: "unknown_host", message: "This node does not answer to the host name \"\(host.prefix(100))\".")
        }
        if options.trustProxy {
            if let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!] {
                // The proxy appends the address it saw, so the last entry is the one it vouches for.
                let last = forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if !last.isEmpty, last.utf8.count <= 64 { context.forwardedFor = last }
            }
            context.isSecure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        }
        let safe = request.method == .get || request.method == .head || request.method == .options
        if !safe, let origin = request.headers[HTTPField.Name("Origin")!], request.headers[.authorization] == nil {
            // A browser names the page a write comes from; a form on another site must not sign people in, sign them up
            // or act in their session. Bearer-token clients are not browsers and carry no ambient credential.
            let originHost = Self.hostName(origin.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? "")
            guard origin != "null", originHost == host else {
                throw DataError.forbidden("This form was sent from another site (\(origin.prefix(100))); open Kiln's own page and try again.")
            }
        }
        return try await next(request, context)
    }

    /// The lower-cased host of a `Host` header or authority, without its port.
    static func hostName(_ authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("[") {
            return lowered.split(separator: "]", maxSplits: 1).first.map { $0 + "]" } ?? lowered
        }
        return lowered.split(separator: ":", maxSplits: 1).first.map(String.init) ?? lowered
    }
}
