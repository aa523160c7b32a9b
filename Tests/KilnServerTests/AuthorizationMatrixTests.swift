// Every route × {anonymous, contributor, curator of another Datanet, curator, admin}, with the expected status.
import Foundation
import HTTPTypes
import HummingbirdTesting
import KilnData
@testable import KilnServer
import Testing

@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    enum Role: String, CaseIterable, Sendable {
        case anonymous, contributor, otherCurator, curator, admin
    }

    /// One route and the status each role gets. `fresh` makes a new pending item for routes that consume one.
    struct Row: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var body: [String: String]?
        var expected: [Role: Int]
        var freshItem = false
    }

    static func everyone(_ status: Int) -> [Role: Int] {
        Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, status) })
    }

    static func signedIn(_ status: Int) -> [Role: Int] {
        var map = everyone(status)
        map[.anonymous] = 401
        return map
    }

    static func curators(_ status: Int) -> [Role: Int] {
        [.anonymous: 401, .contributor: 403, .otherCurator: 403, .curator: status, .admin: status]
    }

    static let rows: [Row] = [
        Row(method: .get, path: "/api/datanets", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking/leaderboard", expected: everyone(200)),
        Row(method: .get, path: "/api/leaderboard", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking/versions", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking/versions/1", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking/versions/1/export.jsonl", expected: everyone(200)),
        Row(method: .get, path: "/api/submissions/{accepted}", expected: everyone(200)),
        Row(method: .get, path: "/api/submissions/{accepted}/receipt", expected: everyone(200)),
        Row(method: .get, path: "/api/datanets/baking/versions/1/receipt", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/key", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/head", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/entries?from=0&limit=5", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/entries/0", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/proof/inclusion?seq=0&tree_size=2", expected: everyone(200)),
        Row(method: .get, path: "/api/ledger/proof/consistency?first=1&second=2", expected: everyone(200)),
        Row(method: .get, path: "/api/me", expected: signedIn(200)),
        Row(method: .get, path: "/api/me/submissions", expected: signedIn(200)),
        Row(method: .post, path: "/api/datanets/{new}", expected: signedIn(201)),
        Row(method: .post, path: "/api/datanets/baking/submissions", body: ["text": "{unique}"], expected: signedIn(201)),
        Row(method: .get, path: "/api/datanets/baking/queue", expected: curators(200)),
        Row(method: .get, path: "/api/submissions/{pending}", expected: curators(200)),
        Row(method: .post, path: "/api/submissions/{pending}/review", body: ["decision": "accept"], expected: curators(200), freshItem: true),
        Row(method: .post, path: "/api/submissions/{pending}/review", body: ["decision": "reject", "reason": "Off topic"],
            expected: curators(200), freshItem: true),
        Row(method: .post, path: "/api/datanets/baking/curators", body: ["username": "owner"], expected: curators(200)),
        Row(method: .post, path: "/api/datanets/baking/versions", expected: curators(201)),
        // This node has no training worker, so a curator's well-formed request meets 422 training_disabled; the others
        // are stopped by the access policy first.
        Row(method: .post, path: "/api/datanets/baking/versions/1/train", body: ["base": "default"], expected: curators(422)),
        Row(method: .post, path: "/api/datanets/baking/training-jobs/999999/cancel", expected: curators(404)),
        Row(method: .get, path: "/api/training-jobs", expected: everyone(200)),
        // Runs are open to every signed-in user; past the access policy, a body without a version is a 400 and a run that
        // does not exist a 404 (private runs of others answer the same 404: RunAccessTests).
        Row(method: .post, path: "/api/runs", body: ["base": "default"], expected: signedIn(400)),
        Row(method: .post, path: "/api/runs/estimate", body: ["base": "default"], expected: signedIn(400)),
        Row(method: .get, path: "/api/conversations", expected: signedIn(200)),
        Row(method: .post, path: "/api/conversations", body: ["title": "t"], expected: signedIn(400)),
        Row(method: .get, path: "/api/conversations/999999", expected: signedIn(404)),
        Row(method: .put, path: "/api/conversations/999999", body: ["title": "t"], expected: signedIn(400)),
        Row(method: .delete, path: "/api/conversations/999999", expected: signedIn(404)),
        // Knowledge bases belong to their owner; one that does not exist (or is another's private base) answers 404.
        Row(method: .get, path: "/api/knowledge", expected: signedIn(200)),
        Row(method: .post, path: "/api/knowledge", body: ["name": "Notes"], expected: signedIn(201)),
        Row(method: .get, path: "/api/knowledge/999999", expected: signedIn(404)),
        Row(method: .delete, path: "/api/knowledge/999999", expected: signedIn(404)),
        Row(method: .post, path: "/api/knowledge/999999/documents", body: ["text": "x"], expected: signedIn(404)),
        Row(method: .post, path: "/api/knowledge/999999/datanet-versions", body: ["datanet": "baking"], expected: signedIn(404)),
        Row(method: .get, path: "/api/knowledge/999999/documents/1", expected: signedIn(404)),
        Row(method: .delete, path: "/api/knowledge/999999/documents/1", expected: signedIn(404)),
        Row(method: .get, path: "/api/knowledge/999999/chunks/1", expected: signedIn(404)),
        Row(method: .post, path: "/api/knowledge/999999/search", body: ["query": "ovens"], expected: signedIn(404)),
        Row(method: .get, path: "/api/knowledge-uses/chatcmpl-none", expected: signedIn(404)),
        Row(method: .post, path: "/api/runs/999999/cancel", expected: signedIn(404)),
        Row(method: .post, path: "/api/runs/999999/resume", expected: signedIn(404)),
        Row(method: .get, path: "/api/runs", expected: everyone(200)),
        Row(method: .post, path: "/api/auth/password",
            body: ["current_password": "correct horse battery", "new_password": "correct horse battery"], expected: signedIn(204)),
        Row(method: .post, path: "/api/auth/revoke-all", expected: signedIn(200)),
        Row(method: .post, path: "/api/auth/logout", expected: signedIn(204)),
    ]

    @Test("The matrix covers every guarded endpoint of the API table, expecting what the table's access says")
    func matrixFollowsTheTable() async throws {
        try await TestNode.run { node in
            let endpoints = APIController(services: node.services, attempts: AttemptLimiter(AttemptLimits())).endpoints
            for endpoint in endpoints {
                let pattern = "^/api/" + endpoint.path.split(separator: "/").map { $0.hasPrefix(":") ? "[^/]+" : NSRegularExpression.escapedPattern(for: String($0)) }
                    .joined(separator: "/") + "$"
                let rows = Self.rows.filter { row in
                    let path = row.path.split(separator: "?")[0].replacingOccurrences(of: "{new}", with: "")
                    let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
                    return row.method == endpoint.method && trimmed.range(of: pattern, options: .regularExpression) != nil
                }
                switch endpoint.access {
                case .anyone:
                    for row in rows where row.path.contains("{pending}") == false {
                        #expect(row.expected[.anonymous] != 401, "\(endpoint.method) \(endpoint.path) is open to anyone")
                    }
                case .user:
                    #expect(!rows.isEmpty, "\(endpoint.method) \(endpoint.path) (signed-in users) has no row in the matrix")
                    // Any signed-in user gets past the policy: whatever the route answers then, it is not 401 or 403.
                    for row in rows { #expect(row.expected[.anonymous] == 401 && row.expected[.contributor].map { $0 != 401 && $0 != 403 } == true) }
                case .curator:
                    #expect(!rows.isEmpty, "\(endpoint.method) \(endpoint.path) (curators) has no row in the matrix")
                    for row in rows { #expect(row.expected == Self.curators(row.expected[.curator] ?? 0)) }
                }
            }
        }
    }

    @Test("Each route answers each role as expected")
    func matrix() async throws {
        try await TestNode.run { node in
            let curator = try await node.user("curator")
            let other = try await node.user("othercurator")
            let owner = try await node.user("owner")
            _ = try await node.user("contributor")
            _ = try await node.user("admin")
            let adminUser = try #require(try await node.services.accounts.user(named: "admin"))
            try await node.services.accounts.setAdmin(adminUser.id, true)
            try await node.datanet("baking", token: curator)
            try await node.datanet("elsewhere", token: other)
            let accepted = try await pendingItem(node, owner: owner)
            _ = try await node.json(.post, "/api/submissions/\(accepted)/review", token: curator, ["decision": "accept"])
            _ = try await node.send(.post, "/api/datanets/baking/versions", token: curator)

            var counter = 0
            for row in Self.rows {
                for role in Role.allCases {
                    counter += 1
                    // Tokens are issued per request so that logout in one cell cannot affect another.
                    let token: String? = switch role {
                    case .anonymous: nil
                    case .contributor: try await login(node, "contributor")
                    case .otherCurator: try await login(node, "othercurator")
                    case .curator: try await login(node, "curator")
                    case .admin: try await login(node, "admin")
                    }
                    var path = row.path.replacingOccurrences(of: "{accepted}", with: String(accepted))
                    if path.contains("{pending}") {
                        path = path.replacingOccurrences(of: "{pending}", with: String(try await pendingItem(node, owner: owner)))
                    }
                    var body = row.body?.mapValues { $0 == "{unique}" ? "A unique note number \(counter) about dough." : $0 }
                    if path == "/api/datanets/{new}" {
                        path = "/api/datanets"
                        body = ["slug": "net-\(counter)", "title": "Net \(counter)", "kind": "text"]
                    }
                    let response: TestResponse
                    if let body {
                        response = try await node.json(row.method, path, token: token, body)
                    } else {
                        response = try await node.send(row.method, path, token: token)
                    }
                    #expect(Int(response.status.code) == row.expected[role], "\(row.method) \(row.path) as \(role.rawValue)")
                    if response.status.code >= 400 {
                        #expect(response.isErrorBody, "\(row.method) \(row.path) as \(role.rawValue)")
                    }
                }
            }
        }
    }

    func login(_ node: TestNode, _ name: String) async throws -> String {
        let response = try await node.json(.post, "/api/auth/login", ["username": name, "password": "correct horse battery"])
        return try #require(response.object["token"] as? String)
    }

    func pendingItem(_ node: TestNode, owner: String) async throws -> Int {
        let response = try await node.json(.post, "/api/datanets/baking/submissions", token: owner,
                                           ["text": "Owner's note \(UUID().uuidString) about ovens."])
        return try #require(response.object["id"] as? Int)
    }
}
