// Building a tokenizer from GGUF metadata (`tokenizer.ggml.*`), the way transformers 5.25's GGUF
// conversion (`integrations/gguf/gguf_tokenizer_mapping.py`) does:
// - "gpt2": `GPT2Tokenizer(vocab, merges)`: byte-level BPE over tokens + merges, ByteLevel
//   pre-tokenizer (GPT-2 regex, no prefix space whatever `add_space_prefix` says) unless
//   `tokenizer.ggml.pre` names a split of its own (then Split(regex) + ByteLevel without regex),
//   ByteLevel decoder. Tokens outside the byte-level alphabet are respelled through it.
// - "llama": `LlamaTokenizer(vocab, merges)` over tokens + scores + types, encoded here with the
//   SentencePiece BPE code. Its pre-tokenizer is Metaspace(prepend "first", no split), which adds
//   no second "▁" to a text that starts with a space (" Hello" → "▁Hello", where llama.cpp and
//   SentencePiece give "▁▁Hello"), and it ignores `tokenizer.ggml.add_space_prefix`.
// Control tokens (type 3) become special added tokens, user-defined ones (type 4) plain added
// tokens, both matched whole in text. BOS/EOS follow `tokenizer.ggml.add_bos_token` /
// `add_eos_token` (absent: BOS for "llama" only), as both transformers and llama.cpp do.

import Foundation

extension Tokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    /// - Throws: `TokenizerError.missingKey` for absent arrays, `.unsupportedType` for a tokenizer
    ///   model other than "gpt2" or "llama", `.invalidModelFile` for malformed metadata.
    public convenience init(gguf: GGUFReader) throws(TokenizerError) {
        guard let kind = gguf.tokenizerModel else { throw .missingKey("tokenizer.ggml.model") }
        func read<T>(_ key: String, _ body: () throws(GGUFError) -> T?) throws(TokenizerError) -> T? {
            do { return try body() } catch { throw .invalidModelFile("\(key): \(error.localizedDescription)") }
        }
        guard let tokens = try read("tokenizer.ggml.tokens", { () throws(GGUFError) in try gguf.tokenizerTokens() }) else {
            throw .missingKey("tokenizer.ggml.tokens")
        }
        let types = try read("tokenizer.ggml.token_type", { () throws(GGUFError) in try gguf.tokenizerTokenTypes() })
        if let types, types.count != tokens.count {
            throw .invalidModelFile("\(types.count) token types for \(tokens.count) tokens")
        }
        var parts: TokenizerParts
        switch kind {
        case "gpt2":
            let merges = try read("tokenizer.ggml.merges", { () throws(GGUFError) in try gguf.tokenizerMerges() }) ?? []
            parts = try Tokenizer.ggufByteLevelParts(gguf, tokens: tokens, merges: merges, types: types ?? [])
        case "llama":
            guard let scores = try read("tokenizer.ggml.scores", { () throws(GGUFError) in try gguf.tokenizerScores() }) else {
                throw .missingKey("tokenizer.ggml.scores")
            }
            parts = try Tokenizer.ggufSentencePieceParts(gguf, tokens: tokens, scores: scores, types: types)
        default:
            throw .unsupportedType(stage: "GGUF tokenizer", type: kind)
        }
        func valid(_ id: Int?) -> Int? { id.flatMap { $0 >= 0 && $0 < tokens.count ? $0 : nil } }
        parts.bosTokenId = valid(gguf.specialTokenID("bos"))
        parts.eosTokenId = valid(gguf.specialTokenID("eos"))
        let addBos = gguf.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? (kind == "llama")
        let addEos = gguf.metadata["tokenizer.ggml.add_eos_token"]?.boolValue ?? false
        let prefix = addBos ? parts.bosTokenId.map { [$0] } ?? [] : []
        let suffix = addEos ? parts.eosTokenId.map { [$0] } ?? [] : []
        parts.postProcessor = prefix.isEmpty && suffix.isEmpty ? nil : TemplatePostProcessor(prefix: prefix, suffix: suffix)
        self.init(parts: parts)
    }

    /// The "gpt2" (byte-level BPE) pipeline.
    static func ggufByteLevelParts(_ gguf: GGUFReader, tokens: [String], merges: [String], types: [Int]) throws(TokenizerError) -> TokenizerParts {
        let alphabet = Set(ByteLevelAlphabet.byteToScalar.map(\.value))
        func inAlphabet(_ t: String) -> Bool { t.unicodeScalars.allSatisfy { alphabet.contains($0.value) } }
        // transformers' `_byte_level_vocab`: a token llama.cpp stored raw is respelled the way merges name it;
        // a later duplicate wins, as in the Python dict it builds.
        var vocab: [String: Any] = [:]
        var spelled: [String] = []
        spelled.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            let s = inAlphabet(t) ? t : ByteLevelAlphabet.encode(t)
            spelled.append(s)
            vocab[s] = i
        }
        let model = try BPEModel(JSONNode(["type": "BPE", "vocab": vocab, "merges": merges], path: "tokenizer.ggml"))
        var parts = TokenizerParts(model: model)
        var added: [AddedToken] = []
        for (i, t) in tokens.enumerated() where i < types.count && types[i] == 3 && inAlphabet(t) {
            // Registering a token that the vocabulary already has keeps its vocabulary id.
            added.append(AddedToken(content: t, id: model.id(for: t) ?? i, special: true))
        }
        // User-defined tokens (type 4, e.g. "<think>") are matched whole, as llama.cpp does, when the
        // vocabulary spells them as written.
        for (i, t) in tokens.enumerated() where i < types.count && types[i] == 4 {
            if let id = model.id(for: t) { added.append(AddedToken(content: t, id: id, special: false)) }
        }
        parts.addedTokens = added
        if let pre = gguf.string("tokenizer.ggml.pre"), let regex = ggufSplitPatterns[pre] {
            let split = try TokenPattern(JSONNode(["Regex": regex], path: "tokenizer.ggml.pre"))
            parts.preTokenizer = SequencePreTokenizer(stages: [
                SplitPreTokenizer(pattern: split, behavior: .isolated, invert: false),
                ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false),
            ])
        } else {
            parts.preTokenizer = ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
        }
        parts.decoder = ByteLevelDecoder()
        return parts
    }

    /// The "llama" (SentencePiece) pipeline.
    static func ggufSentencePieceParts(_ gguf: GGUFReader, tokens: [String], scores: [Float], types: [Int]?) throws(TokenizerError) -> TokenizerParts {
        guard scores.count == tokens.count else { throw .invalidModelFile("\(scores.count) scores for \(tokens.count) tokens") }
        var pieces: [SentencePieceSpec.Piece] = []
        pieces.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            let raw = types?[i] ?? 1
            guard let type = PieceType(rawValue: raw) else { throw .invalidModelFile("token type \(raw) of token \(i)") }
            pieces.append(.init(text: t, score: scores[i], type: type))
        }
        var spec = SentencePieceSpec(pieces: pieces, modelType: 2)
        if let unk = gguf.specialTokenID("unknown"), unk >= 0, unk < tokens.count { spec.unkId = unk }
        var parts = try sentencePieceParts(spec, restartAfterLiteral: false)
        parts.preTokenizer = MetaspacePreTokenizer(replacement: "\u{2581}", prependScheme: "first", split: false)
        // transformers registers control pieces and the named unknown/BOS/EOS/padding tokens as
        // specials (so "<unk>" written in text is the unknown token), user-defined pieces as plain.
        let named = Set([spec.unkId] + ["bos", "eos", "padding"].compactMap { gguf.specialTokenID($0) })
        parts.addedTokens = pieces.indices.compactMap { i in
            if pieces[i].type == .control || named.contains(i) { return AddedToken(content: pieces[i].text, id: i, special: true) }
            return pieces[i].type == .userDefined ? AddedToken(content: pieces[i].text, id: i, special: false) : nil
        }
        return parts
    }

    /// `tokenizer.ggml.pre` names whose split differs from GPT-2's, as transformers' table lists them.
    static let ggufSplitPatterns: [String: String] = {
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen35 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let upper = #"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"#, lower = #"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"#
        let tekken = #"[^\r\n\p{L}\p{N}]?"# + upper + "*" + lower + #"+|[^\r\n\p{L}\p{N}]?"# + upper + "+" + lower
            + #"*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let suffix = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#
        let gpt4o = #"[^\r\n\p{L}\p{N}]?"# + upper + "*" + lower + "+" + suffix + #"|[^\r\n\p{L}\p{N}]?"# + upper + "+" + lower + "*" + suffix
            + #"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        var table: [String: String] = [:]
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe"] { table[name] = llama3 }
        for name in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"] { table[name] = qwen2 }
        table["qwen35"] = qwen35
        table["tekken"] = tekken
        for name in ["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"] { table[name] = gpt4o }
        return table
    }()
}
