// Form posts from the browser: parsing url-encoded bodies, the CSRF check, the session cookie and redirects.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

/// A parsed `application/x-www-form-urlencoded` body, keeping repeated fields (checkboxes) in order.
struct WebForm: Sendable {
    /// Every `name=value` pair, decoded.
    var fields: [(name: String, value: String)]

    /// The most bytes a browser form may send; Kiln's forms hold a few short fields and one description.
    static let maxBytes = 256 * 1024

    /// Reads and decodes the request body.
    /// - Throws: `DataError.unsupportedMediaType` for other content types, `.tooLarge` over the cap,
    ///   `.badRequest` for broken percent-encoding.
    static func read(_ request: Request) async throws -> WebForm {
        guard UploadReader.mediaType(request) == "application/x-www-form-urlencoded" else {
            throw DataError.unsupportedMediaType("This page expects a form sent by the browser (application/x-www-form-urlencoded).")
        }
        let body = try await UploadReader.collect(request, limit: maxBytes)
        return try WebForm(urlEncoded: String(decoding: body, as: UTF8.self))
    }

    /// Decodes `a=1&b=two+words`.
    /// - Throws: `DataError.badRequest` when a field's percent-encoding is broken.
    init(urlEncoded text: String) throws {
        fields = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            // '+' means a space only in this encoding, so it is replaced before percent-decoding.
            func decode(_ raw: Substring) throws -> String {
                guard let value = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw DataError.badRequest(code: "invalid_form", message: "The form could not be read; reload the page and try again.")
                }
                return value
            }
            fields.append((try decode(parts[0]), parts.count > 1 ? try decode(parts[1]) : ""))
        }
    }

    /// The first value of `name`, or "" when absent.
    subscript(_ name: String) -> String {
        fields.first { $0.name == name }?.value ?? ""
    }

    /// The first value of `name` trimmed, or `nil` when absent or blank.
    func trimmed(_ name: String) -> String? {
        let value = self[name].trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// Every value of `name`, in form order.
    func values(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    /// The signed-in user, if this form carries their session's CSRF token.
    ///
    /// Cookie-authenticated form posts cannot set headers, so the token travels as a hidden field; a
    /// page on another site cannot read it, which is what makes the check meaningful.
    /// - Throws: `DataError.unauthorized` when not signed in, `.forbidden` when the token is missing or stale.
    func requireUser(_ context: KilnContext) throws -> User {
        guard let credential = context.credential else {
            throw DataError.unauthorized("Your session has ended; sign in again.")
        }
        guard credential.kind == .session, let expected = credential.csrf, Self.constantTimeEqual(self["csrf"], expected) else {
            throw DataError.forbidden("This form has expired or did not come from Kiln; reload the page and try again.")
        }
        return credential.user
    }

    /// Compares without stopping at the first difference, so timing does not leak how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// Sessions, redirects and sign-in requirements shared by the page handlers.
enum WebSession {
    /// A 303 redirect to a page of this site.
    static func redirect(_ path: String) -> Response {
        Response.redirect(to: path, type: .normal)
    }

    /// A redirect that sets the session cookie, `Secure` when the client came over TLS.
    static func signIn(token: String, then path: String, secure: Bool) -> Response {
        var response = redirect(path)
        response.setCookie(Cookie(name: AuthMiddleware.cookieName, value: token, maxAge: Int(AccountStore.sessionLifetime),
                                  path: "/", secure: secure, httpOnly: true, sameSite: .lax))
        return response
    }

    /// A redirect that clears the session cookie.
    static func signOut(then path: String, secure: Bool) -> Response {
        var response = redirect(path)
        response.setCookie(Cookie(name: AuthMiddleware.cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true,
                                  sameSite: .lax))
        return response
    }

    /// Where to go after signing in: a local path only, so the parameter cannot send people to another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return "/" }
        return next
    }

    /// The sign-in page, returning to the current page afterwards.
    static func loginRedirect(_ request: Request) -> Response {
        redirect("/login?next=" + queryValue(request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")))
    }

    /// `text` percent-encoded to sit inside one query parameter, so its own `?` and `&` stay part of it.
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_.~"))) ?? "/"
    }
}
