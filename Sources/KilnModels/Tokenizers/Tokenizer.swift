// A Hugging Face tokenizer loaded from `tokenizer.json` (+ `tokenizer_config.json`), reproducing
// what `transformers.AutoTokenizer` returns: added tokens are matched first, each remaining piece
// is normalized, pre-tokenized and run through the model, then the post-processor adds specials.
// Stages are small protocols built by factories that switch on the upstream `type` names
// (swift-transformers style); anything unknown throws a `TokenizerError` instead of crashing.
// SentencePiece `tokenizer.model` files (Tokenizer+SentencePiece.swift) and GGUF metadata
// (Tokenizer+GGUF.swift) assemble the same `TokenizerParts` through the one designated init.

import Foundation

/// A tokenizer built from a Hugging Face `tokenizer.json`, a SentencePiece `tokenizer.model` or GGUF metadata.
public final class Tokenizer: Sendable {
    let normalizer: (any Normalizer)?
    let preTokenizer: (any PreTokenizer)?
    let model: any TokenModel
    let postProcessor: (any PostProcessor)?
    let decoder: (any TokenDecoder)?
    /// SentencePiece decoding by piece type, used instead of `decoder` for tokenizer.model and GGUF "llama".
    let pieceDecoder: SentencePieceDecoder?
    let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let addedByID: [Int: AddedToken]
    let addedByContent: [[UInt8]: Int]
    let specialIDs: Set<Int>
    /// transformers' `clean_up_tokenization_spaces` from the config (false when absent).
    let cleanUpSpaces: Bool

    /// The id of the beginning-of-sequence token named by the config, if any.
    public let bosTokenId: Int?
    /// The id of the end-of-sequence token named by the config, if any.
    public let eosTokenId: Int?
    /// The number of distinct ids: model vocabulary plus added tokens (transformers' `len(tokenizer)`).
    public let vocabularySize: Int

    /// Assembles a tokenizer from its stages, whichever file they were read from.
    init(parts: TokenizerParts) {
        model = parts.model
        normalizer = parts.normalizer
        preTokenizer = parts.preTokenizer
        postProcessor = parts.postProcessor
        decoder = parts.decoder
        pieceDecoder = parts.pieceDecoder
        addedTokens = parts.addedTokens
        let normalizer = parts.normalizer
        let matched = parts.addedTokens.filter { !parts.unmatchedIDs.contains($0.id) }
        rawMatcher = AddedTokenMatcher(matched.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(matched.filter { $0.normalized }) { normalizer?.normalize($0) ?? $0 }
        var byID: [Int: AddedToken] = [:]
        var byContent: [[UInt8]: Int] = [:]
        for t in parts.addedTokens {
            byID[t.id] = t
            byContent[Array(t.content.utf8)] = t.id
        }
        addedByID = byID
        addedByContent = byContent
        specialIDs = Set(parts.addedTokens.filter(\.special).map(\.id)).union(parts.extraSpecialIDs)
        vocabularySize = Set(parts.model.ids).union(byID.keys).count
        bosTokenId = parts.bosTokenId
        eosTokenId = parts.eosTokenId
        cleanUpSpaces = parts.cleanUpSpaces
    }

    /// Loads a tokenizer from the contents of `tokenizer.json` and, optionally, `tokenizer_config.json`.
    /// - Throws: `TokenizerError` naming the key, stage type, regex or token that is malformed.
    public convenience init(tokenizerJSON: Data, config: Data?) throws(TokenizerError) {
        let root = try JSONNode.parse(tokenizerJSON)
        guard root.value is [String: Any] else { throw .invalidValue(path: "", expected: "a JSON object") }
        let cfg = try config.map { d throws(TokenizerError) in try JSONNode.parse(d) }
        if let cfg, !(cfg.value is [String: Any]) { throw .invalidValue(path: "tokenizer_config", expected: "a JSON object") }

        var parts = TokenizerParts(model: try makeModel(try root.required("model")))
        let model = parts.model

        var added: [AddedToken] = []
        for node in try root["added_tokens"]?.array() ?? [] { added.append(try AddedToken(node)) }
        // transformers also registers tokens that only the config's `added_tokens_decoder` lists.
        if let decoderTable = cfg?["added_tokens_decoder"] {
            for (key, node) in try decoderTable.object() {
                guard let id = Int(key) else { throw .invalidValue(path: node.path, expected: "an integer key") }
                if !added.contains(where: { $0.id == id }) { added.append(try AddedToken(node, id: id)) }
            }
        }
        parts.addedTokens = added

        var normalizerNode = root["normalizer"]
        var preTokenizer: (any PreTokenizer)? = try root["pre_tokenizer"].map { n throws(TokenizerError) in try makePreTokenizer(n) }
        if let cfg, Tokenizer.isLegacyLlama(root: root, config: cfg) {
            // transformers 5 `LlamaTokenizer` drops the legacy Prepend+Replace normalizer and uses
            // Metaspace(split=false), "always" when `legacy` (default) else "first", "never" when
            // `add_prefix_space` is false; it does not double a leading "▁" for text starting with a space.
            normalizerNode = nil
            let legacy = try cfg.bool("legacy", default: true)
            let scheme = try cfg.bool("add_prefix_space", default: true) ? (legacy ? "always" : "first") : "never"
            preTokenizer = MetaspacePreTokenizer(replacement: "▁", prependScheme: scheme, split: false)
        }
        parts.normalizer = try normalizerNode.map { n throws(TokenizerError) in try makeNormalizer(n) }
        parts.preTokenizer = preTokenizer
        parts.decoder = try root["decoder"].map { n throws(TokenizerError) in try makeDecoder(n) }

        var byContent: [[UInt8]: Int] = [:]
        for t in added { byContent[Array(t.content.utf8)] = t.id }
        func tokenID(_ key: String) throws(TokenizerError) -> Int? {
            guard let node = cfg?[key] else { return nil }
            // Either a plain string or an AddedToken object with `content`.
            let name = node.value is String ? try node.string() : try node.required("content").string()
            guard let id = byContent[Array(name.utf8)] ?? model.id(for: name) else { throw .unknownToken(name) }
            return id
        }
        parts.bosTokenId = try tokenID("bos_token")
        parts.eosTokenId = try tokenID("eos_token")

        var post = try root["post_processor"].map { n throws(TokenizerError) in try makePostProcessor(n) }
        if let cfg, Tokenizer.isLlamaClass(cfg), cfg["add_bos_token"] != nil || cfg["add_eos_token"] != nil {
            // transformers' Llama `update_post_processor` rebuilds the template from these two flags.
            let bos = try cfg.bool("add_bos_token", default: true) ? parts.bosTokenId.map { [$0] } ?? [] : []
            let eos = try cfg.bool("add_eos_token", default: false) ? parts.eosTokenId.map { [$0] } ?? [] : []
            post = TemplatePostProcessor(prefix: bos, suffix: eos)
        }
        parts.postProcessor = post
        parts.cleanUpSpaces = try cfg?.bool("clean_up_tokenization_spaces", default: false) ?? false
        self.init(parts: parts)
    }

    /// Loads a model folder: `tokenizer.json` when present, else a SentencePiece `tokenizer.model`,
    /// each with `tokenizer_config.json` when present.
    /// - Throws: `TokenizerError.unreadableFile` naming `tokenizer.json` when neither file exists, or a parse error.
    public convenience init(folder: URL) throws(TokenizerError) {
        let jsonURL = folder.appendingPathComponent("tokenizer.json")
        let config = try? Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json"))
        if let json = try? Data(contentsOf: jsonURL) {
            try self.init(tokenizerJSON: json, config: config)
        } else if let model = try? Data(contentsOf: folder.appendingPathComponent("tokenizer.model")) {
            try self.init(sentencePieceModel: model, config: config)
        } else {
            throw .unreadableFile(jsonURL.path)
        }
    }

    private static func isLlamaClass(_ cfg: JSONNode) -> Bool {
        let cls = (try? cfg.string("tokenizer_class", default: "")) ?? ""
        return cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast"
    }

    /// A Llama-class config over a file with the pre-Metaspace `Prepend("▁")` normalizer.
    private static func isLegacyLlama(root: JSONNode, config: JSONNode) -> Bool {
        guard isLlamaClass(config), root["pre_tokenizer"] == nil, let n = root["normalizer"],
              (try? n.typeName()) == "Sequence", let stages = try? n.required("normalizers").array() else { return false }
        return stages.contains { (try? $0.typeName()) == "Prepend" }
    }

    // MARK: - API

    /// Encodes text to ids; `addSpecialTokens` applies the post-processor (BOS, CLS/SEP, …).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        for segment in rawMatcher.split(text, atStart: true) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let raw, let atStart):
                let normalized = normalizer?.normalize(raw) ?? raw
                for inner in normalizedMatcher.split(normalized, atStart: atStart) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let piece, let pieceAtStart):
                        let words = preTokenizer?.preTokenize([PreToken(text: piece, atStart: pieceAtStart)])
                            ?? [PreToken(text: piece, atStart: pieceAtStart)]
                        for word in words { ids.append(contentsOf: model.tokenize(word.text)) }
                    }
                }
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    /// Encodes text with special tokens, keeping at most `maxLength` ids in all: the text's ids are cut from the end
    /// before the specials are added, as transformers' `truncation=True, max_length=…` does for one sequence.
    public func encode(_ text: String, maxLength: Int) -> [Int] {
        let plain = encode(text, addSpecialTokens: false)
        guard let postProcessor else { return Array(plain.prefix(max(0, maxLength))) }
        let specials = postProcessor.process([]).count
        return postProcessor.process(Array(plain.prefix(max(0, maxLength - specials))))
    }

    /// The token strings of ids (`convert_ids_to_tokens`); unknown ids give an empty string.
    public func tokens(for ids: [Int]) -> [String] {
        ids.map { token(for: $0) ?? "" }
    }

    /// The token string of one id, or nil when the id is not in the vocabulary.
    public func token(for id: Int) -> String? {
        addedByID[id]?.content ?? model.token(for: id)
    }

    /// The id of a token string (added tokens first), or nil.
    public func id(for token: String) -> Int? {
        addedByContent[Array(token.utf8)] ?? model.id(for: token)
    }

    /// True when `id` is an added token marked `special` (or a SentencePiece control/unknown piece).
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    /// The added tokens, in file order.
    public var addedTokenList: [AddedToken] { addedTokens }

    /// Decodes ids to text through the file's decoder; unknown ids are ignored.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        if let pieceDecoder {
            let text = pieceDecoder.decode(ids, literal: { addedByID[$0]?.content }, skip: { skipSpecialTokens && specialIDs.contains($0) })
            return cleanUpSpaces ? Tokenizer.cleanUpTokenization(text) : text
        }
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            if let t = token(for: id) { tokens.append(t) }
        }
        // Upstream joins with spaces when the file has no decoder.
        let text = decoder.map { $0.decodeChain(tokens).joined() } ?? tokens.joined(separator: " ")
        return cleanUpSpaces ? Tokenizer.cleanUpTokenization(text) : text
    }

    /// transformers' `clean_up_tokenization`: drops the space before punctuation and contractions.
    static func cleanUpTokenization(_ text: String) -> String {
        var out = text
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            out = out.replacingOccurrences(of: a, with: b, options: .literal)
        }
        return out
    }
}

/// Everything a tokenizer is assembled from, whatever file it came from.
struct TokenizerParts {
    var model: any TokenModel
    var normalizer: (any Normalizer)?
    var preTokenizer: (any PreTokenizer)?
    var postProcessor: (any PostProcessor)?
    var decoder: (any TokenDecoder)?
    var pieceDecoder: SentencePieceDecoder?
    var addedTokens: [AddedToken] = []
    /// Added tokens known by id and name but never matched in text (ChatGLM3's specials for `sp.encode`).
    var unmatchedIDs: Set<Int> = []
    /// Special ids that are model pieces rather than added tokens (SentencePiece control pieces).
    var extraSpecialIDs: Set<Int> = []
    var bosTokenId: Int?
    var eosTokenId: Int?
    var cleanUpSpaces = false

    init(model: any TokenModel) { self.model = model }
}
