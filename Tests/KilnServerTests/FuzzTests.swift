// Thousands of random mutations of valid requests: the server answers every one well-formed and
// a refused request never changes what is stored.
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Request fuzzing")
struct FuzzTests {
    /// A deterministic generator (SplitMix64) so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let allowedStatuses: Set<Int> = [200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429]

    @Test("3000 mutated requests: well-formed answers, and nothing stored by a refused one")
    func mutations() async throws {
        try await TestNode.run { node in
            let token = try await node.user("fuzzer")
            try await node.datanet("notes", token: token, rules: ["daily_limit": 100000, "min_chars": 5, "max_item_bytes": 2000])
            try await node.datanet("pictures", kind: "image", token: token, rules: ["formats": ["png"], "daily_limit": 100000])
            let seeds: [(String, String, [UInt8])] = [
                ("/api/datanets/notes/submissions", "application/json", Array(#"{"text":"A fine note about rye bread and caraway."}"#.utf8)),
                ("/api/datanets/notes/submissions", "application/x-ndjson",
                 Array("{\"text\":\"Line one of a batch about ovens.\"}\n{\"text\":\"Line two of a batch about flour.\"}\n".utf8)),
                ("/api/datanets/pictures/submissions", "multipart/form-data; boundary=kilnboundary42", multipart([("file", "a.png", validPNG)])),
                ("/api/datanets", "application/json", Array(#"{"slug":"fz","title":"Fuzz","kind":"text","rules":{"daily_limit":5}}"#.utf8)),
                ("/api/auth/register", "application/json", Array(#"{"username":"someone","password":"long enough password"}"#.utf8)),
            ]
            let contentTypes = ["application/json", "application/x-ndjson", "multipart/form-data; boundary=kilnboundary42",
                                "multipart/form-data", "text/plain", "", "application/json; charset=utf-8", "multipart/form-data; boundary=\"\""]
            var random = SplitMix(state: 0x4B494C4E)
            var snapshot = try await node.snapshot()
            for iteration in 0..<3000 {
                let (path, seedType, seedBody) = seeds[Int(random.next() % UInt64(seeds.count))]
                var body = seedBody
                let mutations = 1 + Int(random.next() % 4)
                for _ in 0..<mutations { mutate(&body, &random) }
                let type = random.next() % 5 == 0 ? contentTypes[Int(random.next() % UInt64(contentTypes.count))] : seedType
                let response = try await node.send(.post, path, token: token, contentType: type.isEmpty ? nil : type, body: body)
                let code = Int(response.status.code)
                #expect(Self.allowedStatuses.contains(code), "iteration \(iteration): status \(code)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "iteration \(iteration)")
                let parsed = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                #expect(parsed != nil, "iteration \(iteration): body is not JSON")
                let now = try await node.snapshot()
                if code >= 400 {
                    #expect(response.isErrorBody, "iteration \(iteration): \(code) without an error body")
                    #expect(now == snapshot, "iteration \(iteration): a refused request (\(code)) changed stored data")
                }
                snapshot = now
            }
            // The server still answers normally afterwards.
            let final = try await node.json(.post, "/api/datanets/notes/submissions", token: token, ["text": "Still alive and accepting notes."])
            #expect(final.status == .created)
        }
    }

    func mutate(_ body: inout [UInt8], _ random: inout SplitMix) {
        let interesting: [UInt8] = [0x00, 0x22, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x0A, 0x0D, 0x2D, 0xFF, 0xC3, 0x5C]
        switch random.next() % 7 {
        case 0 where !body.isEmpty:
            body[Int(random.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: random.next())
        case 1 where !body.isEmpty:
            body[Int(random.next() % UInt64(body.count))] = interesting[Int(random.next() % UInt64(interesting.count))]
        case 2:
            let at = body.isEmpty ? 0 : Int(random.next() % UInt64(body.count + 1))
            body.insert(interesting[Int(random.next() % UInt64(interesting.count))], at: at)
        case 3 where !body.isEmpty:
            body.remove(at: Int(random.next() % UInt64(body.count)))
        case 4:
            body = Array(body.prefix(Int(random.next() % UInt64(body.count + 1))))
        case 5 where !body.isEmpty:
            let start = Int(random.next() % UInt64(body.count))
            let length = min(body.count - start, 1 + Int(random.next() % 16))
            body.insert(contentsOf: body[start..<(start + length)], at: start)
        default:
            body += [UInt8](repeating: interesting[Int(random.next() % UInt64(interesting.count))], count: Int(random.next() % 3000))
        }
    }
}
