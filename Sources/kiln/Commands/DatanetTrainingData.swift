// `kiln train --datanet SLUG --version N`: the version's text items fetched from a Kiln server, verified against the
// manifest's Merkle root, and written as train.jsonl / validation.jsonl beside the run, so the run spec names files
// (KilnTrain reads only files) together with the version and root they came from.
import Foundation
import KilnAPI
import KilnTrain

/// Fetches a published version as training files.
enum DatanetTrainingData {
    /// Writes the version's splits into `folder` and returns the training source and the validation source (the version's
    /// validation split, else the `validation` file given, else none).
    /// - Throws: `ClientError` for an unreachable server, a missing version, a media Datanet or a manifest that fails
    ///   its Merkle root.
    static func fetch(slug: String, version: Int, server: String, into folder: URL, validation: String?) async throws
        -> (DataSource, DataSource?) {
        let token = ProcessInfo.processInfo.environment["KILN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let (manifest, files) = try await APIClient.with(server: server, token: token) { client in
            let base = "/api/datanets/\(pathSegment(slug))"
            let datanet = try await client.get(base, as: DatanetBody.self)
            guard !datanet.isMedia else {
                throw ClientError.invalidResponse(path: base, reason: "\(slug) is a \(datanet.kind) Datanet; training needs text items")
            }
            let manifestPath = "\(base)/versions/\(version)"
            let manifest = try await client.get(manifestPath, as: VersionBody.self)
            let items = try DatanetCommand.Export.verifiedItems(manifest, path: manifestPath)
            var lines: [ExportLine] = []
            try await ExportLineReader.read(client: client, path: "\(manifestPath)/export.jsonl", manifest: items) { lines.append($0) }
            let files = try ExportWriter(folder: folder, client: client, progress: nil).writeText(lines)
            return (manifest, files)
        }
        func source(_ name: String) throws -> DataSource {
            let url = folder.appendingPathComponent(name)
            return DataSource(path: url.path, sha256: try FileHash.sha256(of: url), datanet: slug, version: version, merkleRoot: manifest.merkleRoot)
        }
        guard files.contains("train.jsonl") else {
            throw ClientError.invalidResponse(path: "/api/datanets/\(slug)/versions/\(version)", reason: "the version has no train split")
        }
        let validationSource: DataSource? = try files.contains("validation.jsonl") ? source("validation.jsonl")
            : validation.map { path in
                let url = URL(fileURLWithPath: path)
                return DataSource(path: url.path, sha256: try FileHash.sha256(of: url))
            }
        return (try source("train.jsonl"), validationSource)
    }
}
