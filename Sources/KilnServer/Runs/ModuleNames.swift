// A run's target modules are checked against the base's real linear layers before anything is queued, so a typo
// (`q_prj`) is refused at once with the names that exist instead of failing minutes later in the worker.
import Foundation
import KilnData
import KilnModels
import KilnTrain

/// The module names of each base, read once (building a training graph maps the weights but reads none of them).
final class ModuleNames: @unchecked Sendable {
    /// One per process: bases do not change while a node runs.
    static let shared = ModuleNames()
    private let lock = NSLock()
    private var known: [String: (paths: [String], kinds: [String])] = [:]

    /// The linear layers' paths and last components of the base at `base`.
    /// - Throws: load errors.
    func of(_ base: URL) async throws -> (paths: [String], kinds: [String]) {
        if let cached = lock.withLock({ known[base.path] }) { return cached }
        let names = try await Task.detached(priority: .userInitiated) {
            let graph = try TrainingGraphs.make(try BaseCheckpoint.load(base))
            return (graph.linears.keys.sorted(), graph.moduleKinds)
        }.value
        lock.withLock { known[base.path] = names }
        return names
    }

    /// Refuses targets that name no linear layer of the base.
    /// - Throws: `DataError.badRequest` naming the unknown targets and the base's module names.
    func check(_ targets: [String], base: URL) async throws {
        guard targets != ["all-linear"] else { return }
        let names = try await of(base)
        let unknown = targets.filter { target in
            !names.kinds.contains(target) && !names.paths.contains { $0 == target || $0.hasSuffix("." + target) }
        }
        guard unknown.isEmpty else {
            throw DataError.badRequest(code: "unknown_module", message: "Field \"target_modules\" names \(unknown.map { "\"\($0.prefix(64))\"" }.joined(separator: ", ")), "
                                       + "which this base does not have; its modules are \(names.kinds.joined(separator: ", ")), or all-linear.")
        }
    }
}
