// Identifies the caller from a bearer token or the browser session cookie.
import HTTPTypes
import Hummingbird
import KilnData

/// Fills `KilnContext.credential`; routes decide whether they need one.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = KilnContext

    /// The browser session cookie's name.
    static let cookieName = "kiln_session"

    let accounts: AccountStore

    func handle(_ request: Request, context: KilnContext, next: (Request, KilnContext) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer",
                  let credential = try await accounts.authenticate(token: String(parts[1]).trimmingCharacters(in: .whitespaces)),
                  credential.kind == .api
            else {
                throw DataError.unauthorized("The bearer token is not valid; log in again to get a new one.")
            }
            context.credential = credential
        } else if let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty,
                  let credential = try await accounts.authenticate(token: cookie), credential.kind == .session {
            context.credential = credential
            context.sessionToken = cookie
            // Reads cannot change anything, so only writes need the token a cross-site page cannot know.
            let safe = request.method == .get || request.method == .head || request.method == .options
            context.csrfHeaderVerified = safe || request.headers[csrfHeader] == credential.csrf
        }
        return try await next(request, context)
    }
}

/// The header browser scripts send the session's CSRF token in.
let csrfHeader = HTTPField.Name("X-CSRF-Token")!
