// Accounts and tokens on both SQL engines.
import Foundation
import KilnData
import Testing

@Suite("Accounts")
struct AccountStoreTests {
    @Test("Register, log in and authenticate with the issued token", arguments: TestEngine.available)
    func registerLoginAuthenticate(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let user = try await services.accounts.register(username: "alice", password: "correct horse battery")
            let (token, credential) = try await services.accounts.login(username: "alice", password: "correct horse battery")
            #expect(credential.user == user)
            #expect(token.count == 64)
            let verified = try await services.accounts.authenticate(token: token)
            #expect(verified?.user.username == "alice")
            #expect(verified?.kind == .api)
            #expect(try await services.accounts.authenticate(token: String(repeating: "0", count: 64)) == nil)
        }
    }

    @Test("A taken username, in any letter case, is a conflict", arguments: TestEngine.available)
    func usernameTaken(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            _ = try await services.accounts.register(username: "alice", password: "correct horse battery")
            await #expect(throws: DataError.conflict(code: "username_taken", message: "The username \"Alice\" is taken.")) {
                try await services.accounts.register(username: "Alice", password: "another password")
            }
        }
    }

    @Test("A wrong password and an unknown user get the same refusal", arguments: TestEngine.available)
    func wrongPassword(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            _ = try await services.accounts.register(username: "alice", password: "correct horse battery")
            await #expect(throws: DataError.unauthorized("Wrong username or password.")) {
                try await services.accounts.login(username: "alice", password: "wrong password")
            }
            await #expect(throws: DataError.unauthorized("Wrong username or password.")) {
                try await services.accounts.login(username: "nobody", password: "wrong password")
            }
        }
    }

    @Test("Session tokens carry a CSRF token and stop working once revoked", arguments: TestEngine.available)
    func sessions(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            _ = try await services.accounts.register(username: "alice", password: "correct horse battery")
            let (token, credential) = try await services.accounts.login(username: "alice", password: "correct horse battery", kind: .session)
            #expect(credential.csrf?.count == 64)
            #expect(try await services.accounts.authenticate(token: token)?.csrf == credential.csrf)
            try await services.accounts.revoke(token: token)
            #expect(try await services.accounts.authenticate(token: token) == nil)
        }
    }

    @Test("Bad usernames and passwords are refused before anything is stored",
          arguments: [("ab", "long enough password"), ("has space", "long enough password"), ("alice", "short"),
                      ("alice", String(repeating: "x", count: 73))])
    func validation(username: String, password: String) {
        #expect(throws: DataError.self) { try AccountStore.validate(username: username, password: password) }
    }
}
