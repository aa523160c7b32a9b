// Sign up, sign in and sign out in the browser.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension WebController {
    /// The sign-up form.
    @Sendable func registerPage(_ request: Request, context: KilnContext) async throws -> Response {
        AccountViews.page(.register, context, next: request.uri.queryParameters.get("next"))
    }

    /// Creates the account, signs it in and returns to where the person came from.
    @Sendable func registerPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let username = form["username"].trimmingCharacters(in: .whitespaces)
        let next = WebSession.safeNext(form["next"])
        guard form["password"] == form["password2"] else {
            return AccountViews.page(.register, context, next: next, username: username, error: "The two passwords differ; type the same one twice.",
                                     status: .badRequest)
        }
        do {
            try attempts.spendAddress(context.clientAddress)
            let user = try await services.accounts.register(username: username, password: form["password"])
            // The password was checked a moment ago; signing in again would only spend a second bcrypt.
            let (token, _) = try await services.accounts.issueToken(for: user, kind: .session)
            return WebSession.signIn(token: token, then: next, secure: context.isSecure)
        } catch let error as DataError {
            return AccountViews.page(.register, context, next: next, username: username, error: error.message,
                                     status: .init(code: error.status))
        }
    }

    /// The sign-in form.
    @Sendable func loginPage(_ request: Request, context: KilnContext) async throws -> Response {
        AccountViews.page(.login, context, next: request.uri.queryParameters.get("next"))
    }

    /// Checks the password and sets the session cookie; a wrong one re-renders the form with a 401.
    @Sendable func loginPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let username = form["username"].trimmingCharacters(in: .whitespaces)
        let next = WebSession.safeNext(form["next"])
        do {
            let (token, _) = try await attempts.login(address: context.clientAddress, username: username) {
                try await services.accounts.login(username: username, password: form["password"], kind: .session)
            }
            return WebSession.signIn(token: token, then: next, secure: context.isSecure)
        } catch let error as DataError where error.status == 401 {
            return AccountViews.page(.login, context, next: next, username: username,
                                     error: "Wrong username or password. Check both and try again.", status: .unauthorized)
        } catch let error as DataError where error.status == 429 {
            return AccountViews.page(.login, context, next: next, username: username, error: error.message, status: .tooManyRequests)
        }
    }

    /// Ends the session (CSRF-checked, so another site cannot sign people out).
    @Sendable func logoutPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        _ = try form.requireUser(context)
        if let token = context.sessionToken {
            try await services.accounts.revoke(token: token)
        }
        return WebSession.signOut(then: "/", secure: context.isSecure)
    }
}

/// The sign-up and sign-in forms.
enum AccountViews {
    /// Which of the two forms.
    enum Mode {
        case register
        case login
    }

    /// The form page, with the typed username kept and an error shown when there is one.
    static func page(_ mode: Mode, _ context: KilnContext, next: String?, username: String = "", error: String? = nil,
                     status: HTTPResponse.Status = .ok) -> Response {
        let next = WebSession.safeNext(next)
        let isRegister = mode == .register
        let title = isRegister ? "Create your account" : "Sign in"
        let confirm: HTML = isRegister ? """
            <label for="password2">Repeat the password</label>
            <input id="password2" name="password2" type="password" required minlength="8" maxlength="72" autocomplete="new-password">
            """ : ""
        let switchLink: HTML = isRegister
            ? "<p class=\"muted\">Already have an account? <a href=\"/login?next=\(WebSession.queryValue(next))\">Sign in</a>.</p>"
            : "<p class=\"muted\">New to Kiln? <a href=\"/register?next=\(WebSession.queryValue(next))\">Create an account</a>.</p>"
        let signedIn: HTML = context.credential.map { credential in
            "<p class=\"notice\">You are signed in as <strong>\(credential.user.username)</strong>.</p>"
        } ?? ""
        return Layout.render(isRegister ? "Sign up" : "Sign in", context, status: status, """
            <section class="card narrow auth">
            <h1>\(title)</h1>
            <p class="lead">\(isRegister ? "Everyone can contribute to a Datanet; you can also start your own and curate it." : "Welcome back.")</p>
            \(signedIn)\(Views.errorBox(error))
            <form method="post" action="\(isRegister ? "/register" : "/login")" class="stack" id="\(isRegister ? "register-form" : "login-form")">
            <input type="hidden" name="next" value="\(next)">
            <label for="username">Username</label>
            <input id="username" name="username" value="\(username)" required minlength="3" maxlength="32" autocomplete="username"
             pattern="[A-Za-z0-9._\\-]+" autofocus>
            \(isRegister ? HTML("<p class=\"hint\">3 to 32 letters, digits, '.', '-' or '_'.</p>") : "")
            <label for="password">Password</label>
            <input id="password" name="password" type="password" required minlength="\(isRegister ? 8 : 1)" maxlength="72"
             autocomplete="\(isRegister ? "new-password" : "current-password")">
            \(isRegister ? HTML("<p class=\"hint\">At least 8 characters.</p>") : "")
            \(confirm)
            <button type="submit" class="button primary" id="\(isRegister ? "register-submit" : "login-submit")">\(isRegister ? "Create account" : "Sign in")</button>
            </form>
            \(switchLink)
            </section>
            """)
    }
}
