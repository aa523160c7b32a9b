// Random mutations of canonical entries: the parser never traps, and whatever it accepts is self-consistent.
import Foundation
import KilnLedger
import Testing

/// SplitMix64: a tiny seeded generator, so a failing mutation can be replayed from its iteration number.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Parser fuzzing")
struct ParserFuzzTests {
    /// Fragments that steer mutations toward the parser's edge cases.
    static let tokens: [[UInt8]] = [
        "\\u", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\", "\"", "{", "}", "[", "]", ",", ":", "0", "-0", "01", "1e999",
        "1.", ".5", "e+", "null", "tru", "\u{7F}", "\u{2028}", String(repeating: "[", count: 200),
    ].map { Array($0.utf8) } + [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x00], [0x0A], [0xE2, 0x82]]

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 2: bytes.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &rng)], at: position)
            case 3 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &rng)))
            case 4: bytes = Array(bytes.prefix(position))
            default:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            }
        }
        return bytes
    }

    @Test("5 000 mutations of canonical entries never crash; accepted inputs are canonical fixed points")
    func mutations() throws {
        let entry = try LedgerEntry.genesis(time: 1_767_225_600_000, kind: LedgerEntry.Kind.submissionAccepted, payload: [
            "ids": [1, 2.5, -3e-9, 1e21], "name": "Café ☃ 😀", "control": "\u{1}\n\"\\", "nested": ["a": ["b": [nil, true, false]]],
        ])
        let seeds = [entry.canonicalBytes, Array(#"{"a":[1,{"b":"\u00e9"}],"c":-0.5e-3}"#.utf8)]
        var rng = SplitMix64(state: 0x4B49_4C4E)
        var acceptedJSON = 0
        for iteration in 0..<5_000 {
            let input = Self.mutate(seeds[iteration % seeds.count], using: &rng)
            if let value = try? CanonicalJSON.parse(input) {
                acceptedJSON += 1
                // Serialising what was accepted gives canonical bytes that parse back to the same bytes.
                let canonical = value.canonicalBytes
                let again = try CanonicalJSON.parse(canonical)
                #expect(again.canonicalBytes == canonical, "iteration \(iteration)")
            }
            if let parsed = try? LedgerEntry(canonicalBytes: input) {
                #expect(parsed.canonicalBytes == input, "iteration \(iteration): a non-canonical entry was accepted")
            }
        }
        // Sanity: the mutator is neither too gentle nor too harsh.
        #expect(acceptedJSON > 50 && acceptedJSON < 4_900, "accepted \(acceptedJSON)")
    }

    @Test("2 000 random byte strings never crash the parser")
    func randomBytes() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in
                // Bias toward JSON's structural alphabet so parsing gets past the first byte.
                Bool.random(using: &rng) ? Array("{}[]\",:0123456789-.eEtrufalsn \\u".utf8).randomElement(using: &rng) ?? 0
                    : UInt8.random(in: 0...255, using: &rng)
            }
            _ = try? CanonicalJSON.parse(bytes)
            _ = try? LedgerEntry(canonicalBytes: bytes)
        }
    }
}
