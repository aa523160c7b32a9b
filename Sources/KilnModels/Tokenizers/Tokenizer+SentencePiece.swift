// Loading a SentencePiece `tokenizer.model` directly, encoding as `sp.encode` does. Two flavours,
// chosen by `tokenizer_class` in tokenizer_config.json: ChatGLM3's `ChatGLMTokenizer` (nine
// specials numbered from the piece count, "[gMASK] sop" in front, specials never matched in text)
// and Llama-style (BOS per `add_bos_token`, default true; EOS per `add_eos_token`, default false).
// Control pieces such as "<s>" are never matched inside text, as in SentencePiece itself.

import Foundation

extension Tokenizer {
    /// ChatGLM3's special tokens in `SPTokenizer` order; their ids start at the piece count.
    static let chatGLMSpecials = ["[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"]

    /// Loads a SentencePiece `tokenizer.model` and, optionally, `tokenizer_config.json`.
    /// - Throws: `TokenizerError.invalidModelFile` for a malformed file, `.unsupportedType` for a model
    ///   type other than BPE or Unigram, or a config parse error.
    public convenience init(sentencePieceModel data: Data, config: Data?) throws(TokenizerError) {
        let spec = try SentencePieceSpec(data: data)
        let cfg = try config.map { d throws(TokenizerError) in try JSONNode.parse(d) }
        if let cfg, !(cfg.value is [String: Any]) { throw .invalidValue(path: "tokenizer_config", expected: "a JSON object") }
        let isChatGLM = (try cfg?.string("tokenizer_class", default: "")) == "ChatGLMTokenizer"
        var parts = try Tokenizer.sentencePieceParts(spec, restartAfterLiteral: isChatGLM)
        let count = spec.pieces.count
        func valid(_ id: Int) -> Int? { id >= 0 && id < count ? id : nil }
        parts.bosTokenId = valid(spec.bosId)
        parts.eosTokenId = valid(spec.eosId)
        if isChatGLM {
            // tokenization_chatglm.py: `SPTokenizer` numbers these from `sp.vocab_size()`, and
            // `build_inputs_with_special_tokens` puts `[gMASK] sop` in front of every text.
            parts.addedTokens = Tokenizer.chatGLMSpecials.enumerated().map { AddedToken(content: $1, id: count + $0, special: true) }
            parts.unmatchedIDs = Set(parts.addedTokens.map(\.id))
            parts.postProcessor = TemplatePostProcessor(prefix: [count + 1, count + 3], suffix: [])
        } else {
            let bos = try cfg?.bool("add_bos_token", default: true) ?? true
            let eos = try cfg?.bool("add_eos_token", default: false) ?? false
            parts.postProcessor = TemplatePostProcessor(prefix: bos ? parts.bosTokenId.map { [$0] } ?? [] : [],
                                                        suffix: eos ? parts.eosTokenId.map { [$0] } ?? [] : [])
        }
        parts.cleanUpSpaces = try cfg?.bool("clean_up_tokenization_spaces", default: false) ?? false
        self.init(parts: parts)
    }

    /// The model, normalizer and decoder shared by tokenizer.model files and GGUF "llama" vocabularies.
    static func sentencePieceParts(_ spec: SentencePieceSpec, restartAfterLiteral: Bool) throws(TokenizerError) -> TokenizerParts {
        let model: any TokenModel
        switch spec.modelType {
        case 2: model = try SentencePieceBPEModel(spec: spec)
        case 1: model = try SentencePieceUnigramModel(spec: spec)
        case 3: throw .unsupportedType(stage: "SentencePiece model", type: "WORD")
        case 4: throw .unsupportedType(stage: "SentencePiece model", type: "CHAR")
        default: throw .unsupportedType(stage: "SentencePiece model", type: "model_type \(spec.modelType)")
        }
        var parts = TokenizerParts(model: model)
        parts.preTokenizer = SentencePieceNormalizer(spec: spec)
        parts.pieceDecoder = SentencePieceDecoder(spec: spec, restartAfterLiteral: restartAfterLiteral)
        parts.extraSpecialIDs = Set(spec.pieces.indices.filter { spec.pieces[$0].type == .control || spec.pieces[$0].type == .unknown })
        return parts
    }
}
