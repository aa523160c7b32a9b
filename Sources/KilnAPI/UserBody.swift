// An account and a login as the API writes them.

/// A user: `{"id","username","is_admin","created_at"}`.
public struct UserBody: Codable, Sendable, Equatable {
    public var id: Int
    public var username: String
    public var isAdmin: Bool
    /// ISO 8601, UTC.
    public var createdAt: String

    /// A user.
    public init(id: Int, username: String, isAdmin: Bool, createdAt: String) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, username
        case isAdmin = "is_admin"
        case createdAt = "created_at"
    }
}

/// `POST /api/auth/login`'s answer: a bearer token and who it stands for.
public struct LoginBody: Codable, Sendable {
    public var token: String
    public var user: UserBody

    /// A login answer.
    public init(token: String, user: UserBody) {
        self.token = token
        self.user = user
    }
}
