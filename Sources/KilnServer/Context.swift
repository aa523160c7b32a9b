// The per-request state routes share: who is calling and how they proved it.
import Hummingbird
import KilnData
import NIOCore

/// Request context for every Kiln route.
public struct KilnContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's own per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The verified caller, if any.
    public var credential: Credential?
    /// The raw session token, when the caller came in with the browser cookie.
    public var sessionToken: String?
    /// Whether a cookie-authenticated write carried the session's CSRF token in `X-CSRF-Token`.
    public var csrfHeaderVerified = false

    /// The peer's address (the proxy's, behind one).
    public let remoteAddress: SocketAddress?
    /// The client's address as a trusted proxy reported it (`--trust-proxy` only).
    public var forwardedFor: String?
    /// Whether the client reached the node over TLS (a trusted proxy said so), so cookies are marked `Secure`.
    public var isSecure = false

    /// Creates an anonymous context.
    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, for per-client limits; "unknown" when the transport has none.
    public var clientAddress: String {
        forwardedFor ?? remoteAddress?.ipAddress ?? "unknown"
    }

    /// Uploads are read and capped by the routes themselves, per Datanet rules.
    public var maxUploadSize: Int { 80 * 1024 * 1024 }

    /// The caller, or a 401 if anonymous; cookie callers must also have passed the CSRF check.
    public func requireUser() throws -> User {
        guard let credential else {
            throw DataError.unauthorized("Sign in first: send \"Authorization: Bearer <token>\" (POST /api/auth/login gives one).")
        }
        if credential.kind == .session && !csrfHeaderVerified {
            throw DataError.forbidden("The request is missing the X-CSRF-Token header of this session.")
        }
        return credential.user
    }
}
