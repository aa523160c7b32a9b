// Registration, login and the caller's own view.
import Foundation
import KilnAPI
import Hummingbird
import KilnData

/// `{current_password, new_password}`: a password change proves the old one.
struct PasswordChangeRequest: Decodable {
    var current_password: String
    var new_password: String

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["current_password", "new_password"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        current_password = try c.decode(String.self, forKey: .current_password)
        new_password = try c.decode(String.self, forKey: .new_password)
    }

    enum CodingKeys: String, CodingKey { case current_password, new_password }
}

/// `{username, password}`, as register and login take it.
struct PasswordRequest: Decodable {
    var username: String
    var password: String

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["username", "password"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        username = try c.decode(String.self, forKey: .username)
        password = try c.decode(String.self, forKey: .password)
    }

    enum CodingKeys: String, CodingKey { case username, password }
}

extension APIController {
    @Sendable func register(_ request: Request, context: KilnContext) async throws -> Response {
        let body = try await decodeBody(PasswordRequest.self, request)
        try attempts.spendAddress(context.clientAddress)
        let user = try await services.accounts.register(username: body.username, password: body.password)
        return JSON.response(UserBody(user), status: .created)
    }

    @Sendable func login(_ request: Request, context: KilnContext) async throws -> Response {
        let body = try await decodeBody(PasswordRequest.self, request)
        let (token, credential) = try await attempts.login(address: context.clientAddress, username: body.username) {
            try await services.accounts.login(username: body.username, password: body.password)
        }
        return JSON.response(LoginBody(token: token, user: UserBody(credential.user)))
    }

    @Sendable func logout(_ request: Request, context: KilnContext) async throws -> Response {
        _ = try context.requireUser()
        if let header = request.headers[.authorization], let token = header.split(separator: " ").last {
            try await services.accounts.revoke(token: String(token))
        }
        return Response(status: .noContent)
    }

    @Sendable func changePassword(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await decodeBody(PasswordChangeRequest.self, request)
        // Guessing the current password with a stolen session spends the same budgets as guessing it at the login form.
        try await attempts.login(address: context.clientAddress, username: user.username) {
            try await services.accounts.verifyPassword(userId: user.id, body.current_password)
        }
        try await services.accounts.changePassword(userId: user.id, to: body.new_password)
        return Response(status: .noContent)
    }

    @Sendable func revokeAllTokens(_ request: Request, context: KilnContext) async throws -> Response {
        struct Body: Encodable {
            var revoked: Int
        }
        let user = try context.requireUser()
        return JSON.response(Body(revoked: try await services.accounts.revokeAll(userId: user.id)))
    }

    @Sendable func me(_ request: Request, context: KilnContext) async throws -> Response {
        struct Body: Encodable {
            var user: UserBody
            var curates: [String]
        }
        let user = try context.requireUser()
        let curated = try await services.datanets.curated(by: user)
        return JSON.response(Body(user: UserBody(user), curates: curated.sorted()))
    }

    @Sendable func mySubmissions(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let page = try await services.submissions.mine(user, page: try page(request))
        return JSON.response(PageBody(items: page.items.map { SubmissionBody($0, viewer: user) }, next: page.next))
    }
}
