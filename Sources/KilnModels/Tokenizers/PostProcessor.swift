// Post-processors: add the special tokens around an encoded sequence when `addSpecialTokens` is
// true. Only single sequences are encoded here, so each processor keeps its single-sequence form.

import Foundation

/// A post-processor from the `post_processor` key of tokenizer.json.
protocol PostProcessor: Sendable {
    /// The ids with the processor's special tokens added.
    func process(_ ids: [Int]) -> [Int]
}

/// Builds a post-processor, switching on the upstream `type` name.
func makePostProcessor(_ node: JSONNode) throws(TokenizerError) -> any PostProcessor {
    let type = try node.typeName()
    switch type {
    case "TemplateProcessing":
        var specials: [String: [Int]] = [:]
        if let table = node["special_tokens"] {
            for (name, entry) in try table.object() {
                specials[name] = try entry.required("ids").array().map { n throws(TokenizerError) in try n.int() }
            }
        }
        var prefix: [Int] = [], suffix: [Int] = []
        var seenSequence = false
        for piece in try node.required("single").array() {
            if let special = piece["SpecialToken"] {
                let name = try special.required("id").string()
                guard let ids = specials[name] else { throw .unknownToken(name) }
                if seenSequence { suffix += ids } else { prefix += ids }
            } else if piece["Sequence"] != nil {
                seenSequence = true
            } else {
                throw .invalidValue(path: piece.path, expected: "a SpecialToken or Sequence piece")
            }
        }
        return TemplatePostProcessor(prefix: prefix, suffix: suffix)
    case "BertProcessing", "RobertaProcessing":
        // `cls` and `sep` are [token, id] pairs.
        func pairID(_ key: String) throws(TokenizerError) -> Int {
            let pair = try node.required(key).array()
            guard pair.count == 2 else { throw .invalidValue(path: node.path + "." + key, expected: "a [token, id] pair") }
            return try pair[1].int()
        }
        return TemplatePostProcessor(prefix: [try pairID("cls")], suffix: [try pairID("sep")])
    case "ByteLevel":
        // Only adjusts offsets upstream; ids are unchanged.
        return TemplatePostProcessor(prefix: [], suffix: [])
    case "Sequence":
        var stages: [any PostProcessor] = []
        for child in try node.required("processors").array() { stages.append(try makePostProcessor(child)) }
        return SequencePostProcessor(stages: stages)
    default:
        throw .unsupportedType(stage: "post-processor", type: type)
    }
}

/// Special ids before and after the sequence (TemplateProcessing, BERT, RoBERTa).
struct TemplatePostProcessor: PostProcessor {
    let prefix: [Int]
    let suffix: [Int]
    func process(_ ids: [Int]) -> [Int] { prefix + ids + suffix }
}

/// Runs post-processors in order.
struct SequencePostProcessor: PostProcessor {
    let stages: [any PostProcessor]
    func process(_ ids: [Int]) -> [Int] { stages.reduce(ids) { $1.process($0) } }
}
