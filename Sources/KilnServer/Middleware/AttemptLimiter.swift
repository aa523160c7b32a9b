// Per-client and per-account budgets for logins and registrations, so passwords cannot be guessed at machine speed.
import Foundation
import KilnData
import Synchronization

/// How many login and registration attempts a node allows (server settings).
public struct AttemptLimits: Sendable, Equatable {
    /// Attempts (logins and registrations, right or wrong) one IP address may make in a burst.
    public var perAddressBurst: Int
    /// Attempts one IP address regains per minute.
    public var perAddressPerMinute: Int
    /// Failed logins one username may have in a burst.
    public var perUsernameBurst: Int
    /// Failed logins one username regains per hour.
    public var perUsernamePerHour: Int

    /// Creates limits; the defaults let a person mistype many times and stop a script within a minute.
    public init(perAddressBurst: Int = 60, perAddressPerMinute: Int = 60, perUsernameBurst: Int = 10, perUsernamePerHour: Int = 40) {
        self.perAddressBurst = perAddressBurst
        self.perAddressPerMinute = perAddressPerMinute
        self.perUsernameBurst = perUsernameBurst
        self.perUsernamePerHour = perUsernamePerHour
    }
}

/// Login and sign-up budgets: token buckets per client address (every attempt) and per username (failed logins).
final class AttemptLimiter: Sendable {
    private let addresses: TokenBuckets
    private let usernames: TokenBuckets

    /// Creates a limiter; `clock` gives seconds (tests pass their own).
    init(_ limits: AttemptLimits, maxKeys: Int = 100_000,
         clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        addresses = TokenBuckets(burst: limits.perAddressBurst, perSecond: Double(limits.perAddressPerMinute) / 60, maxKeys: maxKeys,
                                 message: "Too many sign-in attempts from your address.", clock: clock)
        usernames = TokenBuckets(burst: limits.perUsernameBurst, perSecond: Double(limits.perUsernamePerHour) / 3600, maxKeys: maxKeys,
                                 message: "Too many failed sign-ins for this account.", clock: clock)
    }

    /// Spends one attempt of `address`.
    /// - Throws: `DataError.rateLimited` when its bucket is empty.
    func spendAddress(_ address: String) throws {
        try addresses.spend(address)
    }

    /// Runs a login for `username` from `address` within both budgets, counting it against the username if it fails.
    /// - Throws: `DataError.rateLimited` before `login` runs when a budget is spent; otherwise what `login` throws.
    @discardableResult
    func login<T>(address: String, username: String, _ login: () async throws -> T) async throws -> T {
        let key = username.lowercased()
        try addresses.spend(address)
        try usernames.check(key)
        do {
            return try await login()
        } catch let error as DataError where error.status == 401 {
            // A failure past the budget is already refused by `check` next time; the refusal itself is not news here.
            try? usernames.spend(key)
            throw error
        }
    }
}

/// Token buckets of one budget, keyed by a string and refilled continuously.
///
/// A bucket holds up to `burst` tokens and gains `perSecond`; an attempt spends one, and an empty bucket answers 429
/// with the seconds until the next token. Memory is bounded: past `maxKeys` buckets, refilled ones are forgotten (a
/// full bucket is the same as none), and if that is not enough only the most recently touched half is kept. Each
/// budget has its own buckets, so pruning judges every bucket by its own rate.
private final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let burst: Double
    private let perSecond: Double
    private let maxKeys: Int
    private let message: String
    private let clock: @Sendable () -> Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(burst: Int, perSecond: Double, maxKeys: Int, message: String, clock: @escaping @Sendable () -> Double) {
        self.burst = Double(burst)
        self.perSecond = max(perSecond, 1e-9)
        self.maxKeys = maxKeys
        self.message = message
        self.clock = clock
    }

    /// Refuses when `key`'s bucket is empty, without spending.
    func check(_ key: String) throws {
        let now = clock()
        let tokens = buckets.withLock { buckets in buckets[key].map { refilled($0, now: now) } ?? burst }
        if tokens < 1 { throw refusal(tokens) }
    }

    /// Spends one token of `key`'s bucket, refusing when it is empty.
    func spend(_ key: String) throws {
        let now = clock()
        let tokens: Double = buckets.withLock { buckets in
            let tokens = buckets[key].map { refilled($0, now: now) } ?? burst
            buckets[key] = Bucket(tokens: tokens >= 1 ? tokens - 1 : tokens, updated: now)
            if buckets.count > maxKeys { prune(&buckets, now: now) }
            return tokens
        }
        if tokens < 1 { throw refusal(tokens) }
    }

    /// The tokens `bucket` holds at `now`.
    private func refilled(_ bucket: Bucket, now: Double) -> Double {
        min(burst, bucket.tokens + (now - bucket.updated) * perSecond)
    }

    private func refusal(_ tokens: Double) -> DataError {
        let seconds = max(1, Int(min((1 - tokens) / perSecond, 86_400).rounded(.up)))
        return .rateLimited(message: "\(message) Try again in \(seconds) s.", retryAfter: seconds)
    }

    private func prune(_ buckets: inout [String: Bucket], now: Double) {
        buckets = buckets.filter { refilled($0.value, now: now) < burst }
        if buckets.count > maxKeys / 2 {
            let newest = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(maxKeys / 2)
            buckets = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
        }
    }
}
