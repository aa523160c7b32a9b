// The merged model of a run, for use without Kiln: the adapter folded into its base as PEFT's merge_and_unload does.
// A GGUF base gives one GGUF file llama.cpp runs (matrices re-quantised to q8_0, so the merge is not lost to 4-bit
// rounding); a safetensors base gives a transformers model folder as a tar archive. Built once on first download
// (seconds, on a thread of its own) and kept in the run folder.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData
import KilnModels
import KilnTrain

extension APIController {
    @Sendable func runMergedModel(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await succeededRun(context)
        guard let base = training?.catalog.path(job.base) else {
            throw DataError.conflict(code: "base_missing", message: "Run \(job.id)'s base \(job.base) is no longer on this node.")
        }
        let folder = URL(fileURLWithPath: job.outputDirectory, isDirectory: true)
        let isGGUF = ModelRegistry.isGGUF(base)
        let file = folder.appendingPathComponent(isGGUF ? "merged.gguf" : "merged.tar")
        if !FileManager.default.fileExists(atPath: file.path) {
            try await JobRunner.onThread { try Self.writeMerged(base: base, adapter: folder, to: file, gguf: isGGUF) }
        }
        var headers = HTTPFields()
        headers[.contentType] = isGGUF ? "application/octet-stream" : "application/x-tar"
        headers[.contentDisposition] = "attachment; filename=\"run-\(job.id)-merged.\(isGGUF ? "gguf" : "tar")\""
        return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: file.path, context: context))
    }

    /// Merges the adapter in `adapter` into `base` and writes the download to `file` (through a temporary name, so a
    /// download never sees half a file).
    static func writeMerged(base: URL, adapter: URL, to file: URL, gguf: Bool) throws {
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let adapters = [try LoRAAdapter(folder: adapter)]
        if gguf {
            _ = try GGUFExport.merge(base: base, adapters: adapters, into: temporary, quantization: .q8_0)
        } else {
            try AdapterMerge.merge(base: base, adapters: adapters, into: temporary)
            var tar = TarArchive()
            for name in try FileManager.default.contentsOfDirectory(atPath: temporary.path).sorted() {
                tar.add(name: "merged/\(name)", contents: try Data(contentsOf: temporary.appendingPathComponent(name)))
            }
            try FileManager.default.removeItem(at: temporary)
            try tar.finished.write(to: temporary)
        }
        _ = try? FileManager.default.replaceItemAt(file, withItemAt: temporary)
        if !FileManager.default.fileExists(atPath: file.path) { try FileManager.default.moveItem(at: temporary, to: file) }
    }
}
