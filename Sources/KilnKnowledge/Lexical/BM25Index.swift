// Okapi BM25 over an inverted index, with the scoring of rank_bm25's `BM25Okapi` (the reference the tests hold
// it to): idf = ln(N − n + ½) − ln(n + ½), and a term in more than half of the documents (negative idf) gets
// ε · the mean idf of the whole vocabulary instead. Documents come and go one at a time; the idf table is
// rebuilt after each batch of changes, which is O(vocabulary).
import Foundation

/// BM25's free parameters, with rank_bm25's defaults.
public struct BM25Parameters: Sendable, Equatable, Codable {
    /// Term-frequency saturation.
    public var k1: Double
    /// Length normalisation: 0 ignores document length, 1 normalises fully.
    public var b: Double
    /// The idf floor for very common terms, as a fraction of the mean idf.
    public var epsilon: Double

    /// Parameters, defaulting to k1 1.5, b 0.75, ε 0.25.
    public init(k1: Double = 1.5, b: Double = 0.75, epsilon: Double = 0.25) {
        (self.k1, self.b, self.epsilon) = (k1, b, epsilon)
    }

    /// Whether the values are usable: k1 ≥ 0, 0 ≤ b ≤ 1, ε ≥ 0, all finite.
    public var isValid: Bool { k1.isFinite && k1 >= 0 && b.isFinite && b >= 0 && b <= 1 && epsilon.isFinite && epsilon >= 0 }
}

/// An inverted index scored with BM25; documents are named by caller-chosen integer ids.
public struct BM25Index: Sendable {
    /// The scoring parameters.
    public let parameters: BM25Parameters
    /// term → (slot, term frequency) for every live document holding it.
    private var postings: [String: [(slot: Int32, frequency: Int32)]] = [:]
    /// Per slot: the caller's id, the length in terms, and the distinct terms (for removal); nil once removed.
    private var documents: [(id: Int, length: Int, terms: [String])?] = []
    private var slotOfID: [Int: Int32] = [:]
    private var totalLength = 0
    /// term → idf after the floor, rebuilt by `refresh`.
    private var idf: [String: Double] = [:]
    /// The mean idf before the floor (rank_bm25's `average_idf`).
    public private(set) var averageIDF = 0.0

    /// An empty index.
    public init(parameters: BM25Parameters = BM25Parameters()) { self.parameters = parameters }

    /// Live documents.
    public var count: Int { slotOfID.count }

    /// Distinct terms over live documents.
    public var vocabularySize: Int { postings.count }

    /// Mean document length in terms (rank_bm25's `avgdl`).
    public var averageLength: Double { count == 0 ? 0 : Double(totalLength) / Double(count) }

    /// Adds documents by id and text (tokenised by `LexicalTokenizer`); an id already present is replaced.
    public mutating func add(_ documents: [(id: Int, text: String)]) {
        add(terms: documents.map { ($0.id, LexicalTokenizer.terms($0.text)) })
    }

    /// Adds documents already split into terms; an id already present is replaced.
    public mutating func add(terms documents: [(id: Int, terms: [String])]) {
        for (id, terms) in documents {
            if slotOfID[id] != nil { removeOne(id) }
            let slot = Int32(self.documents.count)
            var frequencies: [String: Int32] = [:]
            for term in terms { frequencies[term, default: 0] += 1 }
            for (term, frequency) in frequencies { postings[term, default: []].append((slot, frequency)) }
            self.documents.append((id, terms.count, Array(frequencies.keys)))
            slotOfID[id] = slot
            totalLength += terms.count
        }
        refresh()
    }

    /// Removes documents by id; unknown ids are ignored.
    public mutating func remove(_ ids: [Int]) {
        for id in ids { removeOne(id) }
        refresh()
    }

    private mutating func removeOne(_ id: Int) {
        guard let slot = slotOfID.removeValue(forKey: id), let document = documents[Int(slot)] else { return }
        for term in document.terms {
            postings[term]?.removeAll { $0.slot == slot }
            if postings[term]?.isEmpty == true { postings[term] = nil }
        }
        totalLength -= document.length
        documents[Int(slot)] = nil
    }

    /// Rebuilds the idf table for the current documents, with rank_bm25's floor.
    private mutating func refresh() {
        let n = Double(count)
        var table: [String: Double] = [:]
        table.reserveCapacity(postings.count)
        var sum = 0.0
        for (term, list) in postings {
            let frequency = Double(list.count)
            let value = log(n - frequency + 0.5) - log(frequency + 0.5)
            table[term] = value
            sum += value
        }
        averageIDF = postings.isEmpty ? 0 : sum / Double(postings.count)
        let floor = parameters.epsilon * averageIDF
        for (term, value) in table where value < 0 { table[term] = floor }
        idf = table
    }

    /// Scores of every live document that holds a query term; each query term counts as often as it is repeated,
    /// as in `get_scores`. Documents without any query term score 0 and are left out.
    public func scores(terms query: [String]) -> [Int: Double] {
        let (k1, b) = (parameters.k1, parameters.b)
        let meanLength = averageLength
        var bySlot: [Int32: Double] = [:]
        for term in query {
            guard let list = postings[term], let weight = idf[term] else { continue }
            for (slot, frequency) in list {
                let tf = Double(frequency), length = Double(documents[Int(slot)]!.length)
                // numpy's evaluation order in rank_bm25, so the sums agree to the last few bits.
                let part = weight * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / meanLength)))
                bySlot[slot, default: 0] += part
            }
        }
        var result: [Int: Double] = [:]
        for (slot, score) in bySlot { result[documents[Int(slot)]!.id] = score }
        return result
    }

    /// The `limit` best documents for `query` text, best first (ties by id), with their scores.
    public func search(_ query: String, limit: Int) -> [(id: Int, score: Double)] {
        let ranked = scores(terms: LexicalTokenizer.terms(query)).map { (id: $0.key, score: $0.value) }
        return Array(ranked.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }.prefix(max(0, limit)))
    }
}
