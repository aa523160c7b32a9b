// Shared helpers for the Loading tests: fixture paths, a tiny safetensors writer, a seeded RNG.
import Foundation
@testable import KilnModels

/// Fixture files copied from the project's shared fixtures into Tests/Fixtures (see Tests/Fixtures/README.md §3, §6).
enum LoadingFixtures {
    /// Tests/Fixtures, found from this file's path so tests run from any working directory.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// `Tests/Fixtures/models/<family>/<file>`.
    static func model(_ family: String, _ file: String) -> URL {
        root.appendingPathComponent("models").appendingPathComponent(family).appendingPathComponent(file)
    }

    /// A fresh temporary directory for files a test builds.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-loading-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Writes safetensors images the way huggingface/safetensors does (header padded with spaces to 8 bytes).
enum LoadingSafeTensorsWriter {
    /// One tensor to write.
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    /// Little-endian bytes of Float32 values.
    static func f32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// The header JSON text for `entries` laid out back to back; `offsets` overrides data_offsets when given.
    static func header(_ entries: [Entry], metadata: [String: String]? = nil, offsets: [(Int, Int)]? = nil) -> String {
        var parts: [String] = []
        if let metadata {
            let items = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var position = 0
        for (i, e) in entries.enumerated() {
            let (begin, end) = offsets?[i] ?? (position, position + e.bytes.count)
            position += e.bytes.count
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(end)]}")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A complete file image: header length, padded header text, concatenated tensor bytes.
    static func image(headerText: String, data: [UInt8], headerLength: UInt64? = nil) -> Data {
        var text = Array(headerText.utf8)
        while text.count % 8 != 0 { text.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(text.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: text)
        out.append(contentsOf: data)
        return out
    }

    /// A well-formed image of `entries`.
    static func image(_ entries: [Entry], metadata: [String: String]? = nil) -> Data {
        image(headerText: header(entries, metadata: metadata), data: entries.flatMap(\.bytes))
    }
}

/// SplitMix64: a tiny deterministic generator so every fuzz run sees the same mutations.
struct LoadingRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
