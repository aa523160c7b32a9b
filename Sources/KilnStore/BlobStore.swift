// Content-addressed files: each blob lives once, named by the SHA-256 of its bytes.
import Crypto
import Foundation
import KilnLedger

/// A folder of immutable blobs keyed by SHA-256, written atomically (temporary file, fsync, rename).
///
/// Layout: `ROOT/ab/cdef…` (the first two hex digits fan out the folder), `ROOT/tmp/` for writes
/// in flight. A crash mid-write leaves only a stray file in `tmp/`, which `init` removes.
public struct BlobStore: Sendable {
    /// The folder holding the blobs.
    public let root: URL

    /// Opens (creating if needed) a blob folder and clears writes a crash left behind.
    public init(root: URL) throws {
        self.root = root
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        for stray in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path)) ?? [] {
            try? fm.removeItem(at: root.appendingPathComponent("tmp").appendingPathComponent(stray))
        }
    }

    /// The lowercase hex SHA-256 of `bytes`.
    public static func hash(_ bytes: some DataProtocol) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }

    /// Stores `bytes` and returns their hash; storing the same bytes again is a no-op.
    @discardableResult
    public func put(_ bytes: Data) throws -> String {
        let sha = Self.hash(bytes)
        let target = try url(for: sha)
        // Touching a blob that exists keeps the collector (`sweep`) from taking it while the row naming it is being written.
        if utimes(target.path, nil) == 0 { return sha }
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: bytes)
            // fsync before rename: the rename must never expose a name whose bytes are not on disk.
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        if rename(temporary.path, target.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
        return sha
    }

    /// The bytes stored under `sha256`, checked against their name.
    public func get(_ sha256: String) throws -> Data {
        let target = try url(for: sha256)
        guard let data = FileManager.default.contents(atPath: target.path) else {
            throw StoreError.missingBlob(sha256: sha256)
        }
        guard Self.hash(data) == sha256 else { throw StoreError.corruptBlob(sha256: sha256) }
        return data
    }

    /// Whether a blob is stored.
    public func contains(_ sha256: String) -> Bool {
        guard let target = try? url(for: sha256) else { return false }
        return FileManager.default.fileExists(atPath: target.path)
    }

    /// Where a blob lives; rejects keys that are not SHA-256 hex so no key can escape the folder.
    public func url(for sha256: String) throws -> URL {
        guard sha256.count == 64, sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw StoreError.badBlobKey(sha256)
        }
        return root.appendingPathComponent(String(sha256.prefix(2))).appendingPathComponent(String(sha256.dropFirst(2)))
    }

    /// What a sweep removed.
    public struct Sweep: Sendable, Equatable {
        /// Blobs deleted.
        public var blobs: Int
        /// Their bytes.
        public var bytes: Int

        /// A count of deleted blobs and bytes.
        public init(blobs: Int, bytes: Int) {
            self.blobs = blobs
            self.bytes = bytes
        }
    }

    /// Deletes every blob not in `keep` that was last written before `cutoff`.
    ///
    /// The cutoff protects blobs whose rows are still being committed: `put` writes or touches a blob before its
    /// row's transaction, so a blob younger than any transaction can be is never taken.
    public func sweep(keeping keep: Set<String>, writtenBefore cutoff: Date) throws -> Sweep {
        let fm = FileManager.default
        var swept = Sweep(blobs: 0, bytes: 0)
        for fan in try fm.contentsOfDirectory(atPath: root.path) where fan.count == 2 {
            let folder = root.appendingPathComponent(fan)
            for rest in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] {
                let sha = fan + rest
                guard !keep.contains(sha), let url = try? url(for: sha),
                      let attributes = try? fm.attributesOfItem(atPath: url.path),
                      let modified = attributes[.modificationDate] as? Date, modified < cutoff else { continue }
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                if (try? fm.removeItem(at: url)) != nil {
                    swept.blobs += 1
                    swept.bytes += size
                }
            }
        }
        return swept
    }
}
