// The login budgets on an injected clock: refusal with the wait until the next token, refill, and bounded memory that
// never forgets a bucket still being waited out.
import Foundation
@testable import KilnServer
import KilnData
import Synchronization
import Testing

@Suite("Attempt limiter")
struct AttemptLimiterTests {
    final class Clock: Sendable {
        let seconds = Mutex<Double>(1000)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }

    static func failLogin(_ limiter: AttemptLimiter, address: String, username: String) async -> Int {
        do {
            try await limiter.login(address: address, username: username) { () async throws -> Int in
                throw DataError.unauthorized("Wrong username or password.")
            }
            return 200
        } catch let error as DataError {
            return error.status
        } catch {
            return 500
        }
    }

    @Test("Ten failures spend a username's burst; the eleventh is refused with Retry-After 90 s (40 per hour), and one refill lets one more through")
    func usernameBudget() async throws {
        let clock = Clock()
        let limiter = AttemptLimiter(AttemptLimits(perAddressBurst: 1000, perAddressPerMinute: 1000), clock: { clock.seconds.withLock { $0 } })
        var codes: [Int] = []
        for index in 0..<11 { codes.append(await Self.failLogin(limiter, address: "10.0.0.\(index)", username: "Victim")) }
        #expect(codes == Array(repeating: 401, count: 10) + [429])
        do {
            try await limiter.login(address: "10.0.0.99", username: "victim") { 0 }
            Issue.record("a spent username was let through")
        } catch let error as DataError {
            #expect(error == .rateLimited(message: "Too many failed sign-ins for this account. Try again in 90 s.", retryAfter: 90))
        }
        clock.advance(90)
        #expect(await Self.failLogin(limiter, address: "10.0.0.100", username: "victim") == 401)
        #expect(await Self.failLogin(limiter, address: "10.0.0.101", username: "victim") == 429)
    }

    @Test("Pruning many address buckets never forgets a spent username bucket (each budget judged by its own rate)")
    func pruningKeepsOtherBudgets() async throws {
        let clock = Clock()
        let limiter = AttemptLimiter(AttemptLimits(perAddressBurst: 5, perAddressPerMinute: 60, perUsernameBurst: 2, perUsernamePerHour: 1),
                                     maxKeys: 8, clock: { clock.seconds.withLock { $0 } })
        #expect(await Self.failLogin(limiter, address: "a", username: "victim") == 401)
        #expect(await Self.failLogin(limiter, address: "b", username: "victim") == 401)
        clock.advance(60)  // every address bucket is full again by now; the username regains 1/60 of a token
        for index in 0..<50 { try limiter.spendAddress("flood-\(index)") }
        #expect(await Self.failLogin(limiter, address: "c", username: "victim") == 429)
    }
}
