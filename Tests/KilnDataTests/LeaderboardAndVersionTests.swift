// Leaderboards and dataset versions on both SQL engines.
import Foundation
import KilnData
import Testing

@Suite("Leaderboards and versions")
struct LeaderboardAndVersionTests {
    @Test("Rejections never lower a standing; ranks follow accepted items then bytes", arguments: TestEngine.available)
    func rejectionsNeverLower(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let carol = try await services.accounts.register(username: "carol", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            func accept(_ text: String, by user: User) async throws {
                let item = try await services.submissions.submit([plain(text)], to: datanet, by: user)[0]
                _ = try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
            }
            try await accept("Bob's first note on hydration levels.", by: bob)
            try await accept("Carol's first note on starter feeding.", by: carol)
            try await accept("Carol's second note on shaping boules.", by: carol)
            let before = try await services.leaderboards.standings(in: datanet, page: .first).items
            #expect(before.map(\.username) == ["carol", "bob"])
            #expect(before.map(\.rank) == [1, 2])
            #expect(before.map(\.accepted) == [2, 1])
            #expect(before[1].acceptedBytes == #"{"text":"Bob's first note on hydration levels."}"#.utf8.count)
            for index in 0..<3 {
                _ = try await services.submissions.submit([plain("no \(index)")], to: datanet, by: bob)
            }
            let pending = try await services.submissions.submit([plain("A note the curator will turn down.")], to: datanet, by: bob)[0]
            _ = try await services.submissions.review(pending.id, decision: .reject, reason: "Duplicate idea", by: curator)
            let after = try await services.leaderboards.standings(in: datanet, page: .first).items
            #expect(after == before)
            let global = try await services.leaderboards.standings(in: nil, page: .first).items
            #expect(global.map(\.username) == ["carol", "bob"])
        }
    }

    @Test("A version's Merkle root matches Python's RFC 6962 root over the item hashes", arguments: TestEngine.available)
    func versionRoot(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let texts = [
                "A poolish is a wet preferment of flour, water and a pinch of yeast.",
                "Steam keeps the crust soft so the loaf can spring before it sets.",
                "Autolyse rests flour and water before salt and yeast are added.",
                "A baking stone stores heat and gives the loaf an even blast from below.",
                "Cold retarding slows the yeast while enzymes keep developing flavour.",
            ]
            for text in texts {
                let item = try await services.submissions.submit([plain(text)], to: datanet, by: bob)[0]
                _ = try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
            }
            let (version, items) = try await services.versions.publish(datanet, by: curator)
            // hashlib.sha256(json.dumps({"text": t}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)) per item,
            // and the recursive RFC 6962 MTH over the five 32-byte digests, computed in Python.
            #expect(items.map(\.sha256) == [
                "83074009c203c3c0eb6513285ac8d900f21d6dd24350701f919000435f1a3fc7",
                "90c192a33ac60aa6e4d88fb96e27204a1c9fae735b320006a64b8d011805eeb0",
                "062f5796d69d8d107f67c82e10e21b977651521455c5ef4cc469faaf07929093",
                "12ef67df2f9821eb90b82c5c6089357c2d2a89b25030704da83283d2c9d4ba7d",
                "14e41723065009591be4923cc41bcbddff0d29084c4e15ea0bed71c5ecb0869c",
            ])
            #expect(version.merkleRoot == "5c7135f0481a8d9f1658a98091006d63f5dfd0d8af770c6400114ecd462753ed")
            #expect(version.number == 1)
            #expect(version.count == 5)
            #expect(version.trainCount + version.validationCount == 5)

            // Versions never change: a later acceptance goes into version 2 only.
            let late = try await services.submissions.submit([plain("A late note about rye and caraway.")], to: datanet, by: bob)[0]
            _ = try await services.submissions.review(late.id, decision: .accept, reason: nil, by: curator)
            let (second, secondItems) = try await services.versions.publish(datanet, by: curator)
            #expect(second.number == 2)
            #expect(secondItems.count == 6)
            let (again, againItems) = try await services.versions.version(datanet, number: 1)
            #expect(again == version)
            #expect(againItems == items)
        }
    }

    @Test("Publishing needs at least one accepted item", arguments: TestEngine.available)
    func publishRules(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            _ = bob
            await #expect(throws: DataError.unprocessable(code: "nothing_accepted", message: "baking has no accepted items to publish yet.")) {
                try await services.versions.publish(datanet, by: curator)
            }
        }
    }

    @Test("The train/validation split depends only on the item hash")
    func splitIsDeterministic() {
        // First 8 bytes 0x0000000000000001 → bucket 1 (< 1000 at 10%): validation; 0x…2710 = 10000 → bucket 0.
        #expect(Split.of(sha256: "0000000000000001" + String(repeating: "f", count: 48), validationPercent: 10) == .validation)
        #expect(Split.of(sha256: "00000000000003e8" + String(repeating: "0", count: 48), validationPercent: 10) == .train)
        #expect(Split.of(sha256: "00000000000003e7" + String(repeating: "0", count: 48), validationPercent: 10) == .validation)
        #expect(Split.of(sha256: "0000000000000001" + String(repeating: "f", count: 48), validationPercent: 0) == .train)
    }
}
