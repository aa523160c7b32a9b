// Accounts, passwords (bcrypt) and the tokens that stand for a logged-in user.
import Crypto
import Foundation
import KilnLedger
import HummingbirdBcrypt
import KilnStore
import SQLKit
import Synchronization

/// Registers users, checks passwords and issues and verifies tokens.
///
/// Tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the database does not
/// hand out logins. Verified tokens are cached briefly because every write request checks one.
public final class AccountStore: Sendable {
    private let database: Database
    private let now: @Sendable () -> Date
    private let bcryptCost: UInt8
    private let bcrypt: BcryptPool
    private let cache = Mutex<[String: (Credential, Date)]>([:])

    private let apiTokenLifetime: TimeInterval

    /// How long a browser session lasts.
    public static let sessionLifetime: TimeInterval = 14 * 24 * 3600

    /// Creates the store; `bcryptCost` is lowered only by tests; API tokens expire after `apiTokenLifetime` (default 90 days).
    public init(database: Database, now: @escaping @Sendable () -> Date = Date.init, bcryptCost: UInt8 = 10,
                bcrypt: BcryptPool = BcryptPool(), apiTokenLifetime: TimeInterval = 90 * 24 * 3600) {
        self.apiTokenLifetime = apiTokenLifetime
        self.bcrypt = bcrypt
        self.database = database
        self.now = now
        self.bcryptCost = bcryptCost
    }

    /// Creates an account.
    /// - Throws: `DataError.badRequest` for a bad name or short password, `.conflict` if the name is taken.
    public func register(username: String, password: String, isAdmin: Bool = false) async throws -> User {
        try Self.validate(username: username, password: password)
        let hash = try await bcrypt.hash(password, cost: bcryptCost)
        let created = Int(now().timeIntervalSince1970 * 1000)
        return try await database.write { sql in
            // The LOWER(username) index decides a taken name in any case, racing sign-ups included: the insert does nothing.
            let row = try await sql.raw("""
                INSERT INTO users (username, password_hash, is_admin, created_at)
                VALUES (\(bind: username), \(bind: hash), \(bind: isAdmin ? 1 : 0), \(bind: created))
                ON CONFLICT DO NOTHING RETURNING id
                """).first()
            guard let row else { throw DataError.conflict(code: "username_taken", message: "The username \"\(username)\" is taken.") }
            return User(id: try row.decode(column: "id", as: Int.self), username: username, isAdmin: isAdmin, createdAt: created)
        }
    }

    /// Checks a password and issues a token of `kind`.
    /// - Throws: `DataError.unauthorized` for an unknown user or a wrong password (the same message for both).
    public func login(username: String, password: String, kind: TokenKind = .api) async throws -> (token: String, credential: Credential) {
        // No stored password contains NUL (sign-up refuses it), and bcrypt would stop reading at it.
        guard !password.utf8.contains(0) else { throw DataError.unauthorized("Wrong username or password.") }
        let lowered = username.lowercased()
        let row = try await database.read { sql in
            try await sql.raw("SELECT id, username, password_hash, is_admin, created_at FROM users WHERE LOWER(username) = \(bind: lowered)").first()
        }
        let storedHash = try row?.decode(column: "password_hash", as: String.self)
        // Verify even for unknown users so response time does not reveal which names exist.
        let probe = storedHash ?? Self.decoyHash
        let ok = try await bcrypt.verify(password, hash: probe)
        guard ok, let row else { throw DataError.unauthorized("Wrong username or password.") }
        let user = try Self.user(row)
        return try await issueToken(for: user, kind: kind)
    }

    /// Issues a new token for `user`.
    public func issueToken(for user: User, kind: TokenKind) async throws -> (token: String, credential: Credential) {
        let token = Self.randomToken()
        let csrf = kind == .session ? Self.randomToken() : nil
        let created = Int(now().timeIntervalSince1970 * 1000)
        let expires = created + Int((kind == .session ? Self.sessionLifetime : apiTokenLifetime) * 1000)
        let tokenHash = BlobStore.hash(Array(token.utf8))
        try await database.write { sql in
            try await sql.raw("""
                INSERT INTO tokens (token_hash, user_id, kind, csrf, created_at, expires_at)
                VALUES (\(bind: tokenHash), \(bind: user.id), \(bind: kind.rawValue), \(bind: csrf), \(bind: created), \(bind: expires))
                """).run()
        }
        return (token, Credential(user: user, kind: kind, csrf: csrf))
    }

    /// The credential a token stands for, or `nil` if it is unknown or expired.
    public func authenticate(token: String) async throws -> Credential? {
        guard token.utf8.count <= 256 else { return nil }
        let tokenHash = BlobStore.hash(Array(token.utf8))
        let current = now()
        if let hit = cache.withLock({ $0[tokenHash] }), hit.1 > current { return hit.0 }
        let nowMillis = Int(current.timeIntervalSince1970 * 1000)
        let row = try await database.read { sql in
            try await sql.raw("""
                SELECT u.id, u.username, u.is_admin, u.created_at, t.kind, t.csrf, t.expires_at
                FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = \(bind: tokenHash)
                """).first()
        }
        guard let row else { return nil }
        if let expires = try row.decode(column: "expires_at", as: Int?.self), expires <= nowMillis { return nil }
        let credential = Credential(user: try Self.user(row), kind: TokenKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .api,
                                    csrf: try row.decode(column: "csrf", as: String?.self))
        cache.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[tokenHash] = (credential, current.addingTimeInterval(30))
        }
        return credential
    }

    /// Ends a session or revokes a token.
    public func revoke(token: String) async throws {
        let tokenHash = BlobStore.hash(Array(token.utf8))
        cache.withLock { _ = $0.removeValue(forKey: tokenHash) }
        try await database.write { sql in
            try await sql.raw("DELETE FROM tokens WHERE token_hash = \(bind: tokenHash)").run()
        }
    }

    /// The user with `username`, if any.
    public func user(named username: String) async throws -> User? {
        let lowered = username.lowercased()
        let row = try await database.read { sql in
            try await sql.raw("SELECT id, username, is_admin, created_at FROM users WHERE LOWER(username) = \(bind: lowered)").first()
        }
        return try row.map(Self.user)
    }

    /// Revokes every token and session of `userId` (a lost laptop, a leaked token); returns how many there were.
    @discardableResult
    public func revokeAll(userId: Int) async throws -> Int {
        let count = try await database.write { sql in
            try await sql.raw("DELETE FROM tokens WHERE user_id = \(bind: userId) RETURNING token_hash").all().count
        }
        cache.withLock { $0.removeAll() }
        return count
    }

    /// Checks `password` against `userId`'s, on the bcrypt pool.
    /// - Throws: `DataError.unauthorized` when it does not match.
    public func verifyPassword(userId: Int, _ password: String) async throws {
        let row = try await database.read { sql in
            try await sql.raw("SELECT password_hash FROM users WHERE id = \(bind: userId)").first()
        }
        let hash = try row?.decode(column: "password_hash", as: String.self) ?? Self.decoyHash
        guard !password.utf8.contains(0), try await bcrypt.verify(password, hash: hash), row != nil else {
            throw DataError.unauthorized("The current password is wrong.")
        }
    }

    /// Sets a new password for `userId` and revokes every token and session the user had, so an old login stops working.
    /// - Throws: `DataError.badRequest` for an unacceptable password, `.notFound` for an unknown user.
    public func changePassword(userId: Int, to password: String) async throws {
        try Self.validatePassword(password)
        let hash = try await bcrypt.hash(password, cost: bcryptCost)
        try await database.write { sql in
            guard try await sql.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userId) RETURNING id").first() != nil else {
                throw DataError.notFound("There is no user \(userId).")
            }
            try await sql.raw("DELETE FROM tokens WHERE user_id = \(bind: userId)").run()
        }
        cache.withLock { $0.removeAll() }
    }

    /// Stops the password-hashing thread.
    public func shutdown() async {
        await bcrypt.shutdown()
    }

    /// Makes an existing user an admin (or not).
    public func setAdmin(_ userId: Int, _ isAdmin: Bool) async throws {
        try await database.write { sql in
            try await sql.raw("UPDATE users SET is_admin = \(bind: isAdmin ? 1 : 0) WHERE id = \(bind: userId)").run()
        }
        cache.withLock { $0.removeAll() }
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(id: try row.decode(column: "id", as: Int.self), username: try row.decode(column: "username", as: String.self),
             isAdmin: try row.decode(column: "is_admin", as: Int.self) != 0, createdAt: try row.decode(column: "created_at", as: Int.self))
    }

    /// A real hash to verify against when the user does not exist.
    static let decoyHash = Bcrypt.hash("kiln decoy password", cost: 10)

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Checks a new account's name and password.
    /// - Throws: `DataError.badRequest` saying what to change.
    public static func validate(username: String, password: String) throws {
        let allowed = username.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
        guard (3...32).contains(username.utf8.count), allowed else {
            throw DataError.badRequest(code: "invalid_username", message: "A username has 3 to 32 letters, digits, '.', '-' or '_'.")
        }
        try validatePassword(password)
    }

    /// Checks a new password.
    /// - Throws: `DataError.badRequest` saying what to change.
    public static func validatePassword(_ password: String) throws {
        guard !password.utf8.contains(0) else {
            // bcrypt stops at the first NUL byte, so everything after it would silently not count.
            throw DataError.badRequest(code: "invalid_password", message: "A password cannot contain a NUL character.")
        }
        guard password.count >= 8, password.utf8.count <= 72 else {
            // bcrypt reads only the first 72 bytes; refusing longer passwords avoids a false sense of strength.
            throw DataError.badRequest(code: "invalid_password", message: "A password has 8 to 72 bytes.")
        }
    }
}
