// Training jobs over the API: a curator queues a LoRA run on a published instruction version; `kiln serve`'s worker
// trains it (the tiny fixture llama from the node's models directory) and records `run.finished` on the ledger with
// the version's Merkle root, the hyper-parameters, the adapter's hash and the hashes of the items it trained on.
import Foundation
import HTTPTypes
import KilnData
import KilnServer
import Testing

@Suite("Training jobs")
struct TrainingJobTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    static let recipes = [
        ("How long should I knead a basic white dough by hand?", "About 10 minutes, until it is smooth and passes the windowpane test."),
        ("Why does my sourdough taste flat?", "The starter may be young; feed it twice a day for a week and ferment the dough longer."),
        ("What oven temperature suits a rustic boule?", "Bake at 250 °C with steam for 20 minutes, then at 230 °C until deep brown."),
        ("How do I know proofing is finished?", "Press the dough gently: if the dent springs back slowly and only partly, it is ready."),
        ("Can I replace butter with oil in brioche?", "You can, but the crumb turns softer; use about 80 % of the butter's weight."),
        ("Why did my baguettes come out pale?", "The oven was too cool or lacked steam; preheat longer and add a tray of boiling water."),
    ]

    /// A node with a published instruction version of `recipes`; returns the curator's token and the version's manifest.
    static func published(_ node: TestNode) async throws -> (curator: String, manifest: [String: Any]) {
        let curator = try await node.user("curator")
        let created = try await node.json(.post, "/api/datanets", token: curator, [
            "slug": "recipes", "title": "Recipes", "description": "Baking answers.", "kind": "text", "schema": "instruction",
            "license": "CC0-1.0", "rules": ["min_chars": 1, "validation_percent": 25],
        ])
        #expect(created.status == .created)
        for (question, answer) in recipes {
            let item = try await node.json(.post, "/api/datanets/recipes/submissions", token: curator, ["instruction": question, "response": answer])
            let id = try #require(item.object["id"] as? Int, "\(item.object)")
            if item.object["status"] as? String == "pending" {
                #expect(try await node.json(.post, "/api/submissions/\(id)/review", token: curator, ["decision": "accept"]).status == .ok)
            }
        }
        let version = try await node.send(.post, "/api/datanets/recipes/versions", token: curator)
        #expect(version.status == .created)
        return (curator, try await node.send(.get, "/api/datanets/recipes/versions/1").object)
    }

    @Test("A queued job trains, succeeds and is on the ledger as run.finished with the version root, settings and item hashes")
    func jobRuns() async throws {
        try await TestNode.run(models: Self.models) { node in
            let (curator, manifest) = try await Self.published(node)
            let queued = try await node.json(.post, "/api/datanets/recipes/versions/1/train", token: curator, [
                "base": "llama", "lora_r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], "epochs": 1,
                "micro_batch_size": 2, "max_length": 48, "learning_rate": 0.001,
            ])
            #expect(queued.status == .accepted, "\(queued.object)")
            let id = try #require(queued.object["id"] as? Int)
            var job: [String: Any] = [:]
            for _ in 0..<600 {
                job = try await node.send(.get, "/api/training-jobs/\(id)").object
                if ["succeeded", "failed", "cancelled"].contains(job["state"] as? String ?? "") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(job["state"] as? String == "succeeded", "\(job)")
            let seq = try #require(job["ledger_seq"] as? Int)
            let entry = try await node.send(.get, "/api/ledger/entries/\(seq)").object
            let body = try #require(entry["entry"] as? [String: Any] ?? entry as [String: Any]?)
            #expect(body["kind"] as? String == "run.finished", "\(entry)")
            let payload = try #require(body["payload"] as? [String: Any])
            #expect(payload["adapter_sha256"] as? String == job["adapter_sha256"] as? String)
            let data = try #require(payload["data"] as? [[String: Any]])
            #expect(data.first?["merkle_root"] as? String == manifest["merkle_root"] as? String)
            let items = try #require(manifest["items"] as? [[String: Any]])
            let trained = Set(items.filter { $0["split"] as? String == "train" }.compactMap { $0["sha256"] as? String })
            #expect(Set(payload["items"] as? [String] ?? []) == trained)
            let settings = try #require(payload["hyperparameters"] as? [String: Any])
            #expect(settings["lora_r"] as? Int == 4 && settings["target_modules"] as? [String] == ["q_proj", "v_proj"])
            let listed = try await node.send(.get, "/api/training-jobs")
            #expect(listed.items.first?["id"] as? Int == id)
            let again = try await node.send(.post, "/api/datanets/recipes/training-jobs/\(id)/cancel", token: curator)
            #expect(again.status == .conflict)
        }
    }

    @Test("Bad job requests are refused with typed errors and store nothing")
    func refusals() async throws {
        try await TestNode.run(models: Self.models) { node in
            let (curator, _) = try await Self.published(node)
            let stranger = try await node.user("stranger")
            let cases: [(String?, [String: Any], HTTPResponse.Status, String?)] = [
                (curator, ["base": "../llama"], .badRequest, "unknown_base"),
                (curator, ["base": "nope"], .badRequest, "unknown_base"),
                (curator, ["lr_scheduler": "sideways"], .badRequest, "bad_field"),
                (curator, ["lora_r": 0], .badRequest, "bad_field"),
                (curator, ["learning_rate": "fast"], .badRequest, "wrong_type"),
                (curator, ["epochs": 1, "surprise": true], .badRequest, "unknown_field"),
                // Every number and string the route reads is bounded: Int64 max, -1, a string for a number, 4,000 characters.
                (curator, ["lora_r": Int64.max], .badRequest, "bad_field"),
                (curator, ["epochs": Int64.max], .badRequest, "bad_field"),
                (curator, ["micro_batch_size": Int64.max], .badRequest, "bad_field"),
                (curator, ["max_length": Int64.max], .badRequest, "bad_field"),
                (curator, ["gradient_accumulation": Int64.max], .badRequest, "bad_field"),
                (curator, ["max_steps": Int64.max], .badRequest, "bad_field"),
                (curator, ["warmup_steps": Int64.max], .badRequest, "bad_field"),
                (curator, ["checkpoint_every": Int64.max], .badRequest, "bad_field"),
                (curator, ["lora_r": -1], .badRequest, "bad_field"),
                (curator, ["max_steps": -1], .badRequest, "bad_field"),
                (curator, ["warmup_steps": -1], .badRequest, "bad_field"),
                (curator, ["learning_rate": -1], .badRequest, "bad_field"),
                (curator, ["lora_dropout": -1], .badRequest, "bad_field"),
                (curator, ["seed": -1], .badRequest, "bad_field"),
                (curator, ["learning_rate": 1e300], .badRequest, "bad_field"),
                (curator, ["lora_alpha": 1e300], .badRequest, "bad_field"),
                (curator, ["weight_decay": 1e300], .badRequest, "bad_field"),
                (curator, ["max_grad_norm": 1e300], .badRequest, "bad_field"),
                (curator, ["learning_rate": "NaN"], .badRequest, "wrong_type"),
                (curator, ["base": String(repeating: "a", count: 4000)], .badRequest, "unknown_base"),
                (curator, ["base": "llama\u{0}"], .badRequest, "unknown_base"),
                (curator, ["lr_scheduler": String(repeating: "c", count: 4000)], .badRequest, "bad_field"),
                (curator, ["qlora": String(repeating: "n", count: 4000)], .badRequest, "bad_field"),
                (curator, ["target_modules": [String(repeating: "q", count: 4000)]], .badRequest, "bad_field"),
                (curator, ["target_modules": (0..<300).map { "m\($0)" }], .badRequest, "bad_field"),
                (curator, ["target_modules": [String]()], .badRequest, "bad_field"),
                (stranger, ["base": "llama"], .forbidden, nil),
                (nil, ["base": "llama"], .unauthorized, nil),
            ]
            for (token, body, status, code) in cases {
                let response = try await node.json(.post, "/api/datanets/recipes/versions/1/train", token: token, body)
                #expect(response.status == status, "\(body): \(response.object)")
                if let code { #expect((response.object["error"] as? [String: Any])?["code"] as? String == code, "\(body)") }
            }
            #expect(try await node.json(.post, "/api/datanets/recipes/versions/9/train", token: curator, [:]).status == .notFound)
            // Numbers JSON cannot hold as a Double, and non-numbers where numbers belong.
            for raw in [#"{"learning_rate": 1e400}"#, #"{"lora_r": 1e30}"#, #"{"lora_r": 2.5}"#, #"{"epochs": NaN}"#] {
                let response = try await node.send(.post, "/api/datanets/recipes/versions/1/train", token: curator, contentType: "application/json",
                                                   body: Array(raw.utf8))
                #expect(response.status == .badRequest, "\(raw): \(response.object)")
            }
            let long = String(repeating: "7", count: 4000)
            for id in ["9223372036854775807", "-1", long, "NaN"] {
                #expect(try await node.send(.get, "/api/training-jobs/\(id)").status == .notFound, "\(id)")
                #expect(try await node.send(.post, "/api/datanets/recipes/training-jobs/\(id)/cancel", token: curator).status == .notFound, "\(id)")
            }
            for number in ["9223372036854775807", "-1", long] {
                #expect(try await node.json(.post, "/api/datanets/recipes/versions/\(number)/train", token: curator, [:]).status == .notFound)
            }
            #expect(try await node.send(.get, "/api/training-jobs").items.isEmpty)
            #expect(try await node.send(.get, "/api/training-jobs/12345").status == .notFound)
        }
    }
}
