// A Datanet, its counts and a leaderboard row as the API writes them.

/// A Datanet with its rules, and its counts and curators where the route includes them.
public struct DatanetBody: Codable, Sendable {
    public var id: Int
    public var slug: String
    public var title: String
    public var description: String
    /// `text`, `image` or `audio`.
    public var kind: String
    /// `plain`, `instruction` or `chat` (text); `plain` for media.
    public var schema: String
    public var license: String
    public var rules: RulesBody
    /// ISO 8601, UTC.
    public var createdAt: String
    public var counts: Counts?
    public var curators: [String]?
    /// Seen by its curators and admins alone; absent from older nodes' answers.
    public var isPrivate: Bool?

    /// Items by status, contributors with an accepted item, and published versions.
    public struct Counts: Codable, Sendable, Equatable {
        public var accepted: Int
        public var pending: Int
        public var rejected: Int
        public var contributors: Int
        public var versions: Int

        /// Counts.
        public init(accepted: Int, pending: Int, rejected: Int, contributors: Int, versions: Int) {
            self.accepted = accepted
            self.pending = pending
            self.rejected = rejected
            self.contributors = contributors
            self.versions = versions
        }
    }

    /// A Datanet.
    public init(id: Int, slug: String, title: String, description: String, kind: String, schema: String, license: String, rules: RulesBody,
                createdAt: String, counts: Counts? = nil, curators: [String]? = nil) {
        self.id = id
        self.slug = slug
        self.title = title
        self.description = description
        self.kind = kind
        self.schema = schema
        self.license = license
        self.rules = rules
        self.createdAt = createdAt
        self.counts = counts
        self.curators = curators
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, title, description, kind, schema, license, rules, counts, curators
        case createdAt = "created_at"
        case isPrivate = "private"
    }
}

/// A leaderboard row: `{"rank","username","accepted","accepted_bytes"}`.
public struct StandingBody: Codable, Sendable, Equatable {
    /// 1 for the top; equal standings share a rank.
    public var rank: Int
    public var username: String
    public var accepted: Int
    public var acceptedBytes: Int

    /// A row.
    public init(rank: Int, username: String, accepted: Int, acceptedBytes: Int) {
        self.rank = rank
        self.username = username
        self.accepted = accepted
        self.acceptedBytes = acceptedBytes
    }

    enum CodingKeys: String, CodingKey {
        case rank, username, accepted
        case acceptedBytes = "accepted_bytes"
    }
}
