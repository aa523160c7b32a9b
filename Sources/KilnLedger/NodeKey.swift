// The node's signing key on disk: created once with mode 0600, then only ever loaded.
//
// File format: exactly 32 raw bytes, the Ed25519 private key (the RFC 8032 §5.1.5 seed), nothing else:
// no header, no newline, no hex. A file of any other size is refused, not "repaired".
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Loading and creating the node's Ed25519 key file (32 raw seed bytes, mode 0600).
public enum NodeKey {
    /// The conventional file name inside a data folder.
    public static let fileName = "ledger-key.ed25519"

    /// Loads the key at `url`, or creates a new random one there if no file exists.
    ///
    /// Call this only while the ledger is still empty (first start). Once any entry is signed, use
    /// `load(at:)`, so that a lost key is reported instead of silently replaced by a new one that
    /// could never verify the existing chain. Creation uses O_CREAT|O_EXCL, so two processes starting at
    /// once never overwrite each other's key: the loser loads the winner's file.
    /// - Throws: `LedgerError` key-file cases from `load(at:)`, or `.keyFileCreateFailed`.
    public static func loadOrCreate(at url: URL) throws(LedgerError) -> Ed25519Signer {
        do {
            return try load(at: url)
        } catch .keyFileMissing {
            return try create(at: url)
        }
    }

    /// Loads the key at `url`, refusing a missing, unreadable, wrong-sized or group/other-accessible file.
    /// - Throws: `.keyFileMissing`, `.keyFileUnreadable`, `.keyFileInsecure` or `.keyFileWrongSize`.
    public static func load(at url: URL) throws(LedgerError) -> Ed25519Signer {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .keyFileMissing(path: path) }
            throw .keyFileUnreadable(path: path, reason: errorText(code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .keyFileUnreadable(path: path, reason: errorText(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .keyFileUnreadable(path: path, reason: "not a regular file")
        }
        // Like ssh's private keys: a secret others can read is treated as already leaked.
        let permissions = Int(info.st_mode & 0o777)
        guard permissions & 0o077 == 0 else { throw .keyFileInsecure(path: path, mode: permissions) }
        guard info.st_size == 32 else { throw .keyFileWrongSize(path: path, size: Int(info.st_size)) }
        var seed = [UInt8](repeating: 0, count: 32)
        var filled = 0
        while filled < 32 {
            let got = seed.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress.map { $0 + filled }, 32 - filled)
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw .keyFileUnreadable(path: path, reason: got < 0 ? errorText(errno) : "short read") }
            filled += got
        }
        return try Ed25519Signer(seed: seed)
    }

    /// Writes a fresh key with O_EXCL and mode 0600, or loads the file another process created first.
    private static func create(at url: URL) throws(LedgerError) -> Ed25519Signer {
        let path = url.path
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .keyFileCreateFailed(path: path, reason: "cannot create \(directory.path): \(error)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { return try load(at: url) }
            throw .keyFileCreateFailed(path: path, reason: errorText(code))
        }
        let signer = Ed25519Signer()
        let seed = signer.seed
        // The umask can only clear bits from 0600, but set it explicitly so the file is always usable by us.
        var failure: String? = fchmod(fd, 0o600) == 0 ? nil : errorText(errno)
        if failure == nil {
            let written = seed.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written != seed.count { failure = written < 0 ? errorText(errno) : "short write" }
        }
        // The key must be on disk before anything is signed with it.
        if failure == nil, fsync(fd) != 0 { failure = errorText(errno) }
        close(fd)
        if let failure {
            unlink(path)
            throw .keyFileCreateFailed(path: path, reason: failure)
        }
        return signer
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
