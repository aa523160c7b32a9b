// `kiln datanet export`: a published version on disk in the layouts Hugging Face `datasets` loads.
//
// Text:  DIR/train.jsonl, DIR/validation.jsonl            -> datasets.load_dataset("json", data_files=…)
// Media: DIR/{train,validation}/<file> + metadata.jsonl   -> datasets.load_dataset("imagefolder"/"audiofolder", data_dir=DIR)
// (see https://huggingface.co/docs/datasets/image_dataset#imagefolder: `file_name` is relative to the metadata file's folder).
import ArgumentParser
import Foundation
import KilnAPI
import KilnData
import KilnLedger

extension DatanetCommand {
    /// Downloads a version, verifying the manifest's Merkle root and every file's SHA-256 before it is kept.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a published version in the Hugging Face `datasets` layout, verifying every hash.",
            discussion: """
                Text Datanets become DIR/train.jsonl and DIR/validation.jsonl (load with datasets.load_dataset("json", …)); \
                image and audio Datanets become DIR/train/ and DIR/validation/ with a metadata.jsonl each (load with \
                "imagefolder" or "audiofolder"). A split with no items gets no file. The manifest's Merkle root is checked \
                before anything is written, and each file's SHA-256 before it is renamed into place; metadata.jsonl and the \
                .jsonl files are written last, so an export that fails leaves no loadable half-dataset behind.
                """)

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug.")
        var slug: String

        @Option(help: "The version number to export (see `kiln datanet show`).")
        var version: Int

        @Option(help: ArgumentHelp("The folder to write the dataset into (created if missing).", valueName: "dir"))
        var out: String

        @Flag(help: "Write into a folder that is not empty (files of the same names are replaced).")
        var force = false

        @Flag(inversion: .prefixedNo, help: "Show download progress on standard error.")
        var progress = true

        func validate() throws {
            guard version >= 1 else { throw ValidationError("--version must be 1 or more.") }
            guard !out.isEmpty else { throw ValidationError("--out must name a folder.") }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw ValidationError("--out \(out) is a file, not a folder.") }
                let contents = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
                guard contents.isEmpty || force else {
                    throw ValidationError("--out \(out) is not empty; choose a new folder or pass --force.")
                }
            }
        }

        func run() async throws {
            let folder = URL(fileURLWithPath: out, isDirectory: true)
            let summary = try await client.withClient { client in
                let base = "/api/datanets/\(pathSegment(slug))"
                let datanet = try await client.get(base, as: DatanetBody.self)
                let manifestPath = "\(base)/versions/\(version)"
                let manifest = try await client.get(manifestPath, as: VersionBody.self)
                let items = try Self.verifiedItems(manifest, path: manifestPath)
                var lines: [ExportLine] = []
                try await ExportLineReader.read(client: client, path: "\(manifestPath)/export.jsonl", manifest: items) { lines.append($0) }
                let bar = progress ? ProgressBar(label: "export", totalItems: items.count,
                                                 totalBytes: datanet.isMedia ? items.reduce(0) { $0 + $1.bytes } : 0) : nil
                defer { bar?.finish() }
                let writer = ExportWriter(folder: folder, client: client, progress: bar)
                let files = datanet.isMedia ? try await writer.writeMedia(lines) : try writer.writeText(lines)
                return (manifest, datanet, files)
            }
            let (manifest, datanet, files) = summary
            print("Exported \(manifest.datanet) v\(manifest.version) to \(folder.path): \(manifest.count) items "
                  + "(\(manifest.trainCount) train, \(manifest.validationCount) validation).")
            print("Merkle root \(manifest.merkleRoot) verified\(datanet.isMedia ? ", and the SHA-256 of every file" : "").")
            for file in files { print("  \(file)") }
            let loader = datanet.isMedia ? (datanet.kind == "audio" ? "audiofolder" : "imagefolder") : "json"
            if datanet.isMedia {
                print("Load it with: datasets.load_dataset(\"\(loader)\", data_dir=\"\(folder.path)\")")
                if datanet.kind == "audio" { print("(Audio needs `pip install \"datasets[audio]\"`, which brings torchcodec.)") }
            } else {
                let splits = files.map { "\"\(($0 as NSString).deletingPathExtension)\": \"\(folder.appendingPathComponent($0).path)\"" }
                print("Load it with: datasets.load_dataset(\"json\", data_files={\(splits.joined(separator: ", "))})")
            }
        }

        /// The manifest's items in order, after checking they hash to the stated Merkle root.
        ///
        /// The root is RFC 6962's Merkle Tree Hash over the items' 32-byte SHA-256 digests in manifest order, so a
        /// manifest that lost, gained, reordered or altered an item cannot reproduce it.
        /// - Throws: `ClientError.integrity` when the manifest is incomplete or does not hash to its root.
        static func verifiedItems(_ manifest: VersionBody, path: String) throws -> [VersionBody.Item] {
            guard let unordered = manifest.items else {
                throw ClientError.invalidResponse(path: path, reason: "the version has no item list")
            }
            let items = unordered.sorted { $0.position < $1.position }
            guard items.count == manifest.count, items.enumerated().allSatisfy({ $0.offset == $0.element.position }) else {
                throw ClientError.integrity("The manifest of \(manifest.datanet) v\(manifest.version) lists \(items.count) items "
                                            + "for a count of \(manifest.count), or skips positions; nothing was exported.")
            }
            var leaves: [[UInt8]] = []
            leaves.reserveCapacity(items.count)
            for item in items {
                guard let digest = Hex.decode(item.sha256), digest.count == 32 else {
                    throw ClientError.integrity("Item \(item.id) in the manifest has a malformed SHA-256 \"\(item.sha256)\"; nothing was exported.")
                }
                leaves.append(digest)
            }
            let computed = Hex.encode(MerkleTree.root(leaves: leaves))
            guard computed == manifest.merkleRoot.lowercased() else {
                throw ClientError.integrity("The manifest of \(manifest.datanet) v\(manifest.version) does not match its Merkle root: "
                                            + "it hashes to \(computed) but the server states \(manifest.merkleRoot). Nothing was exported.")
            }
            return items
        }
    }
}
