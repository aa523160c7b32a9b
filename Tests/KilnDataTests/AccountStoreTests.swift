// Accounts and tokens on both SQL engines.
import Foundation
import KilnData
import Synchronization
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
                      ("alice", String(repeating: "x", count: 73)), ("alice", "long enough\u{0}password")])
    func validation(username: String, password: String) {
        #expect(throws: DataError.self) { try AccountStore.validate(username: username, password: password) }
    }

    @Test("Concurrent sign-ups of one name in different cases leave exactly one account", arguments: TestEngine.available)
    func concurrentSignUpsOfOneName(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let names = ["ada", "Ada", "ADA", "aDa", "adA", "AdA", "aDA", "ADa"]
            let outcomes = await withTaskGroup(of: String.self) { group in
                for name in names {
                    group.addTask {
                        do {
                            _ = try await services.accounts.register(username: name, password: "correct horse battery")
                            return "created"
                        } catch let error as DataError {
                            return error.code
                        } catch {
                            return "unexpected: \(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.sorted() == ["created"] + Array(repeating: "username_taken", count: names.count - 1))
        }
    }

    @Test("Changing a password revokes every token of the user, and the old password stops working", arguments: TestEngine.available)
    func changePasswordRevokesTokens(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let user = try await services.accounts.register(username: "alice", password: "correct horse battery")
            let (api, _) = try await services.accounts.login(username: "alice", password: "correct horse battery")
            let (session, _) = try await services.accounts.login(username: "alice", password: "correct horse battery", kind: .session)
            try await services.accounts.changePassword(userId: user.id, to: "a brand new password")
            #expect(try await services.accounts.authenticate(token: api) == nil)
            #expect(try await services.accounts.authenticate(token: session) == nil)
            await #expect(throws: DataError.unauthorized("Wrong username or password.")) {
                try await services.accounts.login(username: "alice", password: "correct horse battery")
            }
            #expect(try await services.accounts.login(username: "alice", password: "a brand new password").credential.user == user)
        }
    }

    @Test("API tokens expire after their lifetime (90 days by default); sessions after 14 days", arguments: TestEngine.available)
    func tokensExpire(engine: TestEngine) async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_790_000_000))
        try await withServices(engine, now: { clock.withLock { $0 } }) { services in
            _ = try await services.accounts.register(username: "alice", password: "correct horse battery")
            let (api, _) = try await services.accounts.login(username: "alice", password: "correct horse battery", kind: .api)
            let (session, _) = try await services.accounts.login(username: "alice", password: "correct horse battery", kind: .session)
            clock.withLock { $0 = $0.addingTimeInterval(14 * 86_400 + 1) }
            #expect(try await services.accounts.authenticate(token: session) == nil)
            #expect(try await services.accounts.authenticate(token: api) != nil)
            clock.withLock { $0 = Date(timeIntervalSince1970: 1_790_000_000 + 90 * 86_400 + 1) }
            #expect(try await services.accounts.authenticate(token: api) == nil)
        }
    }
}
