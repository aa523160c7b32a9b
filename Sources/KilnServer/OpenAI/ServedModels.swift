// The model ids the OpenAI-compatible API serves: every base of the node's catalog, and `base:run-N` for the adapter
// of each succeeded training job on it. An id never carries a path; it resolves to files only through the catalog
// and the job table.
import Foundation
import KilnData
import KilnModels

/// One servable model.
struct ServedModel: Sendable, Equatable {
    /// The API id: a base name, or `base:run-N`.
    var id: String
    /// The base's file or folder.
    var base: URL
    /// The PEFT adapter folder applied unmerged, for a run's id.
    var adapter: URL?
    /// Who owns it: the job's owner, or the node for a base.
    var ownedBy: String
    /// Seconds since 1970 (the job's finish; 0 for a base).
    var created: Int
}

/// Lists and resolves model ids.
struct ServedModels: Sendable {
    let catalog: ModelCatalog
    let jobs: JobStore

    /// The default base's API id (the catalog calls it `default`, which the API also accepts).
    static let defaultID = "SmolLM2-135M-Instruct"

    /// The API id of catalog base `name`.
    static func baseID(_ name: String) -> String { name == "default" ? defaultID : name }

    /// The catalog name of API base id `id`.
    static func catalogName(_ id: String) -> String { id == defaultID ? "default" : id }

    /// Every base and the adapter of each succeeded run the caller may see (`RunAccess`), bases first.
    func all(for context: KilnContext) async throws -> [ServedModel] {
        var models = catalog.names().compactMap { name in catalog.path(name).map { Self.base(name, at: $0) } }
        for job in try await jobs.list(limit: 500) where job.state == .succeeded && RunAccess.canRead(job, context) {
            guard let base = catalog.path(job.base) else { continue }
            models.append(Self.adapter(of: job, base: base))
        }
        return models
    }

    /// The model `id` names, if the caller may use it.
    /// - Throws: `OpenAIError.modelNotFound` when there is none, or it is another user's private run.
    func resolve(_ id: String, for context: KilnContext) async throws -> ServedModel {
        let parts = id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = Self.catalogName(parts[0])
        guard id.utf8.count <= 256, let base = catalog.path(name) else { throw OpenAIError.modelNotFound(String(id.prefix(256))) }
        guard parts.count == 2 else { return Self.base(name, at: base) }
        guard parts[1].hasPrefix("run-"), let jobID = Int(parts[1].dropFirst(4)), jobID > 0,
              let job = try await jobs.job(jobID), job.state == .succeeded, job.base == name, RunAccess.canRead(job, context) else {
            throw OpenAIError.modelNotFound(String(id.prefix(256)))
        }
        return Self.adapter(of: job, base: base)
    }

    /// Catalog base `name`, at `path`.
    static func base(_ name: String, at path: URL) -> ServedModel {
        ServedModel(id: baseID(name), base: path, adapter: nil, ownedBy: "kiln", created: 0)
    }

    /// The adapter of succeeded run `job` over the base at `base`.
    static func adapter(of job: TrainingJob, base: URL) -> ServedModel {
        ServedModel(id: "\(baseID(job.base)):run-\(job.id)", base: base, adapter: URL(fileURLWithPath: job.outputDirectory, isDirectory: true),
                    ownedBy: job.owner, created: (job.finishedAt ?? job.createdAt) / 1000)
    }
}
