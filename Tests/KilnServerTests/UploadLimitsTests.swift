// The node's upload caps (server settings) bound Datanet rules and request bodies, and refuse before anything is stored.
import Foundation
import HTTPTypes
import HummingbirdTesting
import KilnData
import Testing

@Suite("Upload limits")
struct UploadLimitsTests {
    @Test("A text Datanet may not allow items over the node's 1 MiB text limit; a media one may allow up to 64 MiB")
    func rulesStayWithinTheNodeLimits() async throws {
        try await TestNode.run { node in
            let token = try await node.user("alice")
            let text = try await node.datanet("big-text", token: token, rules: ["max_item_bytes": 64 * 1024 * 1024])
            #expect(text.status == .badRequest)
            #expect(text.errorCode == "invalid_rules")
            #expect((text.object["error"] as? [String: Any])?["message"] as? String
                == "rules.max_item_bytes must be between 1 and 1048576, this node's limit for text items.")
            #expect(try await node.datanet("ok-text", token: token, rules: ["max_item_bytes": 1024 * 1024]).status == .created)
            #expect(try await node.datanet("big-images", kind: "image", token: token, rules: ["max_item_bytes": 64 * 1024 * 1024]).status == .created)
            #expect(try await node.datanet("huge-images", kind: "image", token: token,
                                           rules: ["max_item_bytes": 64 * 1024 * 1024 + 1]).status == .badRequest)
        }
    }

    @Test("A JSONL file part with more lines than a request may hold is refused before any line is decoded, storing nothing")
    func jsonlPartCountIsCheckedFirst() async throws {
        try await TestNode.run { node in
            let token = try await node.user("alice")
            try await node.datanet("notes", token: token, rules: ["daily_limit": 100_000, "formats": ["txt", "jsonl"]])
            let before = try await node.snapshot()
            let lines = (0..<1001).map { "{\"text\":\"line number \($0)\"}" }.joined(separator: "\n")
            let response = try await node.send(.post, "/api/datanets/notes/submissions", token: token,
                                               contentType: "multipart/form-data; boundary=kilnboundary42",
                                               body: multipart([("file", "many.jsonl", Array(lines.utf8))]))
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
            #expect(try await node.snapshot() == before)
        }
    }

    @Test("The limits themselves are checked: each lies in 1 KiB...1 GiB")
    func limitsAreValidated() throws {
        #expect(throws: Never.self) { try UploadLimits().validate() }
        #expect(throws: DataError.self) { try UploadLimits(maxJSONRequestBytes: 1 << 31).validate() }
        #expect(throws: DataError.self) { try UploadLimits(maxTextItemBytes: 0).validate() }
    }

    @Test("The JSON item cap is the Datanet's rule times six plus 16 KiB, never above the request cap")
    func jsonItemCap() throws {
        let limits = UploadLimits(maxJSONRequestBytes: 4 << 20)
        var rules = DatanetRules.defaults(for: .text)
        rules.maxItemBytes = 1000
        #expect(limits.jsonItemBytes(rules, kind: .text) == 6000 + 16 * 1024)
        rules.maxItemBytes = Int.max  // a stored rule beyond any limit still gives a bounded cap
        #expect(limits.jsonItemBytes(rules, kind: .text) == 4 << 20)
    }
}
