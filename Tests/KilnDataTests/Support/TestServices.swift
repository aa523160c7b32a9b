// Fresh stores for each test, on SQLite and, when the test script started one, on PostgreSQL.
import Foundation
import KilnData
import KilnStore
import Testing

/// The SQL engines a store test runs on.
enum TestEngine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when `KILN_TEST_POSTGRES_URL` names a server (scripts/test starts one and sets
    /// `KILN_REQUIRE_POSTGRES=1`, so CI cannot silently skip it).
    static var available: [TestEngine] {
        let env = ProcessInfo.processInfo.environment
        if env["KILN_TEST_POSTGRES_URL"] != nil || env["KILN_REQUIRE_POSTGRES"] == "1" { return [.sqlite, .postgres] }
        return [.sqlite]
    }
}

/// Opens migrated stores in a private SQLite folder or PostgreSQL schema, runs `body`, then removes them.
func withServices(_ engine: TestEngine, now: @escaping @Sendable () -> Date = Date.init, limits: UploadLimits = UploadLimits(),
                  _ body: (KilnServices) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let database: Database
    var cleanup: (@Sendable () async -> Void)?
    switch engine {
    case .sqlite:
        database = try await Database.sqlite(path: folder.appendingPathComponent("kiln.sqlite").path)
    case .postgres:
        guard let url = ProcessInfo.processInfo.environment["KILN_TEST_POSTGRES_URL"] else {
            Issue.record("KILN_REQUIRE_POSTGRES=1 but KILN_TEST_POSTGRES_URL is not set")
            return
        }
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try await Database.postgres(url: url)
        _ = try await admin.write { sql in try await sql.raw("CREATE SCHEMA \(unsafeRaw: schema)").run() }
        database = try await Database.postgres(url: url, searchPath: [schema])
        cleanup = {
            _ = try? await admin.write { sql in try await sql.raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run() }
            await admin.close()
        }
    }
    try await Migrator.migrate(database)
    let services = KilnServices(database: database, blobs: try BlobStore(root: folder.appendingPathComponent("blobs")),
                                dataDirectory: folder, limits: limits, now: now, bcryptCost: 4)
    do {
        try await body(services)
    } catch {
        await services.close()
        await cleanup?()
        throw error
    }
    await services.close()
    await cleanup?()
}

/// A text item in the plain schema.
func plain(_ text: String) -> IncomingItem {
    .text(.plain(text: text), format: "txt", repairedUTF8: false)
}

/// A text Datanet with the given limits, created by `curator`.
func makeTextDatanet(_ services: KilnServices, curator: User, slug: String = "baking", dailyLimit: Int = 100,
                     minChars: Int? = 10) async throws -> Datanet {
    try await services.datanets.create(CreateDatanetRequest(
        slug: slug, title: "Baking", description: "Notes", kind: .text, schema: .plain,
        rules: DatanetRules(formats: ["txt", "jsonl"], maxItemBytes: 4000, dailyLimit: dailyLimit, minChars: minChars, maxChars: 2000)),
        by: curator)
}
