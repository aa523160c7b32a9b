// The account page: change the password, sign out everywhere.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension WebController {
    /// The account settings page.
    @Sendable func accountPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard context.credential != nil else { return WebSession.loginRedirect(request) }
        let notice: String? = switch request.uri.queryParameters.get("done") {
        case "password": "Your password is changed. Every other session and API token was signed out."
        case "revoked": "Every session and API token was signed out, this one included; you are signed in again here."
        default: nil
        }
        return AccountSettingsViews.render(context, notice: notice, error: nil)
    }

    /// Changes the password after checking the current one, then signs this browser in again (every session was revoked).
    @Sendable func passwordPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        guard form["new_password"] == form["new_password2"] else {
            return AccountSettingsViews.render(context, notice: nil, error: "The two new passwords differ; type the same one twice.",
                                               status: .badRequest)
        }
        do {
            try await attempts.login(address: context.clientAddress, username: user.username) {
                try await services.accounts.verifyPassword(userId: user.id, form["current_password"])
            }
            try await services.accounts.changePassword(userId: user.id, to: form["new_password"])
        } catch let error as DataError where error.status < 500 {
            return AccountSettingsViews.render(context, notice: nil, error: error.message, status: .init(code: error.status))
        }
        let (token, _) = try await services.accounts.issueToken(for: user, kind: .session)
        return WebSession.signIn(token: token, then: "/account?done=password", secure: context.isSecure)
    }

    /// Revokes every session and token of the user (a lost laptop, a leaked token), then signs this browser in again.
    @Sendable func revokeAllPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        try await services.accounts.revokeAll(userId: user.id)
        let (token, _) = try await services.accounts.issueToken(for: user, kind: .session)
        return WebSession.signIn(token: token, then: "/account?done=revoked", secure: context.isSecure)
    }
}

/// The account settings page.
enum AccountSettingsViews {
    /// The page with its two forms and an optional notice or error.
    static func render(_ context: KilnContext, notice: String?, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        let csrf = context.credential?.csrf
        let message: HTML = if let error {
            "<div class=\"alert error\" role=\"alert\" id=\"account-error\">\(error)</div>"
        } else if let notice {
            "<div class=\"alert success\" role=\"status\" id=\"account-notice\">\(notice)</div>"
        } else {
            ""
        }
        let content: HTML = """
            <section class="page-head"><h1>Your account</h1><p class="lead">Signed in as <strong>\(context.credential?.user.username ?? "")</strong>.</p></section>
            \(message)
            <div class="grid">
            <form class="card" method="post" action="/account/password" id="password-form">
              <h2>Change your password</h2>
              <input type="hidden" name="csrf" value="\(csrf)">
              <label for="current_password">Current password</label>
              <input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
              <label for="new_password">New password</label>
              <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required>
              <label for="new_password2">New password again</label>
              <input id="new_password2" name="new_password2" type="password" autocomplete="new-password" minlength="8" required>
              <p class="muted">8 to 72 bytes. Every other session and API token is signed out.</p>
              <button class="button primary" id="change-password">Change password</button>
            </form>
            <form class="card" method="post" action="/account/revoke-all" id="revoke-form">
              <h2>Sign out everywhere</h2>
              <input type="hidden" name="csrf" value="\(csrf)">
              <p>Ends every browser session and revokes every API token from <code>kiln login</code>, for a lost laptop or a leaked token.
              API tokens also expire on their own (90 days unless the node says otherwise).</p>
              <button class="button" id="revoke-all">Sign out everywhere</button>
            </form>
            </div>
            """
        return Layout.render("Your account", context, status: status, content)
    }
}
