// Password changes and revoke-all end old logins; media is served in byte ranges; the rejection cap answers 429.
import Foundation
import HTTPTypes
import HummingbirdTesting
import KilnData
import NIOCore
import Testing

@Suite("Accounts, media ranges and the rejection cap over HTTP")
struct AccountAndMediaTests {
    @Test("A password change needs the current password and signs out every token")
    func passwordChange() async throws {
        try await TestNode.run { node in
            let first = try await node.user("ada")
            let second = try await node.json(.post, "/api/auth/login", ["username": "ada", "password": "correct horse battery"])
                .object["token"] as? String
            let wrong = try await node.json(.post, "/api/auth/password", token: first,
                                            ["current_password": "not the password", "new_password": "a brand new passphrase"])
            #expect(wrong.status == .unauthorized && wrong.isErrorBody)
            let unknown = try await node.json(.post, "/api/auth/password", token: first, ["current_password": "x", "new": "y"])
            #expect(unknown.status == .badRequest && unknown.errorCode == "unknown_field")
            let changed = try await node.json(.post, "/api/auth/password", token: first,
                                              ["current_password": "correct horse battery", "new_password": "a brand new passphrase"])
            #expect(changed.status == .noContent)
            #expect(try await node.send(.get, "/api/me", token: first).status == .unauthorized)
            #expect(try await node.send(.get, "/api/me", token: second).status == .unauthorized)
            let old = try await node.json(.post, "/api/auth/login", ["username": "ada", "password": "correct horse battery"])
            #expect(old.status == .unauthorized)
            let new = try await node.json(.post, "/api/auth/login", ["username": "ada", "password": "a brand new passphrase"])
            #expect(new.status == .ok)
        }
    }

    @Test("Revoke-all ends every token of the caller and no one else's")
    func revokeAll() async throws {
        try await TestNode.run { node in
            let first = try await node.user("ada")
            let other = try await node.user("bob")
            let second = try #require(try await node.json(.post, "/api/auth/login", ["username": "ada", "password": "correct horse battery"])
                .object["token"] as? String)
            let revoked = try await node.send(.post, "/api/auth/revoke-all", token: second)
            #expect(revoked.status == .ok && revoked.object["revoked"] as? Int == 2)
            #expect(try await node.send(.get, "/api/me", token: first).status == .unauthorized)
            #expect(try await node.send(.get, "/api/me", token: second).status == .unauthorized)
            #expect(try await node.send(.get, "/api/me", token: other).status == .ok)
        }
    }

    @Test("Media is streamed whole or in the byte range asked for (RFC 9110 §14)")
    func mediaRanges() async throws {
        try await TestNode.run { node in
            let owner = try await node.user("owner")
            try await node.datanet("pics", kind: "image", token: owner, rules: ["formats": ["png"], "min_pixels": 1])
            let upload = try await node.send(.post, "/api/datanets/pics/submissions", token: owner,
                                             contentType: "multipart/form-data; boundary=kilnboundary42",
                                             body: multipart([("file", "red.png", validPNG)]))
            let id = try #require(upload.object["id"] as? Int)
            let path = "/api/submissions/\(id)/content"
            let size = validPNG.count
            func get(_ range: String?) async throws -> TestResponse {
                var headers = HTTPFields()
                if let range { headers[.range] = range }
                return try await node.send(.get, path, token: owner, headers: headers)
            }
            let whole = try await get(nil)
            #expect(whole.status == .ok && Array(buffer: whole.body) == validPNG && whole.headers[.acceptRanges] == "bytes")
            let head = try await get("bytes=0-9")
            #expect(head.status == .partialContent && Array(buffer: head.body) == Array(validPNG[0..<10]))
            #expect(head.headers[.contentRange] == "bytes 0-9/\(size)")
            let tail = try await get("bytes=-5")
            #expect(tail.status == .partialContent && Array(buffer: tail.body) == Array(validPNG[(size - 5)...]))
            let open = try await get("bytes=\(size - 3)-")
            #expect(Array(buffer: open.body) == Array(validPNG[(size - 3)...]) && open.headers[.contentRange] == "bytes \(size - 3)-\(size - 1)/\(size)")
            let past = try await get("bytes=\(size)-")
            #expect(past.status == .rangeNotSatisfiable && past.headers[.contentRange] == "bytes */\(size)")
            for ignored in ["bytes=0-1,4-5", "bytes=9-2", "items=0-1", "bytes=99999999999999999999999-"] {
                let answer = try await get(ignored)
                #expect(answer.status == .ok && Array(buffer: answer.body) == validPNG, "\(ignored)")
            }
        }
    }

    @Test("Past the daily cap on automatic rejections a request is refused whole with 429, resets_at and Retry-After")
    func rejectionCap() async throws {
        try await TestNode.run { node in
            let owner = try await node.user("owner")
            try await node.datanet("notes", token: owner, rules: ["min_chars": 20])
            let lines = (0..<201).map { "{\"text\": \"short \($0)\"}" }.joined(separator: "\n")
            let before = try await node.snapshot()
            let refused = try await node.send(.post, "/api/datanets/notes/submissions", token: owner, contentType: "application/x-ndjson",
                                              body: Array(lines.utf8))
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rejection_limit_reached")
            let error = try #require(refused.object["error"] as? [String: Any])
            #expect((error["resets_at"] as? String)?.hasSuffix("T00:00:00.000Z") == true)
            #expect(refused.headers[.retryAfter] != nil)
            #expect(try await node.snapshot() == before)
            let fewer = (0..<200).map { "{\"text\": \"short \($0)\"}" }.joined(separator: "\n")
            let stored = try await node.send(.post, "/api/datanets/notes/submissions", token: owner, contentType: "application/x-ndjson",
                                             body: Array(fewer.utf8))
            #expect(stored.status == .created && stored.items.count == 200)
        }
    }
}

extension Array where Element == UInt8 {
    /// The readable bytes of a response body.
    init(buffer: ByteBuffer) {
        self = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
    }
}
