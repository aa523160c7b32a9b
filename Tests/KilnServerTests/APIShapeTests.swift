// The JSON contract of KilnAPI as the server writes it: undecided fields are null, not missing; pages always say `next`.
import Foundation
import HTTPTypes
import HummingbirdTesting
import KilnData
import Testing

@Suite("API shapes")
struct APIShapeTests {
    @Test("A pending submission writes its decision fields as null; its ledger salt goes to its contributor only")
    func submissionShape() async throws {
        try await TestNode.run { node in
            let owner = try await node.user("owner")
            let other = try await node.user("other")
            try await node.datanet("notes", token: owner)
            let created = try await node.json(.post, "/api/datanets/notes/submissions", token: owner, ["text": "A note about crust colour."])
            let body = created.object
            for key in ["stage", "reason", "reason_code", "decided_at"] {
                #expect(body[key] is NSNull, "\(key) is \(String(describing: body[key]))")
            }
            #expect(body["file_name"] == nil && body["content_url"] == nil)
            #expect(body["self_accepted"] as? Bool == false)
            let salt = try #require(body["ledger_salt"] as? String)
            #expect(salt.count == 32)
            let id = try #require(body["id"] as? Int)
            // The salt is shown on the contributor's own item, and never to a curator reading someone else's.
            let seenByOwner = try await node.send(.get, "/api/submissions/\(id)", token: owner).object
            #expect(seenByOwner["ledger_salt"] as? String == salt)
            let item = try await node.json(.post, "/api/datanets/notes/submissions", token: other, ["text": "Another note, on oven spring."])
            let otherId = try #require(item.object["id"] as? Int)
            let seenByCurator = try await node.send(.get, "/api/submissions/\(otherId)", token: owner).object
            #expect(seenByCurator["ledger_salt"] == nil && seenByCurator["events"] is [Any])
            let page = try await node.send(.get, "/api/datanets?limit=5").object
            #expect(page["next"] is NSNull)
        }
    }
}
