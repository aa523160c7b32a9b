// Timestamps as the API writes them, and the floor division that turns milliseconds into days.
import Foundation

/// ISO 8601 timestamps in UTC with milliseconds, as the API writes them.
public enum ISO8601 {
    /// Formats a date such as `2026-11-25T21:13:59.000Z`.
    public static func string(_ date: Date) -> String {
        string(milliseconds: Int((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// Formats Unix milliseconds.
    public static func string(milliseconds: Int) -> String {
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                      milliseconds - milliseconds.floorDivided(by: 1000) * 1000)
    }
}

extension Int {
    /// Division rounding toward negative infinity, so days and seconds before 1970 stay whole.
    func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
