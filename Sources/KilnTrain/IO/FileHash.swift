// SHA-256 of the files a run depends on, streamed so a multi-gigabyte base is never read whole into memory.
import Crypto
import Foundation

/// Content hashes for run specs and ledger entries.
public enum FileHash {
    /// Lowercase hex SHA-256 of a file's bytes.
    /// - Throws: the read error.
    public static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    /// Lowercase hex SHA-256 of bytes.
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// The hash of a base model: a `.gguf` file's own SHA-256; for a folder, the SHA-256 of the lines
    /// `<file> <sha256>\n` over config.json and the weight files (model*.safetensors and the shard index), sorted by name:
    /// the files that decide its outputs.
    /// - Throws: the read error.
    public static func baseModel(_ url: URL) throws -> String {
        if url.pathExtension.lowercased() == "gguf" { return try sha256(of: url) }
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { $0 == "config.json" || $0.hasPrefix("model") && ($0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json")) }
            .sorted()
        var listing = ""
        for name in names { listing += "\(name) \(try sha256(of: url.appendingPathComponent(name)))\n" }
        return sha256(Data(listing.utf8))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
