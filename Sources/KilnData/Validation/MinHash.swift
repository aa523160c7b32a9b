// MinHash signatures over word 5-shingles with LSH banding, for near-duplicate text detection.
import Foundation
import KilnLedger

/// A MinHash signature (Broder 1997) of a text's word 5-shingles.
///
/// 128 hash functions estimate Jaccard similarity to within about ±0.04. For lookup the signature
/// is cut into 32 bands of 4 rows (LSH): two texts share at least one band key with probability
/// 1 − (1 − J⁴)³², which is above 0.9999999 at J = 0.8 and about 0.03 at J = 0.3, so only likely
/// matches are fetched and compared exactly.
public struct MinHash: Sendable, Equatable {
    /// Number of hash functions.
    public static let size = 128
    /// Rows per band.
    public static let rows = 4
    /// Number of bands.
    public static let bands = size / rows
    /// The words per shingle.
    public static let shingleWords = 5

    /// The minimum of each hash function over the shingles.
    public let values: [UInt32]

    /// The most Unicode scalars of a text that its signature reads: enough to tell near-duplicates apart, and a bound
    /// on the work one item can cause (128 hashes per word).
    public static let maxInputScalars = 256 * 1024

    /// Computes the signature of `text` (lower-cased words split on anything not a letter or digit), over at most its
    /// first `maxInputScalars` scalars.
    public init(text: String) {
        let scalars = text.unicodeScalars
        // Finding the cut walks at most maxInputScalars scalars, never the whole of a longer text.
        let cut = scalars.index(scalars.startIndex, offsetBy: MinHash.maxInputScalars, limitedBy: scalars.endIndex) ?? scalars.endIndex
        let words = MinHash.words(cut == scalars.endIndex ? text : String(scalars[..<cut]))
        var shingles: [UInt64] = []
        if words.count <= MinHash.shingleWords {
            shingles.append(MinHash.fnv1a(words))
        } else {
            shingles.reserveCapacity(words.count - MinHash.shingleWords + 1)
            for start in 0...(words.count - MinHash.shingleWords) {
                shingles.append(MinHash.fnv1a(words[start..<(start + MinHash.shingleWords)]))
            }
        }
        var minima = [UInt32](repeating: .max, count: MinHash.size)
        for shingle in shingles {
            for index in 0..<MinHash.size {
                // Hash function i is splitmix64 of the shingle xor a per-function constant.
                let value = UInt32(truncatingIfNeeded: MinHash.mix(shingle ^ MinHash.seeds[index]) >> 32)
                if value < minima[index] { minima[index] = value }
            }
        }
        values = minima
    }

    /// Restores a signature from `hex` (as stored).
    public init?(hex: String) {
        guard hex.utf8.count == MinHash.size * 8, let bytes = Hex.decode(hex) else { return nil }
        values = stride(from: 0, to: bytes.count, by: 4).map { index in
            UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
        }
    }

    /// The signature as 8 hex digits per value (big-endian).
    public var hex: String {
        Hex.encode(values.flatMap { [UInt8($0 >> 24), UInt8($0 >> 16 & 0xFF), UInt8($0 >> 8 & 0xFF), UInt8($0 & 0xFF)] })
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets.
    public func similarity(to other: MinHash) -> Double {
        var same = 0
        for index in 0..<MinHash.size where values[index] == other.values[index] { same += 1 }
        return Double(same) / Double(MinHash.size)
    }

    /// One key per band; the band's index is mixed in, so keys of different bands never collide by design.
    public var bandKeys: [Int64] {
        (0..<MinHash.bands).map { band in
            var hash = UInt64(band) &* 0x9E37_79B9_7F4A_7C15
            for row in 0..<MinHash.rows {
                hash = MinHash.mix(hash ^ UInt64(values[band * MinHash.rows + row]))
            }
            return Int64(bitPattern: hash)
        }
    }

    static func words(_ text: String) -> [Substring] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }
    }

    static func fnv1a(_ words: some Collection<Substring>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var first = true
        for word in words {
            if !first {
                hash = (hash ^ 0x20) &* 0x100_0000_01b3
            }
            first = false
            for byte in word.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        return hash
    }

    static func mix(_ input: UInt64) -> UInt64 {
        var z = input &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static let seeds: [UInt64] = {
        var state: UInt64 = 0x6B69_6C6E_6D69_6E68
        return (0..<size).map { _ in
            state = mix(state)
            return state
        }
    }()
}
