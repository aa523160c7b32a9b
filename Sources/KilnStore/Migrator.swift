// Applying the schema: each migration newer than the database, in its own transaction, with the dialect placeholders expanded.
import Foundation
import SQLKit

extension Migrator {
    /// Applies every migration newer than the database's version, each in its own transaction.
    /// - Throws: `StoreError.newerSchema` if the database was migrated by a newer Kiln.
    public static func migrate(_ database: Database) async throws {
        let engine = database.engine
        try await database.write { sql in
            let create = expand("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version {int} PRIMARY KEY, name TEXT NOT NULL, applied_at {int} NOT NULL)
                """, for: engine)
            try await sql.raw("\(unsafeRaw: create)").run()
        }
        let known = migrations.last?.version ?? 0
        for migration in migrations {
            try await database.write { sql in
                // The check runs inside the write so two servers starting together apply each migration once.
                try await database.lock(sql, key: 0x6B696C6E)
                let row = try await sql.raw("SELECT MAX(version) AS v FROM schema_migrations").first()
                let current = try row?.decodeNil(column: "v") == false ? try row!.decode(column: "v", as: Int.self) : 0
                if current > known { throw StoreError.newerSchema(found: current, known: known) }
                guard current < migration.version else { return }
                for statement in migration.statements {
                    var body = statement.trimmingCharacters(in: .whitespacesAndNewlines)
                    for (marker, only) in [("-- sqlite", SQLEngine.sqlite), ("-- postgres", .postgres)] where body.hasPrefix(marker) {
                        body = engine == only ? String(body.dropFirst(marker.count)) : ""
                    }
                    if body.isEmpty { continue }
                    try await sql.raw("\(unsafeRaw: expand(body, for: engine))").run()
                }
                let now = Int(Date().timeIntervalSince1970 * 1000)
                try await sql.raw("""
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now))
                    """).run()
            }
        }
    }

    /// Replaces the dialect placeholders in a statement.
    static func expand(_ statement: String, for engine: SQLEngine) -> String {
        let types: [(String, String)] = switch engine {
        case .sqlite: [("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT"), ("{int}", "INTEGER"), ("{real}", "REAL"), ("{bool}", "INTEGER")]
        case .postgres: [("{id}", "BIGSERIAL PRIMARY KEY"), ("{int}", "BIGINT"), ("{real}", "DOUBLE PRECISION"), ("{bool}", "BIGINT")]
        }
        return types.reduce(statement) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }
}
