// Reading a version's export.jsonl and writing it to disk: temp files renamed into place, every blob hash-checked.
import Crypto
import Foundation
import KilnAPI
import KilnLedger
import KilnData
import NIOCore
import NIOFoundationCompat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of `export.jsonl`, as sent and parsed.
struct ExportLine: Sendable {
    /// The line's bytes, without the newline (written unchanged for text Datanets).
    var raw: Data
    /// The line's members.
    var fields: [String: JSONValue]
    /// The manifest entry it was matched to.
    var item: VersionBody.Item
}

/// Streams `export.jsonl` and checks each line against the verified manifest.
enum ExportLineReader {
    /// The most bytes one line may have; far above any item a Datanet accepts, it stops a runaway body.
    static let maxLineBytes = 64 * 1024 * 1024

    /// Calls `each` for every line in order, after checking its id, SHA-256 and split against `manifest`.
    ///
    /// - Throws: `ClientError.integrity` for a line the manifest does not list, lists differently, or repeats, and when
    ///   lines are missing at the end; `ClientError.unreachable` if the stream breaks.
    static func read(client: APIClient, path: String, manifest: [VersionBody.Item],
                     each: (ExportLine) throws -> Void) async throws {
        let byID = Dictionary(manifest.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<Int>()
        var pending: [UInt8] = []
        /// Checks and hands on one complete line.
        func take(_ bytes: ArraySlice<UInt8>) throws {
            let trimmed = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes
            guard !trimmed.isEmpty else { return }
            let raw = Data(trimmed)
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: raw),
                  case .number(let number)? = fields["id"], let id = Int(exactly: number) else {
                throw ClientError.invalidResponse(path: path, reason: "a line is not a JSON object with a numeric id")
            }
            guard let item = byID[id], fields["sha256"]?.stringValue?.lowercased() == item.sha256.lowercased(),
                  fields["split"]?.stringValue == item.split else {
                throw ClientError.integrity("The export's line for item \(id) does not match the verified manifest; nothing was exported.")
            }
            guard seen.insert(id).inserted else {
                throw ClientError.integrity("The export lists item \(id) twice; nothing was exported.")
            }
            try each(ExportLine(raw: raw, fields: fields, item: item))
        }
        let response = try await client.stream(path)
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                var start = pending.startIndex
                while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    try take(pending[start..<newline])
                    start = newline + 1
                }
                pending.removeFirst(start - pending.startIndex)
                guard pending.count <= maxLineBytes else {
                    throw ClientError.invalidResponse(path: path, reason: "a line is longer than \(maxLineBytes) bytes")
                }
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw client.unreachable(error)
        }
        try take(pending[...])
        guard seen.count == manifest.count else {
            throw ClientError.integrity("The export holds \(seen.count) of the manifest's \(manifest.count) items; nothing was exported.")
        }
    }
}

/// Writes an export into a folder; nothing appears under its final name until its content is complete and checked.
struct ExportWriter: Sendable {
    /// The output folder.
    let folder: URL
    /// The client that downloads media.
    let client: APIClient
    /// The bar to advance, if any.
    let progress: ProgressBar?

    // MARK: - Text

    /// Writes text lines to `train.jsonl` / `validation.jsonl` by their split, as `load_dataset("json")` reads them.
    ///
    /// - Returns: The files written, relative to the folder.
    func writeText(_ lines: [ExportLine]) throws -> [String] {
        try makeFolder(folder)
        var bySplit: [String: Data] = [:]
        for line in lines {
            bySplit[line.item.split, default: Data()].append(line.raw + [UInt8(ascii: "\n")])
            progress?.advance(bytes: line.raw.count + 1)
            progress?.completeItem()
        }
        var written: [String] = []
        for split in bySplit.keys.sorted(by: Self.splitOrder) {
            let name = "\(try Self.splitName(split)).jsonl"
            try writeAtomically(bySplit[split] ?? Data(), to: folder.appendingPathComponent(name))
            written.append(name)
        }
        return written
    }

    // MARK: - Media

    /// Downloads each file into `<split>/`, checks its SHA-256 and size against the manifest, then writes each
    /// split's `metadata.jsonl` (the `imagefolder`/`audiofolder` layout) once all of its files are in place.
    ///
    /// - Returns: What was written, relative to the folder.
    func writeMedia(_ lines: [ExportLine]) async throws -> [String] {
        var metadata: [String: Data] = [:]
        var counts: [String: Int] = [:]
        var used = Set<String>()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for line in lines {
            let split = try Self.splitName(line.item.split)
            let splitFolder = folder.appendingPathComponent(split, isDirectory: true)
            try makeFolder(splitFolder)
            var name = Self.fileName(for: line)
            if !used.insert("\(split)/\(name)").inserted {
                name = "\(line.item.id)-\(name)"
                used.insert("\(split)/\(name)")
            }
            try await download(try contentPath(line), to: splitFolder.appendingPathComponent(name), item: line.item)
            var fields = line.fields
            // `file_name` is relative to the folder holding metadata.jsonl; the server URL means nothing offline.
            fields["file_name"] = .string(name)
            fields["content_url"] = nil
            metadata[split, default: Data()].append(try encoder.encode(JSONValue.object(fields)) + [UInt8(ascii: "\n")])
            counts[split, default: 0] += 1
            progress?.completeItem()
        }
        var written: [String] = []
        for split in metadata.keys.sorted(by: Self.splitOrder) {
            try writeAtomically(metadata[split] ?? Data(), to: folder.appendingPathComponent("\(split)/metadata.jsonl"))
            written.append("\(split)/ (\(counts[split] ?? 0) files + metadata.jsonl)")
        }
        return written
    }

    /// Streams one blob to a temp file beside its final name, hashing as it goes, and renames it only if it matches.
    ///
    /// - Throws: `ClientError.integrity` for a wrong hash or size (the temp file is removed), `.file` for disk errors.
    func download(_ path: String, to destination: URL, item: VersionBody.Item) async throws {
        let temp = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).part")
        guard FileManager.default.createFile(atPath: temp.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: temp.path) else {
            throw ClientError.file(path: temp.path, reason: "cannot create it")
        }
        do {
            var hasher = SHA256()
            var count = 0
            let response = try await client.stream(path)
            do {
                for try await chunk in response.body {
                    count += chunk.readableBytes
                    // A body longer than the manifest says is wrong already; stop before it fills the disk.
                    guard count <= item.bytes else { break }
                    let bytes = Data(buffer: chunk)
                    hasher.update(data: bytes)
                    do {
                        try handle.write(contentsOf: bytes)
                    } catch {
                        throw ClientError.file(path: temp.path, reason: "cannot write it (\(error.localizedDescription))")
                    }
                    progress?.advance(bytes: bytes.count)
                }
            } catch let error as ClientError {
                throw error
            } catch {
                throw client.unreachable(error)
            }
            try handle.close()
            let digest = Hex.encode(hasher.finalize())
            guard count == item.bytes, digest == item.sha256.lowercased() else {
                throw ClientError.integrity("Item \(item.id) downloaded from \(path) does not match the manifest "
                                            + "(SHA-256 \(count > item.bytes ? "of a longer body" : digest), \(count) bytes; "
                                            + "expected \(item.sha256), \(item.bytes) bytes). The export is incomplete.")
            }
            try moveIntoPlace(temp, destination)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    // MARK: - Internal API

    /// The server path of a line's content, refusing URLs that point anywhere but this server's API.
    func contentPath(_ line: ExportLine) throws -> String {
        var url = line.fields["content_url"]?.stringValue ?? "/api/submissions/\(line.item.id)/content"
        if url.hasPrefix(client.server + "/") { url.removeFirst(client.server.count) }
        guard url.hasPrefix("/api/"), !url.contains("..") else {
            throw ClientError.integrity("Item \(line.item.id)'s content_url \(url) does not point into this server's API.")
        }
        return url
    }

    /// A safe file name for a media line: the server's `file_name` without its folder, or `<sha256>.<format>`.
    static func fileName(for line: ExportLine) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        if let given = line.fields["file_name"]?.stringValue {
            let base = (given as NSString).lastPathComponent
            if !base.isEmpty, base.first != ".", base.count <= 200, base.allSatisfy(allowed.contains) { return base }
        }
        let ext = MediaFormat(rawValue: line.item.format)?.fileExtension ?? "bin"
        return "\(line.item.sha256.lowercased()).\(ext)"
    }

    /// The folder or file stem for a split, refusing anything that is not a plain name.
    static func splitName(_ split: String) throws -> String {
        guard !split.isEmpty, split.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ClientError.integrity("The manifest names an unexpected split \"\(split)\".")
        }
        return split
    }

    /// Train first, then validation, then anything else by name.
    static func splitOrder(_ left: String, _ right: String) -> Bool {
        let rank = ["train": 0, "validation": 1]
        return (rank[left] ?? 2, left) < (rank[right] ?? 2, right)
    }

    /// Creates a folder and its parents if missing.
    func makeFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ClientError.file(path: url.path, reason: "cannot create the folder (\(error.localizedDescription))")
        }
    }

    /// Writes `data` to a temp file beside `url`, then renames it over `url`.
    func writeAtomically(_ data: Data, to url: URL) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).part")
        do {
            try data.write(to: temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw ClientError.file(path: url.path, reason: "cannot write it (\(error.localizedDescription))")
        }
        try moveIntoPlace(temp, url)
    }

    /// `rename(2)`, which replaces an existing file atomically where `FileManager.moveItem` would refuse.
    func moveIntoPlace(_ source: URL, _ destination: URL) throws {
        guard rename(source.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: source)
            throw ClientError.file(path: destination.path, reason: "cannot move the finished file into place (\(reason))")
        }
    }
}
