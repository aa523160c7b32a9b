// Creating, listing and finding Datanets, and who curates them.
import Foundation
import KilnAPI
import KilnLedger
import KilnStore
import SQLKit
import Synchronization

/// What a client sends to create a Datanet; rules left out take the kind's defaults.
public struct CreateDatanetRequest: Decodable, Sendable {
    public var slug: String
    public var title: String
    public var description: String
    public var kind: DatanetKind
    public var schema: TextSchema
    public var license: String
    /// The rules after merging the given fields over the defaults.
    public var rules: DatanetRules
    /// Whether only its curators (and admins) may see it.
    public var isPrivate = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case slug, title, description, kind, schema, rules, license
        case isPrivate = "private"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        slug = try c.decode(String.self, forKey: .slug)
        title = try c.decode(String.self, forKey: .title)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        guard let kind = DatanetKind(rawValue: try c.decode(String.self, forKey: .kind)) else {
            throw DataError.badRequest(code: "invalid_value", message: "kind must be text, image or audio.")
        }
        self.kind = kind
        let schemaName = try c.decodeIfPresent(String.self, forKey: .schema) ?? "plain"
        guard let schema = TextSchema(rawValue: schemaName) else {
            throw DataError.badRequest(code: "invalid_value", message: "schema must be plain, instruction or chat.")
        }
        self.schema = schema
        license = try c.decodeIfPresent(String.self, forKey: .license) ?? "CC-BY-4.0"
        let given = try c.decodeIfPresent(StrictRulesBody.self, forKey: .rules)?.body ?? RulesBody()
        rules = DatanetRules(given, over: DatanetRules.defaults(for: kind))
        isPrivate = try c.decodeIfPresent(Bool.self, forKey: .isPrivate) ?? false
    }

    /// Creates a request in code (CLI, demo, tests).
    public init(slug: String, title: String, description: String, kind: DatanetKind, schema: TextSchema = .plain,
                license: String = "CC-BY-4.0", rules: DatanetRules? = nil, isPrivate: Bool = false) {
        self.isPrivate = isPrivate
        self.slug = slug
        self.title = title
        self.description = description
        self.kind = kind
        self.schema = schema
        self.license = license
        self.rules = rules ?? DatanetRules.defaults(for: kind)
    }

    /// Checks every field.
    /// - Throws: `DataError.badRequest` naming the first bad one.
    public func validate(limits: UploadLimits = UploadLimits()) throws {
        guard DatanetSlug.isValid(slug) else {
            throw DataError.badRequest(code: "invalid_slug", message: "A slug has \(DatanetSlug.rule).")
        }
        let trimmedTitle = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmedTitle.isEmpty, title.count <= 200 else {
            throw DataError.badRequest(code: "invalid_title", message: "A title has 1 to 200 characters.")
        }
        guard description.count <= 5000 else {
            throw DataError.badRequest(code: "invalid_description", message: "A description has at most 5000 characters.")
        }
        guard !license.isEmpty, license.count <= 100 else {
            throw DataError.badRequest(code: "invalid_license", message: "A licence is an SPDX id or name of at most 100 characters.")
        }
        if kind != .text && schema != .plain {
            throw DataError.badRequest(code: "invalid_schema", message: "Image and audio Datanets use the plain schema.")
        }
        try rules.validate(for: kind, limits: limits)
    }
}

extension RulesBody {
    /// Decodes rules a client sent, refusing fields the API does not know (a typo must not be silently ignored).
    static func strict(from decoder: any Decoder) throws -> RulesBody {
        try decoder.rejectUnknownKeys(Set(CodingKeys.allCases.map(\.rawValue)))
        return try RulesBody(from: decoder)
    }
}

/// `RulesBody` decoded strictly, for `decodeIfPresent`.
struct StrictRulesBody: Decodable {
    let body: RulesBody

    init(from decoder: any Decoder) throws {
        body = try RulesBody.strict(from: decoder)
    }
}

/// A Datanet with its live counts, for lists and pages.
public struct DatanetSummary: Sendable {
    /// The Datanet.
    public var datanet: Datanet
    /// Items by status.
    public var accepted: Int
    public var pending: Int
    public var rejected: Int
    /// Contributors with at least one accepted item.
    public var contributors: Int
    /// Published versions.
    public var versions: Int
    /// Usernames of the curators.
    public var curators: [String]
}

/// Stores Datanets and their curators.
public final class DatanetStore: Sendable {
    private let database: Database
    private let ledger: LedgerStore
    private let now: @Sendable () -> Date
    private let limits: UploadLimits
    // Datanets change rarely and are read on every submission, so they are cached by slug.
    private let cache = Mutex<[String: Datanet]>([:])

    /// Creates the store; changes are recorded on `ledger`, and new rules must stay within `limits`.
    public init(database: Database, ledger: LedgerStore, limits: UploadLimits = UploadLimits(), now: @escaping @Sendable () -> Date = Date.init) {
        self.limits = limits
        self.database = database
        self.ledger = ledger
        self.now = now
    }

    /// Creates a Datanet; its creator becomes its first curator.
    /// - Throws: `DataError.badRequest` for bad fields, `.conflict` if the slug is taken.
    public func create(_ request: CreateDatanetRequest, by user: User) async throws -> Datanet {
        try request.validate(limits: limits)
        let created = Int(now().timeIntervalSince1970 * 1000)
        let rulesJSON = String(decoding: try JSONEncoder.sorted.encode(request.rules), as: UTF8.self)
        return try await database.write { sql in
            if try await sql.raw("SELECT id FROM datanets WHERE slug = \(bind: request.slug)").first() != nil {
                throw DataError.conflict(code: "slug_taken", message: "A Datanet named \"\(request.slug)\" already exists.")
            }
            let row = try await sql.raw("""
                INSERT INTO datanets (slug, title, description, kind, schema, rules, license, created_by, created_at, is_private)
                VALUES (\(bind: request.slug), \(bind: request.title), \(bind: request.description), \(bind: request.kind.rawValue),
                        \(bind: request.schema.rawValue), \(bind: rulesJSON), \(bind: request.license), \(bind: user.id), \(bind: created),
                        \(bind: request.isPrivate ? 1 : 0))
                RETURNING id
                """).first()
            let id = try row!.decode(column: "id", as: Int.self)
            try await sql.raw("INSERT INTO curators (datanet_id, user_id, added_at) VALUES (\(bind: id), \(bind: user.id), \(bind: created))").run()
            try await self.ledger.append(kind: LedgerEntry.Kind.datanetCreated, payload: [
                "datanet_id": CanonicalJSON(id), "slug": .string(request.slug), "kind": .string(request.kind.rawValue),
                "schema": .string(request.schema.rawValue), "license": .string(request.license), "creator_id": CanonicalJSON(user.id),
                "rules_sha256": .string(BlobStore.hash(Array(rulesJSON.utf8))),
            ], subject: .datanet(request.slug), sql: sql)
            return Datanet(id: id, slug: request.slug, title: request.title, description: request.description, kind: request.kind,
                           schema: request.schema, rules: request.rules, license: request.license, createdBy: user.id, createdAt: created,
                           isPrivate: request.isPrivate)
        }
    }

    /// The Datanet named `slug`.
    /// - Throws: `DataError.notFound`.
    public func get(_ slug: String) async throws -> Datanet {
        if let hit = cache.withLock({ $0[slug] }) { return hit }
        let row = try await database.read { sql in
            try await sql.raw("SELECT * FROM datanets WHERE slug = \(bind: slug)").first()
        }
        guard let row else { throw DataError.notFound("There is no Datanet named \"\(slug)\".") }
        let datanet = try Self.datanet(row)
        cache.withLock { $0[slug] = datanet }
        return datanet
    }

    /// A page of the Datanets `viewer` may see (private ones only for their curators and admins), with their counts,
    /// newest first, after the id in `page.after`.
    public func list(page: PageRequest, viewer: User? = nil) async throws -> Page<DatanetSummary> {
        let before = page.after ?? RequestNumber.maxValue
        let everything = viewer?.isAdmin == true ? 1 : 0
        let viewerID = viewer?.id ?? -1
        let summaries = try await database.read { sql in
            let rows = try await sql.raw("""
                \(unsafeRaw: Self.summarySelect) WHERE d.id < \(bind: before)
                AND (d.is_private = 0 OR \(bind: everything) = 1
                     OR EXISTS (SELECT 1 FROM curators c WHERE c.datanet_id = d.id AND c.user_id = \(bind: viewerID)))
                ORDER BY d.id DESC LIMIT \(bind: page.limit + 1)
                """).all()
            var out: [DatanetSummary] = []
            for row in rows { out.append(try await Self.summary(row, sql: sql)) }
            return out
        }
        let items = Array(summaries.prefix(page.limit))
        return Page(items: items, next: summaries.count > page.limit ? items.last.map { String($0.datanet.id) } : nil)
    }

    /// One Datanet's counts.
    public func summary(of datanet: Datanet) async throws -> DatanetSummary {
        try await database.read { sql in
            let row = try await sql.raw("\(unsafeRaw: Self.summarySelect) WHERE d.id = \(bind: datanet.id)").first()
            guard let row else { throw DataError.notFound("There is no Datanet \(datanet.slug).") }
            return try await Self.summary(row, sql: sql)
        }
    }

    /// The Datanet's row with its counters; contributors and versions are counted over their own small tables.
    static let summarySelect = """
        SELECT d.*, (SELECT COUNT(*) FROM standings t WHERE t.datanet_id = d.id AND t.accepted > 0) AS contributors,
            (SELECT COUNT(*) FROM versions v WHERE v.datanet_id = d.id) AS version_count
        FROM datanets d
        """

    static func summary(_ row: any SQLRow, sql: any SQLDatabase) async throws -> DatanetSummary {
        let datanet = try Self.datanet(row)
        let curators = try await sql.raw("""
            SELECT u.username FROM curators c JOIN users u ON u.id = c.user_id WHERE c.datanet_id = \(bind: datanet.id) ORDER BY c.added_at, u.id
            """).all().map { try $0.decode(column: "username", as: String.self) }
        return DatanetSummary(datanet: datanet, accepted: try row.decode(column: "accepted_count", as: Int.self),
                              pending: try row.decode(column: "pending_count", as: Int.self),
                              rejected: try row.decode(column: "rejected_count", as: Int.self),
                              contributors: try row.decode(column: "contributors", as: Int.self),
                              versions: try row.decode(column: "version_count", as: Int.self), curators: curators)
    }

    /// Whether `user` may review and publish in `datanet` (its curators and every admin).
    public func canCurate(_ user: User, _ datanet: Datanet) async throws -> Bool {
        if user.isAdmin { return true }
        return try await database.read { sql in
            try await sql.raw("SELECT 1 AS one FROM curators WHERE datanet_id = \(bind: datanet.id) AND user_id = \(bind: user.id)").first() != nil
        }
    }

    /// The slugs of the Datanets `user` curates.
    public func curated(by user: User) async throws -> Set<String> {
        try await database.read { sql in
            let rows = try await sql.raw("""
                SELECT d.slug FROM curators c JOIN datanets d ON d.id = c.datanet_id WHERE c.user_id = \(bind: user.id)
                """).all()
            return Set(try rows.map { try $0.decode(column: "slug", as: String.self) })
        }
    }

    /// Adds a curator to a Datanet (idempotent).
    public func addCurator(_ user: User, to datanet: Datanet) async throws {
        let added = Int(now().timeIntervalSince1970 * 1000)
        try await database.write { sql in
            if try await sql.raw("SELECT 1 AS one FROM curators WHERE datanet_id = \(bind: datanet.id) AND user_id = \(bind: user.id)").first() == nil {
                try await sql.raw("INSERT INTO curators (datanet_id, user_id, added_at) VALUES (\(bind: datanet.id), \(bind: user.id), \(bind: added))").run()
            }
        }
    }

    static func datanet(_ row: any SQLRow) throws -> Datanet {
        let rules = try JSONDecoder().decode(DatanetRules.self, from: Data(try row.decode(column: "rules", as: String.self).utf8))
        return Datanet(id: try row.decode(column: "id", as: Int.self), slug: try row.decode(column: "slug", as: String.self),
                       title: try row.decode(column: "title", as: String.self), description: try row.decode(column: "description", as: String.self),
                       kind: DatanetKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .text,
                       schema: TextSchema(rawValue: try row.decode(column: "schema", as: String.self)) ?? .plain, rules: rules,
                       license: try row.decode(column: "license", as: String.self), createdBy: try row.decode(column: "created_by", as: Int.self),
                       createdAt: try row.decode(column: "created_at", as: Int.self),
                       isPrivate: try row.decode(column: "is_private", as: Int.self) != 0)
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, for stable stored JSON.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
