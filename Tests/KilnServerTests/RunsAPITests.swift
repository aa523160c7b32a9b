// The runs API for scripts: any signed-in user starts a run on a published version; a private run is invisible to
// everyone but its owner (list, read, events, cancel, resume, adapter all answer as if it did not exist); the adapter
// downloads as a tar of the run folder's own files; the event stream replays metrics.jsonl line for line and ends with
// the final state; bad settings (unknown module, rank 0, negative rate) store nothing.
import Foundation
import HTTPTypes
import KilnData
@testable import KilnServer
import Testing

@Suite("Runs API")
struct RunsAPITests {
    /// Polls run `id` as `token` until it stops.
    static func finished(_ node: TestNode, _ id: Int, token: String?) async throws -> [String: Any] {
        var run: [String: Any] = [:]
        for _ in 0..<600 {
            run = try await node.send(.get, "/api/runs/\(id)", token: token).object
            if ["succeeded", "failed", "cancelled", "interrupted"].contains(run["state"] as? String ?? "") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return run
    }

    /// The files of a ustar archive: name → bytes (POSIX.1-1988 header: name at 0, octal size at 124).
    static func untar(_ data: [UInt8]) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        var offset = 0
        while offset + 512 <= data.count, data[offset] != 0 {
            let header = Array(data[offset..<(offset + 512)])
            let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
            let size = Int(String(decoding: header[124..<136].prefix { $0 != 0 && $0 != 32 }, as: UTF8.self), radix: 8) ?? 0
            files[name] = Array(data[(offset + 512)..<(offset + 512 + size)])
            offset += 512 + (size + 511) / 512 * 512
        }
        return files
    }

    @Test("A private run: its owner follows and downloads it, another user cannot see, follow, cancel, resume or download it")
    func privateRun() async throws {
        try await TestNode.run(models: TrainingJobTests.models) { node in
            _ = try await TrainingJobTests.published(node)
            let owner = try await node.user("owner")
            let other = try await node.user("other")
            let started = try await node.json(.post, "/api/runs", token: owner, [
                "datanet": "recipes", "version": 1, "private": true, "base": "llama", "lora_r": 4, "lora_alpha": 8,
                "target_modules": ["q_proj", "v_proj"], "epochs": 1, "micro_batch_size": 2, "max_length": 48, "learning_rate": 0.001,
            ])
            #expect(started.status == .accepted, "\(started.object)")
            let id = try #require(started.object["id"] as? Int)
            #expect(started.object["private"] as? Bool == true)
            let run = try await Self.finished(node, id, token: owner)
            #expect(run["state"] as? String == "succeeded", "\(run)")
            #expect(run["model"] as? String == "llama:run-\(id)")

            for path in ["/api/runs/\(id)", "/api/runs/\(id)/events", "/api/runs/\(id)/adapter", "/api/training-jobs/\(id)"] {
                #expect(try await node.send(.get, path, token: other).status == .notFound, "\(path)")
                #expect(try await node.send(.get, path).status == .notFound, "\(path)")
            }
            for action in ["cancel", "resume"] {
                #expect(try await node.send(.post, "/api/runs/\(id)/\(action)", token: other).status == .notFound)
            }
            #expect(try await node.send(.get, "/api/runs", token: other).items.isEmpty)
            #expect(try await node.send(.get, "/api/training-jobs").items.isEmpty)
            #expect(try await node.send(.get, "/api/runs", token: owner).items.map { $0["id"] as? Int } == [id])
            // Its adapter is a model for the owner's OpenAI client only.
            let ownerModels = try await node.send(.get, "/v1/models", token: owner).object["data"] as? [[String: Any]] ?? []
            let otherModels = try await node.send(.get, "/v1/models", token: other).object["data"] as? [[String: Any]] ?? []
            #expect(ownerModels.contains { $0["id"] as? String == "llama:run-\(id)" })
            #expect(!otherModels.contains { ($0["id"] as? String)?.contains("run-") == true })
            let asOther = try await node.send(.get, "/v1/models/llama:run-\(id)", token: other)
            #expect(asOther.status == .notFound && (asOther.object["error"] as? [String: Any])?["code"] as? String == "model_not_found")

            // The adapter: exactly the run folder's two PEFT files.
            let folder = URL(fileURLWithPath: node.services.dataDirectory.appendingPathComponent("runs/job-\(id)").path)
            let tar = try await node.send(.get, "/api/runs/\(id)/adapter", token: owner)
            #expect(tar.status == .ok)
            let files = Self.untar(Array(tar.body.readableBytesView))
            #expect(files.keys.sorted() == ["run-\(id)-adapter/adapter_config.json", "run-\(id)-adapter/adapter_model.safetensors"])
            for name in ["adapter_config.json", "adapter_model.safetensors"] {
                #expect(files["run-\(id)-adapter/\(name)"] == Array(try Data(contentsOf: folder.appendingPathComponent(name))), "\(name)")
            }

            // The finished run's events: every metrics line in order with its line number, then the end.
            let events = String(decoding: try await node.send(.get, "/api/runs/\(id)/events", token: owner).body.readableBytesView, as: UTF8.self)
            let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            let sent = events.components(separatedBy: "\n\n").filter { $0.contains("event: metrics") }
            #expect(sent.count == lines.count)
            for (index, (event, line)) in zip(sent, lines).enumerated() {
                #expect(event == "id: \(index + 1)\nevent: metrics\ndata: \(line)")
            }
            #expect(events.hasSuffix("event: end\ndata: {\"state\":\"succeeded\"}\n\n"), "\(events.suffix(200))")

            // An admin sees it; a succeeded run neither cancels nor resumes.
            #expect(try await node.send(.post, "/api/runs/\(id)/resume", token: owner).status == .conflict)
            #expect(try await node.send(.post, "/api/runs/\(id)/cancel", token: owner).status == .conflict)
        }
    }

    @Test("Unknown modules, rank 0, a negative rate or a missing version start nothing")
    func refusals() async throws {
        try await TestNode.run(models: TrainingJobTests.models) { node in
            _ = try await TrainingJobTests.published(node)
            let user = try await node.user("someone")
            let base: [String: Any] = ["datanet": "recipes", "version": 1, "base": "llama"]
            let cases: [([String: Any], HTTPResponse.Status, String)] = [
                (["target_modules": ["q_proj", "q_prj"]], .badRequest, "unknown_module"),
                (["lora_r": 0], .badRequest, "bad_field"),
                (["learning_rate": -0.001], .badRequest, "bad_field"),
                (["version": 7], .notFound, "not_found"),
                (["datanet": "nope"], .notFound, "not_found"),
            ]
            for (change, status, code) in cases {
                let body = base.merging(change) { $1 }
                let response = try await node.json(.post, "/api/runs", token: user, body)
                #expect(response.status == status && response.errorCode == code, "\(change): \(response.object)")
            }
            let missing = try await node.json(.post, "/api/runs", token: user, ["base": "llama"])
            #expect(missing.status == .badRequest && missing.errorCode == "bad_field")
            #expect(try await node.send(.get, "/api/runs", token: user).items.isEmpty)
        }
    }

    @Test("A node that stopped mid-run shows the run interrupted; resume queues it again, once")
    func interruptedResumes() async throws {
        try await TestNode.run(models: TrainingJobTests.models) { node in
            _ = try await TrainingJobTests.published(node)
            let owner = try await node.user("owner")
            let user = try await node.services.accounts.user(named: "owner")!
            let datanet = try await node.services.datanets.get("recipes")
            let jobs = node.services.jobs
            let job = try await jobs.create(owner: user, datanet: datanet, version: 1, base: "llama") { id in ("{}", "/nonexistent/job-\(id)") }
            _ = try await jobs.claimNext()
            try await jobs.markInterrupted()
            #expect(try await jobs.job(job.id)?.state == .interrupted)
            let resumed = try await jobs.resume(job.id)
            #expect(resumed?.state == .queued)
            await #expect(throws: DataError.self) { try await jobs.resume(job.id) }
            #expect(try await node.send(.post, "/api/runs/\(job.id)/resume", token: owner).status == .conflict)
        }
    }
}
