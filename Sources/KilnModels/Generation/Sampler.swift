// Next-token choice over one row of logits, following transformers 5.24 `generation/logits_process.py`:
// RepetitionPenaltyLogitsProcessor first, then the warpers in `_get_logits_processor`'s order
// (Temperature, TopK, TopP, MinP), then a multinomial draw from the softmax (or argmax when greedy).
import Foundation

/// How the next token is chosen; the defaults switch every filter off.
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits before softmax; 0 means greedy (argmax, as `do_sample=False`).
    public var temperature: Float
    /// Keeps the k most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keeps the smallest set of tokens whose probability reaches p; 1 keeps all.
    public var topP: Float
    /// Drops tokens below minP × the top token's probability; 0 keeps all.
    public var minP: Float
    /// HF repetition penalty over every id seen so far (prompt included); 1 is off.
    public var repetitionPenalty: Float
    /// OpenAI's presence penalty: subtracted once from the logit of every id already generated (prompt excluded); 0 is off.
    public var presencePenalty: Float = 0
    /// OpenAI's frequency penalty: subtracted from an id's logit once per time it was generated; 0 is off.
    public var frequencyPenalty: Float = 0

    /// Greedy decoding with no penalty.
    public static let greedy = SamplingParameters()

    /// Collects the settings; the defaults are greedy with every filter off.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1) {
        (self.temperature, self.topK, self.topP, self.minP, self.repetitionPenalty) = (temperature, topK, topP, minP, repetitionPenalty)
    }

    /// True when the choice is an argmax (temperature 0).
    public var isGreedy: Bool { temperature <= 0 }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seedable generator, so the same seed gives the same tokens.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The position in the sequence (a generator made with `init(seed: state)` continues from here).
    public private(set) var state: UInt64

    /// Starts the sequence at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The logit processors and the final draw, each a pure function of its inputs.
public enum Sampler {
    /// HF semantics: for each distinct seen id, a positive logit is divided by `penalty`, a negative one multiplied.
    public static func applyRepetitionPenalty(_ logits: inout [Float], seen: [Int], penalty: Float) {
        guard penalty != 1 else { return }
        for id in Set(seen) where logits.indices.contains(id) {
            logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty
        }
    }

    /// Softmax of logits / temperature after top-k, top-p and min-p filtering; filtered entries are exactly 0.
    public static func probabilities(_ logits: [Float], parameters p: SamplingParameters) -> [Float] {
        let t = p.temperature > 0 ? p.temperature : 1
        var scaled = logits.map { $0 / t }
        if p.topK > 0 && p.topK < scaled.count {
            // TopKLogitsWarper keeps every logit >= the k-th largest, so ties at the boundary survive.
            let threshold = scaled.sorted(by: >)[p.topK - 1]
            for i in scaled.indices where scaled[i] < threshold { scaled[i] = -.infinity }
        }
        var probs = softmax(scaled)
        if p.topP < 1 {
            // TopPLogitsWarper: drop the tail whose ascending cumulative mass is <= 1 - p; the top token always stays.
            let order = probs.indices.sorted { probs[$0] > probs[$1] }
            var cumulative: Float = 0
            var keep = Set<Int>()
            for i in order {
                keep.insert(i)
                cumulative += probs[i]
                if cumulative >= p.topP { break }
            }
            for i in probs.indices where !keep.contains(i) { probs[i] = 0 }
            probs = normalized(probs)
        }
        if p.minP > 0, let top = probs.max() {
            let floor = p.minP * top
            for i in probs.indices where probs[i] < floor { probs[i] = 0 }
            probs = normalized(probs)
        }
        return probs
    }

    /// OpenAI (and vLLM) semantics over the completion so far: logit −= count × frequency + (count > 0) × presence.
    public static func applyOpenAIPenalties(_ logits: inout [Float], generated: [Int], presence: Float, frequency: Float) {
        guard presence != 0 || frequency != 0 else { return }
        var counts: [Int: Int] = [:]
        for id in generated { counts[id, default: 0] += 1 }
        for (id, count) in counts where logits.indices.contains(id) {
            logits[id] -= Float(count) * frequency + presence
        }
    }

    /// Chooses the next id: penalties, then argmax when greedy, else a draw from `probabilities` with `rng`. `seen` is
    /// the prompt and the completion so far, `generated` the completion alone.
    public static func sample(_ logits: [Float], parameters: SamplingParameters, seen: [Int], generated: [Int] = [],
                              using rng: inout some RandomNumberGenerator) -> Int {
        var adjusted = logits
        applyRepetitionPenalty(&adjusted, seen: seen, penalty: parameters.repetitionPenalty)
        applyOpenAIPenalties(&adjusted, generated: generated, presence: parameters.presencePenalty, frequency: parameters.frequencyPenalty)
        if parameters.isGreedy { return FamilyOps.argmax(adjusted[...]) }
        return draw(probabilities(adjusted, parameters: parameters), using: &rng)
    }

    /// An index drawn with the given (normalised) weights; zero-weight entries are never chosen.
    public static func draw(_ probs: [Float], using rng: inout some RandomNumberGenerator) -> Int {
        // 53 random bits give a uniform Double in [0, 1).
        let u = Double(rng.next() >> 11) * 0x1p-53
        var cumulative = 0.0
        var last = 0
        for (i, q) in probs.enumerated() where q > 0 {
            cumulative += Double(q)
            last = i
            if u < cumulative { return i }
        }
        return last
    }

    /// Numerically stable softmax; -inf entries become 0.
    static func softmax(_ x: [Float]) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
        return normalized(e)
    }

    /// x / sum(x).
    static func normalized(_ x: [Float]) -> [Float] {
        let s = x.reduce(0, +)
        return s > 0 ? x.map { $0 / s } : x
    }
}
