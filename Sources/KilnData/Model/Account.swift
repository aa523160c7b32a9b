// People and their credentials.
import Foundation

/// A registered person; everyone may contribute, some curate Datanets, admins may do anything.
public struct User: Sendable, Equatable, Codable {
    /// The database id.
    public var id: Int
    /// The unique login and display name.
    public var username: String
    /// Whether this user administers the whole node.
    public var isAdmin: Bool
    /// When the account was made, Unix milliseconds.
    public var createdAt: Int

    /// Creates a user value.
    public init(id: Int, username: String, isAdmin: Bool, createdAt: Int) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
        self.createdAt = createdAt
    }
}

/// What a credential is for: API bearer tokens, or a browser session cookie with its CSRF token.
public enum TokenKind: String, Sendable {
    case api
    case session
}

/// A verified credential: who holds it and, for browser sessions, the CSRF token its forms must echo.
public struct Credential: Sendable, Equatable {
    /// The holder.
    public var user: User
    /// API token or browser session.
    public var kind: TokenKind
    /// The CSRF token bound to a browser session; `nil` for API tokens.
    public var csrf: String?
}
