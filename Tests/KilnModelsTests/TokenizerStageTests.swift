// Stage-by-stage checks against the expected outputs of upstream tokenizers' own unit tests
// (huggingface/tokenizers `normalizer.rs`, `pre_tokenizers/*.rs`, `decoders/*.rs`), for the options
// the fixture files do not exercise.

import Foundation
import Testing
@testable import KilnModels

/// Parses a JSON literal into the loader's node type.
private func node(_ json: String) throws -> JSONNode { try JSONNode.parse(Data(json.utf8)) }

/// Pre-tokenizes `text` as one segment at offset 0.
private func pre(_ json: String, _ text: String) throws -> [String] {
    try makePreTokenizer(node(json)).preTokenize([PreToken(text: text, atStart: true)]).map(\.text)
}

@Suite("Tokenizer stages")
struct TokenizerStageTests {
    @Test("Split delimiter behaviours", arguments: [
        ("Removed", ["the", "final", "countdown"]),
        ("Isolated", ["the", "-", "final", "-", "-", "countdown"]),
        ("MergedWithPrevious", ["the-", "final-", "-", "countdown"]),
        ("MergedWithNext", ["the", "-final", "-", "-countdown"]),
        ("Contiguous", ["the", "-", "final", "--", "countdown"]),
    ])
    func splitBehaviours(behavior: String, expected: [String]) throws {
        #expect(try pre(#"{"type":"Split","pattern":{"String":"-"},"behavior":"\#(behavior)","invert":false}"#, "the-final--countdown") == expected)
        #expect(try pre(#"{"type":"Split","pattern":{"Regex":"-"},"behavior":"\#(behavior)","invert":false}"#, "the-final--countdown") == expected)
    }

    @Test("Split with invert keeps the matches")
    func splitInvert() throws {
        #expect(try pre(#"{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Removed","invert":true}"#, "Hey, you!") == ["Hey", "you"])
    }

    @Test("Character-class pre-tokenizers")
    func characterClasses() throws {
        let text = "Hey friend!     How are you?!?"
        #expect(try pre(#"{"type":"BertPreTokenizer"}"#, text) == ["Hey", "friend", "!", "How", "are", "you", "?", "!", "?"])
        #expect(try pre(#"{"type":"Punctuation"}"#, text) == ["Hey friend", "!", "     How are you", "?", "!", "?"])
        #expect(try pre(#"{"type":"Whitespace"}"#, "How are you doing?") == ["How", "are", "you", "doing", "?"])
        #expect(try pre(#"{"type":"WhitespaceSplit"}"#, "Hey man!") == ["Hey", "man!"])
        #expect(try pre(#"{"type":"Digits","individual_digits":true}"#, "Hey 123 friend!") == ["Hey ", "1", "2", "3", " friend!"])
        #expect(try pre(#"{"type":"Digits","individual_digits":false}"#, "Hey 123 friend!") == ["Hey ", "123", " friend!"])
    }

    @Test("Metaspace prepend schemes and split")
    func metaspace() throws {
        #expect(try pre(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"#, "Hey friend!") == ["▁Hey", "▁friend!"])
        #expect(try pre(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false}"#, "Hey friend!") == ["▁Hey▁friend!"])
        #expect(try pre(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}"#, "Hey friend!") == ["Hey", "▁friend!"])
        let first = try makePreTokenizer(node(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}"#))
        #expect(first.preTokenize([PreToken(text: "x y", atStart: false)]).map(\.text) == ["x▁y"])
        #expect(first.preTokenize([PreToken(text: "x y", atStart: true)]).map(\.text) == ["▁x▁y"])
    }

    @Test("ByteLevel with and without its regex")
    func byteLevel() throws {
        #expect(try pre(#"{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"#, "Hello my friend, how is your day going?")
            == ["Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?"])
        #expect(try pre(#"{"type":"ByteLevel","add_prefix_space":true,"use_regex":false}"#, "Hi you\n") == ["ĠHiĠyouĊ"])
    }

    @Test("Normalizers")
    func normalizers() throws {
        func norm(_ json: String, _ text: String) throws -> String { try makeNormalizer(node(json)).normalize(text) }
        #expect(try norm(#"{"type":"NFKC"}"#, "ﬁ") == "fi")
        #expect(try norm(#"{"type":"NFD"}"#, "é").unicodeScalars.count == 2)
        #expect(try norm(#"{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"},{"type":"Lowercase"}]}"#, "ÉcOle") == "ecole")
        #expect(try norm(#"{"type":"Strip","strip_left":true,"strip_right":true}"#, "  hi  ") == "hi")
        #expect(try norm(#"{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "}"#, "a \t\n b") == "a b")
        #expect(try norm(#"{"type":"Prepend","prepend":"▁"}"#, "x") == "▁x")
        #expect(try norm(#"{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}"#,
                         "Héllo\tWORLD 中\u{0}") == "hello world  中 ")
    }

    @Test("Decoders")
    func decoders() throws {
        func dec(_ json: String, _ tokens: [String]) throws -> [String] { try makeDecoder(node(json)).decodeChain(tokens) }
        #expect(try dec(###"{"type":"WordPiece","prefix":"##","cleanup":true}"###, ["##uelo", "Ara", "##új", "##o", "No", "##guera"]).joined()
            == "##uelo Araújo Noguera")
        #expect(try dec(#"{"type":"Strip","content":"H","start":1,"stop":0}"#, ["Hey", " friend!", "HHH"]) == ["ey", " friend!", "HH"])
        #expect(try dec(#"{"type":"ByteFallback"}"#, ["<0xE5>", "<0x8f>", "<0xab>"]) == ["叫"])
        #expect(try dec(#"{"type":"ByteFallback"}"#, ["<0xE5>", "<0x8f>", "a"]) == ["\u{FFFD}", "\u{FFFD}", "a"])
        #expect(try dec(#"{"type":"Fuse"}"#, ["Hey", " friend!"]) == ["Hey friend!"])
        #expect(try dec(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"#, ["▁Hey", "▁friend!"]) == ["Hey", " friend!"])
        #expect(try dec(#"{"type":"ByteLevel"}"#, ["Hello", "Ġworld", "Ċ"]) == ["Hello world\n"])
    }

    /// A tiny tokenizer.json around a model object.
    private func tiny(_ model: String, extra: String = "") throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: Data(#"{"model":\#(model)\#(extra)}"#.utf8), config: nil)
    }

    @Test("BPE options: merge forms, prefix/suffix, byte fallback, ignore_merges, unk")
    func bpeOptions() throws {
        let vocab = #""a":0,"b":1,"c":2,"ab":3,"abc":4,"<unk>":5"#
        let stringForm = try tiny(#"{"type":"BPE","vocab":{\#(vocab)},"merges":["a b","ab c"],"unk_token":"<unk>"}"#)
        let pairForm = try tiny(#"{"type":"BPE","vocab":{\#(vocab)},"merges":[["a","b"],["ab","c"]],"unk_token":"<unk>"}"#)
        #expect(stringForm.encode("abcab", addSpecialTokens: false) == [4, 3])
        #expect(pairForm.encode("abcab", addSpecialTokens: false) == [4, 3])
        #expect(stringForm.encode("azzb", addSpecialTokens: false) == [0, 5, 5, 1])
        let fused = try tiny(#"{"type":"BPE","vocab":{\#(vocab)},"merges":[],"unk_token":"<unk>","fuse_unk":true}"#)
        #expect(fused.encode("azzb", addSpecialTokens: false) == [0, 5, 1])
        let prefixed = try tiny(###"{"type":"BPE","vocab":{"a":0,"##b":1,"ab":2},"merges":["a ##b"],"continuing_subword_prefix":"##"}"###)
        #expect(prefixed.encode("ab", addSpecialTokens: false) == [2])
        let suffixed = try tiny(#"{"type":"BPE","vocab":{"a":0,"b</w>":1,"ab</w>":2},"merges":["a b</w>"],"end_of_word_suffix":"</w>"}"#)
        #expect(suffixed.encode("ab", addSpecialTokens: false) == [2])
        let fallback = try tiny(#"{"type":"BPE","vocab":{"a":0,"<0xC3>":1,"<0xA9>":2},"merges":[],"byte_fallback":true}"#)
        #expect(fallback.encode("aé", addSpecialTokens: false) == [0, 1, 2])
        // ignore_merges: a word in the vocabulary is emitted whole even when merges would not reach it.
        let whole = try tiny(#"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[],"ignore_merges":true}"#)
        #expect(whole.encode("ab", addSpecialTokens: false) == [2])
    }

    @Test("WordPiece max_input_chars_per_word and BERT post-processing")
    func wordPiece() throws {
        let tok = try tiny(###"{"type":"WordPiece","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"un":3,"##aff":4,"##able":5},"unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":10}"###,
                           extra: #","pre_tokenizer":{"type":"WhitespaceSplit"},"post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]},"decoder":{"type":"WordPiece"}"#)
        #expect(tok.encode("unaffable unaffableun", addSpecialTokens: true) == [1, 3, 4, 5, 0, 2])
        #expect(tok.decode([3, 4, 5], skipSpecialTokens: false) == "unaffable")
    }

    @Test("Added tokens: longest first, lstrip/rstrip, single_word, normalized")
    func addedTokens() throws {
        let model = #"{"type":"BPE","vocab":{"a":0,"b":1," ":2,"x":3},"merges":[]}"#
        let added = #","added_tokens":[{"id":10,"content":"<m>","special":true,"lstrip":true,"rstrip":false,"single_word":false,"normalized":false},{"id":11,"content":"<m>>","special":true,"lstrip":false,"rstrip":true,"single_word":false,"normalized":false},{"id":12,"content":"ab","special":false,"lstrip":false,"rstrip":false,"single_word":true,"normalized":true},{"id":13,"content":"x","special":false,"lstrip":false,"rstrip":false,"single_word":false,"normalized":true}],"normalizer":{"type":"Lowercase"}"#
        let tok = try tiny(model, extra: added)
        #expect(tok.encode("a <m>b", addSpecialTokens: false) == [0, 10, 1])
        #expect(tok.encode("a<m>> b", addSpecialTokens: false) == [0, 11, 1])
        #expect(tok.encode("ab aab", addSpecialTokens: false) == [12, 2, 0, 0, 1])
        #expect(tok.encode("X", addSpecialTokens: false) == [13])
        #expect(tok.decode([0, 10, 1], skipSpecialTokens: true) == "a b")
    }

    @Test("clean_up_tokenization_spaces from the config")
    func cleanUpSpaces() throws {
        let json = Data(#"{"model":{"type":"BPE","vocab":{"a":0," .":1},"merges":[]},"added_tokens":[{"id":1,"content":" .","special":false,"normalized":false}]}"#.utf8)
        let plain = try Tokenizer(tokenizerJSON: json, config: nil)
        let cleaned = try Tokenizer(tokenizerJSON: json, config: Data(#"{"clean_up_tokenization_spaces":true}"#.utf8))
        #expect(plain.decode([0, 1], skipSpecialTokens: false) == "a  .")
        #expect(cleaned.decode([0, 1], skipSpecialTokens: false) == "a .")
    }
}
