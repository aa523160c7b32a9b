// The storage layer: blobs, migrations and the async lock.
import Foundation
import KilnStore
import Testing

@Suite("Storage")
struct StoreTests {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("Blobs are named by their SHA-256 and stored once")
    func blobRoundTrip() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blobs = try BlobStore(root: folder)
        // SHA-256("hello\n") from `printf 'hello\n' | sha256sum`.
        let sha = try blobs.put(Data("hello\n".utf8))
        #expect(sha == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        #expect(try blobs.put(Data("hello\n".utf8)) == sha)
        #expect(try blobs.get(sha) == Data("hello\n".utf8))
        #expect(try blobs.url(for: sha).path.hasSuffix("/58/91b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"))
    }

    @Test("A damaged blob is reported, and keys that are not hashes cannot escape the folder")
    func blobIntegrity() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blobs = try BlobStore(root: folder)
        let sha = try blobs.put(Data("bread".utf8))
        try Data("brexd".utf8).write(to: try blobs.url(for: sha))
        #expect(throws: StoreError.corruptBlob(sha256: sha)) { try blobs.get(sha) }
        #expect(throws: StoreError.badBlobKey("../../etc/passwd")) { try blobs.get("../../etc/passwd") }
        #expect(throws: StoreError.missingBlob(sha256: String(repeating: "a", count: 64))) { try blobs.get(String(repeating: "a", count: 64)) }
    }

    @Test("Writes a crash left in tmp/ are cleared on open")
    func strayTemporaryFilesRemoved() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try BlobStore(root: folder)
        let stray = folder.appendingPathComponent("tmp/half-written")
        try Data("partial".utf8).write(to: stray)
        _ = try BlobStore(root: folder)
        #expect(!FileManager.default.fileExists(atPath: stray.path))
    }

    @Test("Migrating twice is a no-op, and a newer schema is refused")
    func migrations() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try await Database.sqlite(path: folder.appendingPathComponent("kiln.sqlite").path)
        try await Migrator.migrate(database)
        try await Migrator.migrate(database)
        let count = try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM schema_migrations").first()!.decode(column: "n", as: Int.self)
        }
        #expect(count == Migrator.migrations.count)
        try await database.write { sql in
            try await sql.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run()
        }
        await #expect(throws: StoreError.newerSchema(found: 999, known: Migrator.migrations.last!.version)) {
            try await Migrator.migrate(database)
        }
        await database.close()
    }

    @Test("A failed write transaction leaves nothing behind")
    func rollback() async throws {
        struct Boom: Error {}
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try await Database.sqlite(path: folder.appendingPathComponent("kiln.sqlite").path)
        try await Migrator.migrate(database)
        await #expect(throws: Boom.self) {
            try await database.write { sql in
                try await sql.raw("INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ('x', 'y', 0, 0)").run()
                throw Boom()
            }
        }
        let users = try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM users").first()!.decode(column: "n", as: Int.self)
        }
        #expect(users == 0)
        await database.close()
    }

    @Test("The async lock admits one holder at a time")
    func asyncLockExcludes() async throws {
        let lock = AsyncLock()
        let counter = Box()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await lock.withLock {
                        let inside = counter.enter()
                        #expect(inside == 1)
                        await Task.yield()
                        counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.maxInside == 1)
    }
}

/// Counts how many tasks are inside a critical section at once.
final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var inside = 0
    private(set) var maxInside = 0

    func enter() -> Int {
        lock.lock()
        defer { lock.unlock() }
        inside += 1
        maxInside = max(maxInside, inside)
        return inside
    }

    func leave() {
        lock.lock()
        inside -= 1
        lock.unlock()
    }
}
