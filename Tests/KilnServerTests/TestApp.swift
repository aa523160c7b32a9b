// A Kiln application over fresh SQLite stores, driven in-process through Hummingbird's router tester.
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnData
import KilnServer
import KilnStore
import NIOCore
import Testing

/// One test's node: stores, and helpers that speak the API.
struct TestNode: Sendable {
    let services: KilnServices
    let client: any TestClientProtocol

    /// Runs `body` against a fresh node; with `models`, training jobs run on it with that models directory.
    static func run(models: URL? = nil, _ body: @Sendable (TestNode) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try await Database.sqlite(path: folder.appendingPathComponent("kiln.sqlite").path)
        try await Migrator.migrate(database)
        let services = KilnServices(database: database, blobs: try BlobStore(root: folder.appendingPathComponent("blobs")),
                                    dataDirectory: folder, bcryptCost: 4)
        // Every router-test request comes from the same (absent) address; the budgets are tested against a real server.
        let attempts = AttemptLimits(perAddressBurst: 1_000_000, perAddressPerMinute: 1_000_000)
        let training = models.map { TrainingNode(services: services, catalog: ModelCatalog(directory: $0)) }
        let app = Application(router: buildRouter(services, attempts: attempts, training: training))
        do {
            try await app.test(.router) { client in
                try await body(TestNode(services: services, client: client))
            }
        } catch {
            await services.close()
            throw error
        }
        await services.close()
    }

    /// Sends a request and returns the response.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, contentType: String? = nil,
              body: [UInt8]? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let contentType { headers[.contentType] = contentType }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
    }

    /// Sends a JSON body.
    @discardableResult
    func json(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, _ object: [String: Any]) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await send(method, uri, token: token, contentType: "application/json", body: Array(data))
    }

    /// Registers and logs in a user, returning the bearer token.
    func user(_ name: String) async throws -> String {
        let register = try await json(.post, "/api/auth/register", ["username": name, "password": "correct horse battery"])
        #expect(register.status == .created)
        let login = try await json(.post, "/api/auth/login", ["username": name, "password": "correct horse battery"])
        #expect(login.status == .ok)
        return try #require(login.object["token"] as? String)
    }

    /// Creates a Datanet through the API.
    @discardableResult
    func datanet(_ slug: String, kind: String = "text", token: String, rules: [String: Any] = [:]) async throws -> TestResponse {
        try await json(.post, "/api/datanets", token: token, [
            "slug": slug, "title": "Title of \(slug)", "description": "About \(slug).", "kind": kind, "schema": "plain",
            "license": "CC0-1.0", "rules": rules,
        ])
    }

    /// Row counts of every table: equal snapshots mean nothing was stored or changed in between.
    func snapshot() async throws -> [String: Int] {
        try await services.database.read { sql in
            var counts: [String: Int] = [:]
            for table in ["users", "datanets", "curators", "submissions", "submission_events", "minhash_bands", "versions", "version_items",
                          "ledger_entries", "ledger_heads"] {
                counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self)
            }
            counts["decided"] = try await sql.raw("SELECT COUNT(*) AS n FROM submissions WHERE decided_at IS NOT NULL").first()!
                .decode(column: "n", as: Int.self)
            return counts
        }
    }
}

extension TestResponse {
    /// The body parsed as a JSON object (empty if it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// The `items` of a list response.
    var items: [[String: Any]] {
        object["items"] as? [[String: Any]] ?? []
    }

    /// Whether the body is Kiln's error shape `{"error":{"code","message"}}`.
    var isErrorBody: Bool {
        guard let error = object["error"] as? [String: Any] else { return false }
        return error["code"] is String && error["message"] is String
    }

    /// The error code, if the body is an error.
    var errorCode: String? {
        (object["error"] as? [String: Any])?["code"] as? String
    }
}

/// A multipart/form-data body with one file per entry.
func multipart(_ files: [(field: String, name: String, data: [UInt8])], boundary: String = "kilnboundary42") -> [UInt8] {
    var body: [UInt8] = []
    for file in files {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += file.data
        body += Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return body
}

/// A small valid PNG (8×8 red), made with Python's zlib and struct and pasted as bytes.
let validPNG: [UInt8] = Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4oaGBFTEMLQkAgl1GAWqNFmsAAAAASUVORK5CYII=")!)
