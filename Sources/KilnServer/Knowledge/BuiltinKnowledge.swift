// Kiln's own documentation as a knowledge base on every node, so chat can answer "how do I publish a version?" with
// citations. The files are the checkout's README.md and docs/*.md (found from $KILN_DOCS, the working folder or the
// executable's folders upward); at start the base is brought in line with them: changed files re-indexed, new ones
// added, vanished ones removed. Without the embedder it waits for the next start.
import Foundation
import KilnData
import KilnKnowledge
import KilnModels
import KilnTrain

extension KnowledgeService {
    /// The built-in base's name.
    static let builtinName = "Kiln documentation"

    /// README.md and docs/*.md of the first Kiln checkout found, sorted by name.
    static func builtinDocuments(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var roots: [URL] = []
        if let path = environment["KILN_DOCS"], !path.isEmpty { roots.append(URL(fileURLWithPath: path)) }
        roots.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        for root in roots {
            let docs = root.appendingPathComponent("docs", isDirectory: true)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: docs.path) else { continue }
            let files = names.filter { $0.hasSuffix(".md") }.sorted().map { docs.appendingPathComponent($0) }
            let readme = root.appendingPathComponent("README.md")
            guard !files.isEmpty, FileManager.default.fileExists(atPath: readme.path) else { continue }
            return [readme] + files
        }
        return []
    }

    /// Brings the built-in base in line with `files`; problems are logged, never thrown (the node serves without it).
    func syncBuiltin(_ files: [URL]) async {
        do {
            guard (try? embedder()) != nil else {
                logger.notice("The built-in knowledge base waits for the sentence embedder (run ./scripts/setup).")
                return
            }
            var found = try await store.builtinBase()
            if found == nil {
                found = try await store.create(owner: nil, name: Self.builtinName, description: "Kiln's README and docs, kept in line with this node's checkout.",
                                               isPublic: true, embedder: DefaultEmbedder.name, settings: KnowledgeSettings().json)
            }
            guard let base = found else { return }
            let existing = Dictionary(try await store.documents(base: base.id).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var names = Set<String>()
            for file in files {
                let name = file.deletingLastPathComponent().lastPathComponent == "docs" ? "docs/" + file.lastPathComponent : file.lastPathComponent
                names.insert(name)
                let data = try Data(contentsOf: file)
                if existing[name]?.sha256 == FileHash.sha256(data) { continue }
                _ = try await addDocument(base: base, name: name, data: data, format: .markdown)
                logger.info("Indexed \(name) into the built-in knowledge base.")
            }
            for (name, document) in existing where !names.contains(name) {
                try await removeDocument(base: base, document: document.id)
            }
        } catch {
            logger.error("The built-in knowledge base could not be brought up to date: \(error)")
        }
    }
}
