// The JSON API's behaviour as the issue writes it, through the real router.
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("JSON API")
struct APITests {
    @Test("Registering a taken name is 409; a wrong password is 401; both with error bodies")
    func accounts() async throws {
        try await TestNode.run { node in
            _ = try await node.user("alice")
            let again = try await node.json(.post, "/api/auth/register", ["username": "alice", "password": "another password"])
            #expect(again.status == .conflict)
            #expect(again.errorCode == "username_taken")
            let wrong = try await node.json(.post, "/api/auth/login", ["username": "alice", "password": "not the password"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.isErrorBody)
        }
    }

    @Test("Malformed requests get 4xx error bodies and store nothing")
    func malformedRequests() async throws {
        try await TestNode.run { node in
            let token = try await node.user("alice")
            try await node.datanet("baking", token: token, rules: ["max_item_bytes": 200, "min_chars": 5])
            let before = try await node.snapshot()
            let cases: [(String, [UInt8], HTTPResponse.Status, String)] = [
                ("application/json", Array("{not json".utf8), .badRequest, "invalid_json"),
                ("application/json", Array(#"{"text": 5}"#.utf8), .badRequest, "wrong_type"),
                ("application/json", Array(#"{"text": "fine text", "extra": 1}"#.utf8), .badRequest, "unknown_field"),
                ("application/json", Array(#"{"txt": "fine text"}"#.utf8), .badRequest, "unknown_field"),
                ("application/json", Array(#"{"text": "\#(String(repeating: "a", count: 300))"}"#.utf8), .contentTooLarge, "payload_too_large"),
                ("text/plain", Array("just text".utf8), .unsupportedMediaType, "unsupported_media_type"),
                ("multipart/form-data; boundary=xyz", Array("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello there".utf8),
                 .badRequest, "truncated_multipart"),
                ("application/x-ndjson", Array("{\"text\":\"fine text\"}\n{broken\n".utf8), .badRequest, "invalid_json"),
            ]
            for (type, body, status, code) in cases {
                let response = try await node.send(.post, "/api/datanets/baking/submissions", token: token, contentType: type, body: body)
                #expect(response.status == status, "\(type): \(String(decoding: body.prefix(40), as: UTF8.self))")
                #expect(response.errorCode == code)
            }
            #expect(try await node.snapshot() == before)
        }
    }

    @Test("Hostile content in a well-formed request becomes a rejected item with its reason")
    func hostileContent() async throws {
        try await TestNode.run { node in
            let token = try await node.user("alice")
            try await node.datanet("loaves", kind: "image", token: token, rules: ["formats": ["png"], "min_pixels": 16])
            try await node.datanet("notes", token: token)
            let zip: [UInt8] = Array("PK\u{03}\u{04}".utf8) + [UInt8](repeating: 7, count: 40)
            let fake = try await node.send(.post, "/api/datanets/loaves/submissions", token: token,
                                           contentType: "multipart/form-data; boundary=kilnboundary42", body: multipart([("file", "fake.png", zip)]))
            #expect(fake.status == .created)
            #expect(fake.object["status"] as? String == "rejected")
            #expect(fake.object["reason_code"] as? String == "unrecognised_format")
            #expect(fake.object["stage"] as? String == "auto")
            let png = try await node.send(.post, "/api/datanets/loaves/submissions", token: token,
                                          contentType: "multipart/form-data; boundary=kilnboundary42", body: multipart([("file", "red.png", validPNG)]))
            #expect(png.object["status"] as? String == "pending")
            #expect(png.object["width"] as? Int == 8)
            // Invalid UTF-8 inside a JSON string: kept, rejected, and shown with replacement characters.
            let body: [UInt8] = Array(#"{"text": "caf"#.utf8) + [0xC3, 0x28] + Array(#" latte and croissant"}"#.utf8)
            let bad = try await node.send(.post, "/api/datanets/notes/submissions", token: token, contentType: "application/json", body: body)
            #expect(bad.status == .created)
            #expect(bad.object["reason_code"] as? String == "invalid_utf8")
        }
    }

    @Test("A JSONL batch stores every line; over the daily limit the whole batch gets 429 with its reset time")
    func batches() async throws {
        try await TestNode.run { node in
            let token = try await node.user("alice")
            try await node.datanet("notes", token: token, rules: ["daily_limit": 3, "min_chars": 5])
            let lines = (0..<3).map { #"{"text": "Batch line number \#($0) about flour."}"# }.joined(separator: "\n")
            let ok = try await node.send(.post, "/api/datanets/notes/submissions", token: token, contentType: "application/x-ndjson",
                                         body: Array(lines.utf8))
            #expect(ok.status == .created)
            #expect(ok.items.map { $0["status"] as? String } == ["pending", "pending", "pending"])
            let before = try await node.snapshot()
            let over = try await node.json(.post, "/api/datanets/notes/submissions", token: token, ["text": "One more item past the limit."])
            #expect(over.status == .tooManyRequests)
            #expect(over.errorCode == "daily_limit_reached")
            #expect(over.headers[.retryAfter] != nil)
            #expect((over.object["error"] as? [String: Any])?["resets_at"] is String)
            #expect(try await node.snapshot() == before)
        }
    }

    @Test("Review, leaderboard, publish and export work end to end")
    func reviewPublishExport() async throws {
        try await TestNode.run { node in
            let curator = try await node.user("curator")
            let bob = try await node.user("bob")
            try await node.datanet("notes", token: curator)
            var ids: [Int] = []
            for index in 0..<3 {
                let r = try await node.json(.post, "/api/datanets/notes/submissions", token: bob, ["text": "Note \(index) on crust colour and sugar."])
                ids.append(try #require(r.object["id"] as? Int))
            }
            let queue = try await node.send(.get, "/api/datanets/notes/queue?limit=2", token: curator)
            #expect(queue.items.compactMap { $0["id"] as? Int } == Array(ids.prefix(2)))
            #expect(queue.object["next"] as? String != nil)
            let missingReason = try await node.json(.post, "/api/submissions/\(ids[0])/review", token: curator, ["decision": "reject"])
            #expect(missingReason.status == .unprocessableContent)
            for id in ids.prefix(2) {
                #expect(try await node.json(.post, "/api/submissions/\(id)/review", token: curator, ["decision": "accept"]).status == .ok)
            }
            let board = try await node.send(.get, "/api/datanets/notes/leaderboard")
            #expect(board.items.first?["username"] as? String == "bob")
            #expect(board.items.first?["accepted"] as? Int == 2)
            #expect(board.items.first?["rank"] as? Int == 1)
            let version = try await node.send(.post, "/api/datanets/notes/versions", token: curator)
            #expect(version.status == .created)
            #expect(version.object["version"] as? Int == 1)
            #expect((version.object["merkle_root"] as? String)?.count == 64)
            let export = try await node.send(.get, "/api/datanets/notes/versions/1/export.jsonl")
            let lines = String(decoding: export.body.readableBytesView, as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 2)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
            #expect(first?["text"] as? String == "Note 0 on crust colour and sugar.")
            #expect(first?["contributor"] as? String == "bob")
        }
    }

    @Test("List parameters are checked", arguments: ["limit=0", "limit=1001", "limit=abc", "cursor=-4", "cursor=x"])
    func listParameters(query: String) async throws {
        try await TestNode.run { node in
            let response = try await node.send(.get, "/api/leaderboard?\(query)")
            #expect(response.status == .badRequest)
            #expect(response.isErrorBody)
        }
    }

    @Test("Unknown routes and methods answer with JSON errors")
    func unknownRoutes() async throws {
        try await TestNode.run { node in
            let missing = try await node.send(.get, "/api/nothing-here")
            #expect(missing.status == .notFound)
            #expect(missing.isErrorBody)
            let noDatanet = try await node.send(.get, "/api/datanets/none")
            #expect(noDatanet.status == .notFound)
            #expect(noDatanet.errorCode == "not_found")
        }
    }
}
