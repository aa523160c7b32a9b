// SafeTensorsReader / SafeTensorsIndex against the fixture checkpoints and hand-built malformed files.
// Expected values: safetensors 0.8.0 + numpy 2.4.6, e.g.
//   python3 -c "from safetensors.numpy import load_file; a=load_file('models/gpt2/model.safetensors')['transformer.wte.weight']; print(a.reshape(-1)[:4])"
// (BF16 read by widening the raw uint16 to float32, which is exact). Tolerance: exact equality.
import Foundation
import Testing
@testable import KilnModels

@Suite("Loading: safetensors")
struct LoadingSafeTensorsTests {
    @Test("GPT-2 fixture loads and F32 values equal Python safetensors")
    func gpt2Values() throws {
        let reader = try SafeTensorsReader(url: LoadingFixtures.model("gpt2", "model.safetensors"))
        #expect(reader.tensorNames.count == 28)
        #expect(reader.metadata == ["format": "pt"])
        let wte = try #require(reader.info("transformer.wte.weight"))
        #expect(wte.dtype == .f32 && wte.shape == [1000, 64] && wte.byteRange.count == 256_000)
        let values = try reader.floats("transformer.wte.weight")
        #expect(values.count == 64_000)
        #expect(Array(values.prefix(4)) == [0.1087055429816246, -0.05345945432782173, 0.07298388332128525, -0.09350455552339554])
        #expect(values.last == 0.14732466638088226)
        let attn = try reader.floats("transformer.h.0.attn.c_attn.weight")
        #expect(reader.info("transformer.h.0.attn.c_attn.weight")?.shape == [64, 192])
        #expect(Array(attn.prefix(4)) == [0.11979378014802933, -0.22250789403915405, -0.1994173526763916, 0.3222901225090027])
        #expect(attn.last == 0.04262787103652954)
        let lnf = try reader.floats("transformer.ln_f.bias")
        #expect(Array(lnf.prefix(4)) == [-0.028436291962862015, 0.06525363773107529, 0.1487467885017395, 0.0448799692094326])
        #expect(lnf.last == -0.1533561497926712)
        #expect(throws: SafeTensorsError.tensorNotFound("lm_head.weight")) { try reader.floats("lm_head.weight") }
        #expect(throws: SafeTensorsError.unsupportedConversion(tensor: "transformer.ln_f.bias", dtype: .f32)) {
            try reader.int64s("transformer.ln_f.bias")
        }
    }

    @Test("llama-bf16 fixture widens BF16 exactly")
    func bf16Values() throws {
        let reader = try SafeTensorsReader(url: LoadingFixtures.model("llama-bf16", "model.safetensors"))
        #expect(reader.tensorNames.count == 21)
        #expect(reader.info("model.embed_tokens.weight")?.dtype == .bf16)
        let embed = try reader.floats("model.embed_tokens.weight")
        #expect(Array(embed.prefix(4)) == [0.40625, 0.1083984375, -0.22265625, -0.007171630859375])
        #expect(embed.last == -0.1416015625)
        let q = try reader.floats("model.layers.0.self_attn.q_proj.weight")
        #expect(Array(q.prefix(4)) == [0.0113525390625, 0.1396484375, 0.0211181640625, 0.150390625] && q.last == 0.048828125)
        let norm = try reader.floats("model.norm.weight")
        #expect(Array(norm.prefix(4)) == [0.875, 1.0859375, 1.015625, 1.078125] && norm.last == 0.91015625)
    }

    @Test("U8 tensors read through int64s (smollm2 raw GGUF blocks)")
    func integerTensors() throws {
        let reader = try SafeTensorsReader(url: LoadingFixtures.root.appendingPathComponent("smollm2/gguf_tensors.safetensors"))
        let raw = try reader.int64s("token_embd.weight.raw_row0_first2blocks_uint8")
        #expect(raw.count == 68)
        #expect(raw.allSatisfy { (0...255).contains($0) })
    }

    @Test("F16, F64 and signed integer dtypes convert")
    func otherDTypes() throws {
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00] // 1, -2, smallest subnormal
        let f64 = withUnsafeBytes(of: (0.5 as Double).bitPattern.littleEndian) { Array($0) }
        let i16: [UInt8] = [0xFF, 0xFF, 0x02, 0x00]
        let image = LoadingSafeTensorsWriter.image([
            .init(name: "h", dtype: "F16", shape: [3], bytes: f16),
            .init(name: "d", dtype: "F64", shape: [], bytes: f64),
            .init(name: "s", dtype: "I16", shape: [2], bytes: i16),
        ])
        let reader = try SafeTensorsReader(data: image)
        #expect(try reader.floats("h") == [1, -2, Float(5.9604645e-08)])
        #expect(try reader.floats("d") == [0.5])
        #expect(try reader.int64s("s") == [-1, 2])
        #expect(reader.tensorNames == ["h", "d", "s"])
    }

    // MARK: - Validation

    static let good = LoadingSafeTensorsWriter.Entry(name: "a", dtype: "F32", shape: [2], bytes: LoadingSafeTensorsWriter.f32Bytes([1, 2]))
    static let other = LoadingSafeTensorsWriter.Entry(name: "b", dtype: "F32", shape: [1], bytes: LoadingSafeTensorsWriter.f32Bytes([3]))

    static func read(_ header: String, data: [UInt8] = [UInt8](repeating: 0, count: 12)) throws(SafeTensorsError) -> SafeTensorsReader {
        try SafeTensorsReader(data: LoadingSafeTensorsWriter.image(headerText: header, data: data))
    }

    @Test("Malformed headers give the typed error naming the tensor")
    func typedErrors() throws {
        let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let b = #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}"#
        #expect(throws: Never.self) { try Self.read("{\(a),\(b)}") }
        #expect(throws: SafeTensorsError.fileTooSmall(size: 3)) { try SafeTensorsReader(data: Data([1, 2, 3])) }
        #expect(throws: SafeTensorsError.headerLengthOutOfBounds(length: 1 << 40, fileSize: 36)) {
            try SafeTensorsReader(data: LoadingSafeTensorsWriter.image(headerText: "{}", data: [UInt8](repeating: 0, count: 20), headerLength: 1 << 40))
        }
        #expect(throws: SafeTensorsError.headerNotObject) { try Self.read("[1]", data: []) }
        #expect(throws: SafeTensorsError.invalidHeaderJSON(.duplicateKey("a", offset: 54))) { try Self.read("{\(a),\(a)}") }
        #expect(throws: SafeTensorsError.unknownDType(tensor: "a", dtype: "F8")) {
            try Self.read(#"{"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}}"#)
        }
        #expect(throws: SafeTensorsError.invalidShape(tensor: "a")) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#)
        }
        #expect(throws: SafeTensorsError.elementCountOverflow(tensor: "a")) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#)
        }
        #expect(throws: SafeTensorsError.offsetsOutOfBounds(tensor: "a", begin: 0, end: 80, dataSize: 12)) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[20],"data_offsets":[0,80]}}"#)
        }
        #expect(throws: SafeTensorsError.sizeMismatch(tensor: "a", expectedBytes: 12, actualBytes: 8)) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)
        }
        #expect(throws: SafeTensorsError.overlappingRanges(tensor: "b", previous: "a", offset: 4)) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#)
        }
        #expect(throws: SafeTensorsError.uncoveredData(offset: 8)) { try Self.read("{\(a)}") }
        #expect(throws: Never.self) { try SafeTensorsReader(data: LoadingSafeTensorsWriter.image(headerText: "{\(a)}", data: [UInt8](repeating: 0, count: 12)), requireFullCoverage: false) }
        #expect(throws: SafeTensorsError.invalidMetadata(reason: "value of k is not a string")) {
            try Self.read(#"{"__metadata__":{"k":1}}"#, data: [])
        }
        #expect(throws: SafeTensorsError.invalidEntry(tensor: "a", reason: "data_offsets")) {
            try Self.read(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#)
        }
        let truncated = LoadingSafeTensorsWriter.image([Self.good, Self.other]).dropLast(3)
        #expect(throws: SafeTensorsError.offsetsOutOfBounds(tensor: "b", begin: 8, end: 12, dataSize: 9)) {
            try SafeTensorsReader(data: Data(truncated))
        }
        do {
            _ = try SafeTensorsReader(url: URL(fileURLWithPath: "/nonexistent/x.safetensors"))
            Issue.record("a missing file was accepted")
        } catch {
            guard case .unreadable(let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == "/nonexistent/x.safetensors")
        }
    }

    // MARK: - Sharded

    static func writeShards(_ directory: URL, index: String) throws {
        try LoadingSafeTensorsWriter.image([Self.good]).write(to: directory.appendingPathComponent("model-00001-of-00002.safetensors"))
        try LoadingSafeTensorsWriter.image([Self.other]).write(to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        try Data(index.utf8).write(to: directory.appendingPathComponent(SafeTensorsIndex.fileName))
    }

    @Test("Sharded index opens each shard once and resolves every tensor")
    func shardedIndex() throws {
        let dir = try LoadingFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeShards(dir, index: #"""
            {"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00002.safetensors",
             "b": "model-00002-of-00002.safetensors"}}
            """#)
        let index = try SafeTensorsIndex(directory: dir)
        #expect(index.shards.count == 2)
        #expect(index.tensorNames == ["a", "b"])
        #expect(try index.floats("a") == [1, 2])
        #expect(try index.floats("b") == [3])
        #expect(index.info("b")?.shape == [1])
        #expect(throws: SafeTensorsError.tensorNotFound("c")) { try index.floats("c") }
    }

    @Test("Sharded index refuses missing shards, missing tensors and bad maps")
    func shardedIndexErrors() throws {
        let dir = try LoadingFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeShards(dir, index: #"{"weight_map": {"a": "model-00001-of-00002.safetensors", "z": "missing.safetensors"}}"#)
        #expect(throws: SafeTensorsError.missingShard(tensor: "z", file: "missing.safetensors")) { try SafeTensorsIndex(directory: dir) }
        try Self.writeShards(dir, index: #"{"weight_map": {"b": "model-00001-of-00002.safetensors"}}"#)
        #expect(throws: SafeTensorsError.tensorMissingInShard(tensor: "b", file: "model-00001-of-00002.safetensors")) {
            try SafeTensorsIndex(directory: dir)
        }
        try Self.writeShards(dir, index: #"{"weight_map": {"a": "../etc/passwd"}}"#)
        #expect(throws: SafeTensorsError.invalidIndex(reason: "shard name ../etc/passwd for a")) { try SafeTensorsIndex(directory: dir) }
        try Self.writeShards(dir, index: #"{"metadata": {}}"#)
        #expect(throws: SafeTensorsError.invalidIndex(reason: "no weight_map object")) { try SafeTensorsIndex(directory: dir) }
        try Self.writeShards(dir, index: #"{"weight_map": {"a": "x", "a": "y"}}"#)
        #expect(throws: SafeTensorsError.invalidHeaderJSON(.duplicateKey("a", offset: 26))) { try SafeTensorsIndex(directory: dir) }
    }
}
