// Finding a byte string in a body that arrives in pieces, looking at each byte once however the pieces are cut.
import Foundation

/// An incremental search for `needle` in a growing byte buffer (Knuth–Morris–Pratt, with memchr to skip to the
/// needle's first byte).
///
/// The search remembers how far it has looked and how much of the needle the last bytes matched, so feeding a body
/// in 512-byte or 64 KiB pieces costs the same, and boundary-like runs ("\r\n--bou\r\n--bou…") cannot make it
/// re-read bytes: the work is linear in the body's length.
struct StreamSearch {
    private let needle: [UInt8]
    /// `failure[i]`: the length of the longest proper prefix of `needle[0...i]` that is also its suffix.
    private let failure: [Int]
    /// How many bytes of the needle end just before `next`.
    private var matched = 0
    /// The buffer index of the next byte to look at.
    private var next = 0

    /// A search for `needle` from the start of the buffer.
    init(_ needle: [UInt8]) {
        precondition(!needle.isEmpty, "an empty needle matches everywhere")
        self.needle = needle
        var failure = [Int](repeating: 0, count: needle.count)
        var length = 0
        for index in 1..<needle.count {
            while length > 0 && needle[index] != needle[length] { length = failure[length - 1] }
            if needle[index] == needle[length] { length += 1 }
            failure[index] = length
        }
        self.failure = failure
    }

    /// Forgets any partial match and starts again at `start`.
    mutating func restart(at start: Int) {
        matched = 0
        next = start
    }

    /// Follows the buffer when its first `count` bytes are dropped.
    mutating func shift(by count: Int) {
        next -= count
    }

    /// The index where the needle starts in `buffer`, looking only at bytes not seen before; `nil` until it arrives.
    /// After a match the search continues just past it.
    mutating func find(in buffer: [UInt8]) -> Int? {
        buffer.withUnsafeBufferPointer { bytes -> Int? in
            guard let base = bytes.baseAddress else { return nil }
            let count = bytes.count
            while next < count {
                if matched == 0 {
                    // Nothing matched yet: jump straight to the next occurrence of the first byte.
                    guard let hit = memchr(base + next, Int32(needle[0]), count - next) else {
                        next = count
                        return nil
                    }
                    next = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                }
                let byte = bytes[next]
                while matched > 0 && needle[matched] != byte { matched = failure[matched - 1] }
                if needle[matched] == byte { matched += 1 }
                next += 1
                if matched == needle.count {
                    matched = 0
                    return next - needle.count
                }
            }
            return nil
        }
    }
}
