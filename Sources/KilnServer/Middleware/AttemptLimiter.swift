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

/// Token buckets keyed by client address and by username, refilled continuously.
///
/// A bucket holds up to `burst` tokens and gains `rate` per second; an attempt spends one, and an empty bucket answers
/// 429 with the seconds until the next token. Memory is bounded: past `maxKeys` buckets, full ones are forgotten
/// (a full bucket is the same as no bucket), and if that is not enough the oldest half goes.
final class AttemptLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let limits: AttemptLimits
    private let clock: @Sendable () -> Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxKeys: Int

    /// Creates a limiter; `clock` gives seconds (tests pass their own).
    init(_ limits: AttemptLimits, maxKeys: Int = 100_000,
         clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.limits = limits
        self.maxKeys = maxKeys
        self.clock = clock
    }

    /// Spends one attempt of `address`.
    /// - Throws: `DataError.rateLimited` when its bucket is empty.
    func spendAddress(_ address: String) throws {
        try spend("ip:" + address, burst: limits.perAddressBurst, perSecond: Double(limits.perAddressPerMinute) / 60,
                  message: "Too many sign-in attempts from your address.")
    }

    /// Checks `username` may still try a password (its failures have not used up its bucket), without spending.
    /// - Throws: `DataError.rateLimited` when they have.
    func checkUsername(_ username: String) throws {
        try check("user:" + username.lowercased(), burst: limits.perUsernameBurst, perSecond: Double(limits.perUsernamePerHour) / 3600,
                  message: "Too many failed sign-ins for this account.")
    }

    /// Records a failed password for `username`.
    func failedLogin(_ username: String) {
        _ = try? spend("user:" + username.lowercased(), burst: limits.perUsernameBurst,
                       perSecond: Double(limits.perUsernamePerHour) / 3600, message: "")
    }

    /// Runs a login for `username` from `address` within both budgets, counting it against the username if it fails.
    /// - Throws: `DataError.rateLimited` before `login` runs when a budget is spent; otherwise what `login` throws.
    func login<T>(address: String, username: String, _ login: () async throws -> T) async throws -> T {
        try spendAddress(address)
        try checkUsername(username)
        do {
            return try await login()
        } catch let error as DataError where error.status == 401 {
            failedLogin(username)
            throw error
        }
    }

    private func check(_ key: String, burst: Int, perSecond: Double, message: String) throws {
        let now = clock()
        let wait: Double? = buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return nil }
            let tokens = min(Double(burst), bucket.tokens + (now - bucket.updated) * perSecond)
            return tokens >= 1 ? nil : (1 - tokens) / max(perSecond, 1e-9)
        }
        if let wait { throw refusal(message, wait: wait) }
    }

    private func spend(_ key: String, burst: Int, perSecond: Double, message: String) throws {
        let now = clock()
        let wait: Double? = buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: Double(burst), updated: now)
            bucket.tokens = min(Double(burst), bucket.tokens + (now - bucket.updated) * perSecond)
            bucket.updated = now
            defer {
                if buckets.count > maxKeys { Self.prune(&buckets, now: now, perSecond: perSecond, burst: burst, keep: maxKeys / 2) }
            }
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return (1 - bucket.tokens) / max(perSecond, 1e-9)
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            return nil
        }
        if let wait { throw refusal(message, wait: wait) }
    }

    private func refusal(_ message: String, wait: Double) -> DataError {
        let seconds = Int(min(wait, 86_400).rounded(.up))
        return .rateLimited(message: "\(message) Try again in \(max(1, seconds)) s.", retryAfter: max(1, seconds))
    }

    /// Forgets buckets that have refilled, then, if still too many, those touched longest ago.
    private static func prune(_ buckets: inout [String: Bucket], now: Double, perSecond: Double, burst: Int, keep: Int) {
        buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * perSecond < Double(burst) }
        if buckets.count > keep {
            let newest = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(keep)
            buckets = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
        }
    }
}
