// Fuzz tests (issue 5, acceptance 4): seeded mutations of valid safetensors, GGUF and config.json inputs
// never crash, and every failure is the loader's typed error (typed throws make any other error a
// compile error; an accepted mutant must then also read all of its tensors without trapping).
import Foundation
import Testing
@testable import KilnModels

@Suite("Loading: fuzz")
struct LoadingFuzzTests {
    static let dtypes = ["F32", "BF16", "F16", "I64", "U8", "BOOL", "F8_E4M3", "Q4", "", "f32"]

    static func safeTensorsEntries() -> [LoadingSafeTensorsWriter.Entry] {
        [
            .init(name: "w", dtype: "F32", shape: [2, 2], bytes: LoadingSafeTensorsWriter.f32Bytes([1, 2, 3, 4])),
            .init(name: "b", dtype: "BF16", shape: [3], bytes: [0x80, 0x3F, 0x00, 0x40, 0x40, 0xC0]),
            .init(name: "i", dtype: "I64", shape: [2], bytes: [UInt8](repeating: 7, count: 16)),
        ]
    }

    static func safeTensorsBase() -> Data {
        LoadingSafeTensorsWriter.image(safeTensorsEntries(), metadata: ["format": "pt"])
    }

    /// A header from random parts: unknown dtypes, negative/huge shapes, overlapping or wild offsets, repeated names.
    static func randomHeader(_ rng: inout LoadingRNG) -> Data {
        var parts: [String] = []
        let names = ["w", "b", "i", "x"]
        for index in 0..<Int.random(in: 0...4, using: &rng) {
            // Mostly distinct names (so range checks run), sometimes a repeat (duplicate-key check).
            let name = Int.random(in: 0..<4, using: &rng) > 0 ? names[index] : names.randomElement(using: &rng) ?? "w"
            let dtype = dtypes.randomElement(using: &rng) ?? "F32"
            let shape = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                [0, 1, 2, 3, -1, 1 << 31, Int(Int64.max)].randomElement(using: &rng) ?? 1
            }
            let begin = [0, 4, 8, 16, -4, 1 << 40].randomElement(using: &rng) ?? 0
            var end = begin + ([0, 4, 8, 12, -8].randomElement(using: &rng) ?? 0)
            if shape.allSatisfy({ (0...3).contains($0) }), Int.random(in: 0..<4, using: &rng) > 0 {
                // Mostly consistent sizes, so the overlap and coverage checks are reached too.
                end = begin + shape.reduce(1, *) * (DType(rawValue: dtype)?.size ?? 4)
            }
            parts.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}")
        }
        if Bool.random(using: &rng) { parts.append(#""__metadata__":{"a":"b"}"#) }
        let data = (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return LoadingSafeTensorsWriter.image(headerText: "{" + parts.joined(separator: ",") + "}", data: data)
    }

    static func mutate(_ base: Data, headerEnd: Int, _ rng: inout LoadingRNG) -> Data {
        var bytes = Array(base)
        switch Int.random(in: 0...6, using: &rng) {
        case 6:
            // Offset lies on the valid tensors: right sizes, shuffled starts (overlaps, gaps, out of bounds).
            let entries = safeTensorsEntries()
            let offsets = entries.map { e -> (Int, Int) in
                let begin = [0, 4, 8, 12, 16, 22, 24, 32].randomElement(using: &rng) ?? 0
                return (begin, begin + e.bytes.count)
            }
            return LoadingSafeTensorsWriter.image(
                headerText: LoadingSafeTensorsWriter.header(entries, offsets: offsets), data: entries.flatMap(\.bytes))
        case 0:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1:
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 2:
            bytes[Int.random(in: 0..<min(headerEnd, bytes.count), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        case 3:
            let lie: UInt64 = [UInt64.max, 0, 1, UInt64(bytes.count), UInt64(bytes.count - 9), UInt64.random(in: 0...1 << 20, using: &rng)]
                .randomElement(using: &rng) ?? 0
            bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: lie.littleEndian) { Array($0) })
        case 4:
            let at = Int.random(in: 8..<min(headerEnd, bytes.count), using: &rng)
            if Bool.random(using: &rng) { bytes.remove(at: at) } else { bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at) }
        default:
            return randomHeader(&rng)
        }
        return Data(bytes)
    }

    /// The error's case name, e.g. "overlappingRanges".
    static func kind(_ error: some Error) -> String {
        String(String(describing: error).prefix { $0 != "(" })
    }

    @Test("4000 safetensors mutations never crash and throw SafeTensorsError")
    func safeTensorsFuzz() {
        let base = Self.safeTensorsBase()
        let headerEnd = 8 + Int(base.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var rng = LoadingRNG(seed: 5)
        var accepted = 0, rejected = 0
        var kinds = Set<String>()
        for _ in 0..<4000 {
            let input = Self.mutate(base, headerEnd: headerEnd, &rng)
            do {
                let reader = try SafeTensorsReader(data: input, requireFullCoverage: Bool.random(using: &rng))
                for name in reader.tensorNames {
                    let info = try #require(reader.info(name))
                    if info.dtype.isFloat {
                        #expect(try reader.floats(name).count == info.elementCount)
                    } else {
                        #expect(try reader.int64s(name).count == info.elementCount)
                    }
                }
                accepted += 1
            } catch {
                rejected += 1
                kinds.insert(Self.kind(error))
            }
        }
        #expect(accepted + rejected == 4000)
        #expect(rejected > 2000 && accepted > 0, "accepted \(accepted), rejected \(rejected)")
        // The mutations reach every header check, not just the JSON parser.
        #expect(kinds.isSuperset(of: ["headerLengthOutOfBounds", "invalidHeaderJSON", "unknownDType", "invalidShape", "elementCountOverflow",
                                      "offsetsOutOfBounds", "sizeMismatch", "overlappingRanges", "uncoveredData", "fileTooSmall"]), "\(kinds)")
    }

    @Test("4000 GGUF mutations never crash and throw GGUFError")
    func ggufFuzz() {
        let base = Array(LoadingGGUFWriter.sample().build())
        let dataStart = (try? GGUFReader(data: Data(base)).dataStart) ?? base.count
        var rng = LoadingRNG(seed: 3)
        var accepted = 0, rejected = 0
        var kinds = Set<String>()
        for _ in 0..<4000 {
            var bytes = base
            switch Int.random(in: 0...4, using: &rng) {
            case 0:
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 1:
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<dataStart, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 2:
                // Overwrite a random 8-byte window in the header with an extreme count/length/offset.
                let at = Int.random(in: 4..<(dataStart - 8), using: &rng)
                let value: UInt64 = [0, 1, 3, 5, 31, 0xFFFF_FFFF, .max, 1 << 62, UInt64.random(in: 0...1000, using: &rng)]
                    .randomElement(using: &rng) ?? 0
                bytes.replaceSubrange(at..<(at + 8), with: withUnsafeBytes(of: value.littleEndian) { Array($0) })
            case 3:
                let at = Int.random(in: 0..<dataStart, using: &rng)
                if Bool.random(using: &rng) { bytes.remove(at: at) } else { bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at) }
            default:
                let at = Int.random(in: 0..<dataStart, using: &rng)
                bytes.replaceSubrange(at..<(at + 4), with: withUnsafeBytes(of: UInt32.random(in: 0...40, using: &rng).littleEndian) { Array($0) })
            }
            do {
                let reader = try GGUFReader(data: Data(bytes))
                for info in reader.tensorInfos {
                    #expect(try reader.dequantize(info.name).count == info.elementCount)
                }
                _ = try reader.strings("tokenizer.ggml.tokens")
                accepted += 1
            } catch {
                rejected += 1
                kinds.insert(Self.kind(error))
            }
        }
        #expect(accepted + rejected == 4000)
        #expect(rejected > 1000 && accepted > 0, "accepted \(accepted), rejected \(rejected)")
        #expect(kinds.isSuperset(of: ["badMagic", "unsupportedVersion", "truncated", "countTooLarge", "invalidString", "unknownValueType",
                                      "tooManyDimensions", "unsupportedTensorType", "misalignedOffset", "tensorOutOfBounds"]), "\(kinds)")
    }

    @Test("2000 config.json mutations never crash and throw ConfigError")
    func configFuzz() throws {
        var rng = LoadingRNG(seed: 9)
        let sources = try ["llama", "deepseek_v3", "chatglm", "gpt2"].map { try Array(Data(contentsOf: LoadingFixtures.model($0, "config.json"))) }
        var rejected = 0
        for i in 0..<2000 {
            var bytes = sources[i % sources.count]
            switch Int.random(in: 0...2, using: &rng) {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = Array("-0123456789\"{}[],:ntf.e".utf8).randomElement(using: &rng) ?? 0
            default: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
            }
            do { _ = try ModelConfiguration.decode(Data(bytes)) } catch { rejected += 1 }
        }
        #expect(rejected > 500)
    }

    @Test("StrictJSON refuses what RFC 8259 refuses")
    func strictJSON() throws {
        for bad in ["", "{", "{\"a\":1,}", "[1 2]", "01", "1.", "\"\\x\"", "\"a", "{\"a\":1,\"a\":2}", "nul", "1 2", "\"\u{01}\"", "\"\\ud800\""] {
            #expect(throws: StrictJSONError.self, "\(bad)") { try StrictJSON.parse(Data(bad.utf8)) }
        }
        #expect(try StrictJSON.parse(Data(#" {"a":[1,-2.5e1,true,null,"\u00e9\ud83d\ude00"]} "#.utf8))
                == .object(["a": .array([.int(1), .double(-25), .bool(true), .null, .string("é😀")])]))
        #expect(throws: StrictJSONError.tooDeep(offset: 64)) { try StrictJSON.parse(Data(String(repeating: "[", count: 100).utf8)) }
    }
}
