// RFC 8785 (JCS) serialisation and strict RFC 8259 parsing, against the RFC's own examples and `rfc8785`.
import Foundation
import KilnLedger
import Testing

@Suite("Canonical JSON (RFC 8785)")
struct CanonicalJSONTests {
    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialisations.
    static let appendixB: [(UInt64, String)] = [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
        (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
        (0x44b5_2d02_c7e1_4af6, "1e+23"),
        (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
        (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
        (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
        (0x444b_1ae4_d6e2_ef50, "1e+21"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
    ]

    @Test("Numbers serialise as RFC 8785 Appendix B says", arguments: appendixB)
    func appendixBNumbers(bits: UInt64, expected: String) {
        #expect(CanonicalJSON.number(Double(bitPattern: bits)).canonicalString == expected)
    }

    @Test("Numbers match rfc8785 0.1.4 for 378 random and edge doubles")
    func randomNumbersMatchPython() throws {
        var mismatches: [String] = []
        for (bits, expected) in JCSNumberVectors.cases {
            let value = Double(bitPattern: bits)
            let text = CanonicalJSON.number(value).canonicalString
            if text != expected { mismatches.append("\(String(bits, radix: 16)): \(text) != \(expected)") }
            // The text must also parse back to the same double (round trip).
            let reparsed = try CanonicalJSON.parse(Array(text.utf8))
            if reparsed != .number(value) && !(value == 0) { mismatches.append("\(text) does not round-trip") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(5))")
        #expect(JCSNumberVectors.cases.count == 378)
    }

    /// (input JSON text, rfc8785.dumps(json.loads(input)) as hex), from `reference/jcs_vectors.py strings`
    /// with rfc8785 0.1.4. The first two inputs are RFC 8785 §3.2.3 (sorting) and §3.2.2 (the example object).
    static let rfc8785Strings: [(String, String)] = [
        (#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#, "7b225c72223a2243617272696167652052657475726e222c2231223a224f6e65222c22c280223a22436f6e74726f6c222c22c3b6223a224c6174696e20536d616c6c204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f205369676e222c22f09f9880223a22456d6f6a693a204772696e6e696e672046616365222c22efacb3223a22486562726577204c65747465722044616c6574205769746820446167657368227d"),
        // {"\r":"Carriage Return","1":"One","":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","דּ":"Hebrew Letter Dalet With Dagesh"}
        (#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#, "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d"),
        // {"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}
        (#"{"\ufb33":1,"\ud83d\ude00":2,"\ue000":3,"\uffff":4,"\ud800\udc00":5,"a":6,"A":7,"":8,"aa":9,"\u00e9":10,"x":"e\u0301 \u00e9"}"#, "7b22223a382c2241223a372c2261223a362c226161223a392c2278223a2265cc8120c3a9222c22c3a9223a31302c22f0908080223a352c22f09f9880223a322c22ee8080223a332c22efacb3223a312c22efbfbf223a347d"),
        // {"":8,"A":7,"a":6,"aa":9,"x":"é é","é":10,"𐀀":5,"😀":2,"":3,"דּ":1,"￿":4}
        (#"{"s":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f\u2028\u2029\"\\\/"}"#, "7b2273223a225c75303030305c75303030315c75303030325c75303030335c75303030345c75303030355c75303030365c75303030375c625c745c6e5c75303030625c665c725c75303030655c75303030665c75303031305c75303031315c75303031325c75303031335c75303031345c75303031355c75303031365c75303031375c75303031385c75303031395c75303031615c75303031625c75303031635c75303031645c75303031655c75303031667fe280a8e280a95c225c5c2f227d"),
        // {"s":"\u0000…\u001f" with \b \t \n \f \r short forms, then DEL, U+2028, U+2029 raw, then \" \\ /}
        (#" [ {"b" : [ 1 , 2.0, -0.0, 1e2 ], "a": {"z": null, "y": "ü"}} , [], {} , "x" ] "#, "5b7b2261223a7b2279223a22c3bc222c227a223a6e756c6c7d2c2262223a5b312c322c302c3130305d7d2c5b5d2c7b7d2c2278225d"),
        // [{"a":{"y":"ü","z":null},"b":[1,2,0,100]},[],{},"x"]
        (#"[0,-1,9007199254740991,-9007199254740991,1e21,1e-7,123e-2,1E+2,0.5e1]"#, "5b302c2d312c393030373139393235343734303939312c2d393030373139393235343734303939312c31652b32312c31652d372c312e32332c3130302c355d"),
        // [0,-1,9007199254740991,-9007199254740991,1e+21,1e-7,1.23,100,5]
    ]

    @Test("Parsing then serialising matches rfc8785 0.1.4 (RFC 8785 §3.2.2 and §3.2.3 examples, UTF-16 key order, controls)",
          arguments: rfc8785Strings)
    func stringsAndSortingMatchPython(input: String, expectedHex: String) throws {
        let value = try CanonicalJSON.parse(Array(input.utf8))
        #expect(Hex.encode(value.canonicalBytes) == expectedHex)
        // Canonical output is a fixed point: parsing and re-serialising it changes nothing.
        #expect(try CanonicalJSON.parse(value.canonicalBytes).canonicalBytes == value.canonicalBytes)
    }

    @Test("RFC 8785 §3.2.3 sorting example gives the RFC's member order")
    func rfcSortingOrder() throws {
        let value = try CanonicalJSON.parse(Array(Self.rfc8785Strings[0].0.utf8))
        // The RFC lists the sorted names as \r, 1, U+0080, U+00F6, U+20AC, U+1F600, U+FB33.
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\","
            + "\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"דּ\":\"Hebrew Letter Dalet With Dagesh\"}"
        #expect(value.canonicalString == expected)
    }

    @Test("Non-finite numbers: canonicalEncoding throws, canonicalBytes writes null like JSON.stringify")
    func nonFinite() {
        let value: CanonicalJSON = ["a": .number(.nan), "b": .number(.infinity)]
        #expect(throws: LedgerError.nonFiniteNumber) { try value.canonicalEncoding() }
        #expect(value.canonicalString == #"{"a":null,"b":null}"#)
        #expect(!value.isFinite)
        #expect(throws: LedgerError.numberOutOfRange(offset: 0)) { try CanonicalJSON.parse(Array("1e400".utf8)) }
        #expect(throws: LedgerError.numberOutOfRange(offset: 1)) { try CanonicalJSON.parse(Array("[-1e309]".utf8)) }
    }

    @Test("Literals, dictionary init and accessors")
    func literalsAndAccessors() {
        let value: CanonicalJSON = ["s": "x", "i": 42, "f": 1.5, "b": true, "n": nil, "a": [1, "two"]]
        #expect(value["s"]?.stringValue == "x")
        #expect(value["i"]?.intValue == 42)
        #expect(value["f"]?.intValue == nil)
        #expect(value["f"]?.doubleValue == 1.5)
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"]?.isNull == true)
        #expect(value["a"]?[1]?.stringValue == "two")
        #expect(value["missing"] == nil)
        #expect(CanonicalJSON(["k": 1]) == .object(["k": .number(1)]))
        #expect(CanonicalJSON.number(9_007_199_254_740_992).intValue == nil)
        #expect(CanonicalJSON.number(-9_007_199_254_740_991).intValue == -9_007_199_254_740_991)
        #expect(value.canonicalString == #"{"a":[1,"two"],"b":true,"f":1.5,"i":42,"n":null,"s":"x"}"#)
    }

    @Test("Codable round trip through JSONEncoder keeps integers integral")
    func codable() throws {
        let value: CanonicalJSON = ["n": 3, "x": 0.25, "list": [true, nil, "é"]]
        let data = try JSONEncoder().encode(value)
        #expect(!String(decoding: data, as: UTF8.self).contains("3.0"))
        #expect(try JSONDecoder().decode(CanonicalJSON.self, from: data) == value)
    }

    /// Inputs a strict RFC 8259 / I-JSON parser must refuse, with the error expected.
    static let rejected: [(String, [UInt8], LedgerError)] = [
        ("empty input", [], .invalidJSON(offset: 0, reason: "unexpected end of input")),
        ("leading zero", Array("01".utf8), .invalidJSON(offset: 0, reason: "a number has a leading zero")),
        ("negative leading zero", Array("[-012]".utf8), .invalidJSON(offset: 1, reason: "a number has a leading zero")),
        ("trailing garbage", Array("{} x".utf8), .invalidJSON(offset: 3, reason: "unexpected data after the JSON value")),
        ("two values", Array("1 2".utf8), .invalidJSON(offset: 2, reason: "unexpected data after the JSON value")),
        ("duplicate key", Array(#"{"a":1,"a":2}"#.utf8), .duplicateKey("a", offset: 7)),
        ("canonically equivalent keys", Array("{\"\u{E9}\":1,\"e\u{301}\":2}".utf8), .duplicateKey("e\u{301}", offset: 8)),
        ("lone high surrogate", Array(#"["\ud800"]"#.utf8), .loneSurrogate(offset: 2)),
        ("lone low surrogate", Array(#"["\udc00x"]"#.utf8), .loneSurrogate(offset: 2)),
        ("high surrogate then non-low", Array(#""\ud800\u0041""#.utf8), .loneSurrogate(offset: 1)),
        ("invalid UTF-8 byte", [0x22, 0xFF, 0x22], .invalidUTF8(offset: 1)),
        ("overlong UTF-8", [0x22, 0xC0, 0xAF, 0x22], .invalidUTF8(offset: 1)),
        ("UTF-8 encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8(offset: 1)),
        ("truncated UTF-8", [0x22, 0xE2, 0x82], .invalidUTF8(offset: 1)),
        ("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8(offset: 1)),
        ("byte-order mark", [0xEF, 0xBB, 0xBF, 0x31], .invalidJSON(offset: 0, reason: "a non-ASCII byte outside a string")),
        ("raw control in string", [0x22, 0x0A, 0x22], .invalidJSON(offset: 1, reason: "an unescaped control character in a string")),
        ("bad escape", Array(#""\x""#.utf8), .invalidJSON(offset: 1, reason: "an invalid escape sequence")),
        ("trailing comma", Array("[1,]".utf8), .invalidJSON(offset: 3, reason: "unexpected character")),
        ("single quotes", Array("{'a':1}".utf8), .invalidJSON(offset: 1, reason: "expected a member name string")),
        ("bare dot", Array("1.".utf8), .invalidJSON(offset: 2, reason: "expected a digit after '.'")),
        ("plus sign", Array("+1".utf8), .invalidJSON(offset: 0, reason: "unexpected character")),
        ("NaN literal", Array("NaN".utf8), .invalidJSON(offset: 0, reason: "unexpected character")),
        ("truncated literal", Array("tru".utf8), .invalidJSON(offset: 0, reason: "invalid literal")),
        ("vertical tab whitespace", Array("\u{0B}1".utf8), .invalidJSON(offset: 0, reason: "unexpected character")),
    ]

    @Test("Strict parser rejects malformed input with a located error", arguments: rejected)
    func rejects(name: String, bytes: [UInt8], expected: LedgerError) {
        #expect(throws: expected, "\(name)") { try CanonicalJSON.parse(bytes) }
    }

    @Test("Nesting: 128 levels parse, 129 are refused, 100 000 never overflow the stack")
    func nesting() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(throws: Never.self) { try CanonicalJSON.parse(Array(ok.utf8)) }
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: LedgerError.nestingTooDeep(limit: 128, offset: 128)) { try CanonicalJSON.parse(Array(deep.utf8)) }
        let objects = String(repeating: #"{"a":"#, count: 129) + "1" + String(repeating: "}", count: 129)
        #expect(throws: LedgerError.nestingTooDeep(limit: 128, offset: 640)) { try CanonicalJSON.parse(Array(objects.utf8)) }
        #expect(throws: LedgerError.self) { try CanonicalJSON.parse(Array(String(repeating: "[", count: 100_000).utf8)) }
    }

    @Test("Valid surrogate pairs, escaped solidus and U+0000 decode to the right scalars")
    func escapes() throws {
        let value = try CanonicalJSON.parse(Array(#"["\ud83d\ude00","\/","\u0000","\u00E9"]"#.utf8))
        #expect(value == ["😀", "/", "\u{0}", "é"])
        #expect(value.canonicalString == "[\"😀\",\"/\",\"\\u0000\",\"é\"]")
    }
}
