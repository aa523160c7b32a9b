// Streaming with stop strings: a token may end with the first characters of a stop string whose rest comes with the
// next token, and the non-streamed answer cuts the text before the stop. So streamed text that could still be the start
// of a stop string is held back until it is known not to be; the chunks then always add up to the non-streamed text.

/// Turns the generator's text deltas into the deltas safe to send.
struct StopHoldback: Sendable {
    /// The stop strings of the request.
    let stops: [String]
    /// Text the generator produced so far.
    private(set) var received = ""
    /// Text sent to the client so far, always a prefix of `received`.
    private(set) var sent = ""

    /// Creates an empty holdback.
    init(stops: [String]) { self.stops = stops }

    /// Takes the generator's next delta; returns what may be sent now (possibly empty).
    mutating func add(_ delta: String) -> String {
        received += delta
        let safe = received.dropLast(heldCount(received))
        guard safe.count > sent.count, safe.hasPrefix(sent) else { return "" }
        let out = String(safe.dropFirst(sent.count))
        sent = String(safe)
        return out
    }

    /// The rest of the answer once generation ended with `final` as its text.
    mutating func finish(_ final: String) -> String {
        guard final.count > sent.count, final.hasPrefix(sent) else { return "" }
        let out = String(final.dropFirst(sent.count))
        sent = final
        return out
    }

    /// How many trailing characters of `text` are a proper prefix of some stop string.
    func heldCount(_ text: String) -> Int {
        var held = 0
        for stop in stops {
            let characters = Array(stop)
            var length = min(characters.count - 1, text.count)
            while length > held {
                if text.hasSuffix(String(characters[..<length])) {
                    held = length
                    break
                }
                length -= 1
            }
        }
        return held
    }
}
