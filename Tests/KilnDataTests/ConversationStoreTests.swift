// Chat conversations on both SQL engines: kept per owner, invisible to others, capped per user and in size.
import Foundation
import KilnData
import Testing

@Suite("Conversations")
struct ConversationStoreTests {
    @Test("Saved, listed newest first, replaced, and deleted by their owner only", arguments: TestEngine.available)
    func ownerOnly(engine: TestEngine) async throws {
        let clock = TestClock()
        try await withServices(engine, now: clock.now) { services in
            let alice = try await services.accounts.register(username: "alice", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let first = try await services.conversations.save(nil, owner: alice, title: "Ovens", body: "[1]")
            clock.advance(1)
            let second = try await services.conversations.save(nil, owner: alice, title: "  Flour  ", body: "[2]")
            #expect(try await services.conversations.list(owner: alice).map(\.title) == ["Flour", "Ovens"])
            #expect(try await services.conversations.list(owner: bob).isEmpty)
            clock.advance(1)
            #expect(try await services.conversations.save(first, owner: alice, title: "Ovens", body: "[1,3]") == first)
            #expect(try await services.conversations.list(owner: alice).map(\.id) == [first, second])
            #expect(try await services.conversations.body(first, owner: alice).1 == "[1,3]")
            await #expect(throws: DataError.notFound("There is no conversation \(first).")) {
                try await services.conversations.body(first, owner: bob)
            }
            await #expect(throws: DataError.notFound("There is no conversation \(first).")) {
                try await services.conversations.save(first, owner: bob, title: "mine now", body: "[]")
            }
            await #expect(throws: DataError.notFound("There is no conversation \(second).")) {
                try await services.conversations.delete(second, owner: bob)
            }
            try await services.conversations.delete(second, owner: alice)
            #expect(try await services.conversations.list(owner: alice).map(\.id) == [first])
        }
    }

    @Test("A user keeps the newest 100; a title must be 1–200 characters and the turns at most 1 MiB", arguments: TestEngine.available)
    func bounds(engine: TestEngine) async throws {
        let clock = TestClock()
        try await withServices(engine, now: clock.now) { services in
            let alice = try await services.accounts.register(username: "alice", password: "correct horse battery")
            for n in 0..<(ConversationStore.perUser + 3) {
                clock.advance(1)
                _ = try await services.conversations.save(nil, owner: alice, title: "chat \(n)", body: "[]")
            }
            let kept = try await services.conversations.list(owner: alice)
            #expect(kept.count == 100 && kept.first?.title == "chat 102" && kept.last?.title == "chat 3")
            await #expect(throws: DataError.self) { try await services.conversations.save(nil, owner: alice, title: " ", body: "[]") }
            await #expect(throws: DataError.self) {
                try await services.conversations.save(nil, owner: alice, title: String(repeating: "x", count: 201), body: "[]")
            }
            await #expect(throws: DataError.self) {
                try await services.conversations.save(nil, owner: alice, title: "big", body: "[\"" + String(repeating: "x", count: 1 << 20) + "\"]")
            }
            #expect(try await services.conversations.list(owner: alice).count == 100)
        }
    }
}

/// A clock the test moves forward, so "newest first" does not depend on how fast the machine is.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)

    /// The store's `now`.
    var now: @Sendable () -> Date { { self.lock.withLock { self.current } } }

    /// Moves the clock on by `seconds`.
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
