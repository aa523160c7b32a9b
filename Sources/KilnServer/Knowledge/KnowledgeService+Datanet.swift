// A published Datanet version as a knowledge document: each text item becomes its own chunk (or chunks, when long),
// headed by the Datanet's title and the item's number, and keeps the item's id and contributor, so that an answer
// citing it credits the person who contributed it.
import Foundation
import KilnAPI
import KilnData
import KilnKnowledge
import KilnTrain

extension KnowledgeService {
    /// The text an item's fields read as: a lone text field as itself, else one "field: value" line per field (a chat's
    /// messages as "role: content" lines).
    static func itemText(_ content: String) -> String? {
        guard case .object(let fields)? = JSONValue(parsing: content) else { return nil }
        func render(_ value: JSONValue) -> String? {
            switch value {
            case .string(let text): return text
            case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
            case .bool(let flag): return String(flag)
            case .array(let items):
                let lines = items.compactMap { item -> String? in
                    if case .object(let message) = item, case .string(let role)? = message["role"], let content = message["content"].flatMap(render) {
                        return "\(role): \(content)"
                    }
                    return render(item)
                }
                return lines.isEmpty ? nil : lines.joined(separator: "\n")
            case .object, .null: return nil
            }
        }
        if fields.count == 1, let only = fields.values.first.flatMap(render) { return only }
        let lines = fields.keys.sorted().compactMap { key in fields[key].flatMap(render).map { "\(key): \($0)" } }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// Adds a published version's text items as one document named `<slug> v<number>`, replacing an earlier add.
    func addVersion(base: KnowledgeBaseRecord, datanet: Datanet, number: Int, versions: VersionStore) async throws -> KnowledgeStore.DocumentChange {
        let header = try await versions.header(datanet, number: number)
        var items: [(id: Int, contributor: String, text: String)] = []
        var position = 0
        var bytes = 0
        while position < header.count {
            let page = try await versions.exportItems(datanet, number: number, from: position, limit: 500)
            guard !page.isEmpty else { break }
            for export in page {
                guard let content = export.content, let text = Self.itemText(content), !text.isEmpty else { continue }
                bytes += text.utf8.count
                items.append((export.item.id, export.item.contributor, text))
            }
            position += page.count
        }
        guard !items.isEmpty else {
            throw DataError.unprocessable(code: "no_text_items", message: "Version \(number) of \(datanet.slug) has no text items.")
        }
        guard bytes <= Self.maxDocumentBytes else {
            throw DataError.tooLarge(limit: Self.maxDocumentBytes, message: "The version's text is over \(Self.maxDocumentBytes >> 20) MiB.")
        }
        let settings = KnowledgeSettings.decode(base.settings)
        let title = datanet.title
        let texts = items
        let chunks: [NewKnowledgeChunk] = try await onQueue {
            let embedder = try self.embedder()
            let chunker = Chunker(options: settings.chunking) { max(0, embedder.tokenCount($0) - 2) }
            var pieces: [(chunk: DocumentChunk, item: Int, contributor: String)] = []
            for item in texts {
                let blocks: [DocumentBlock] = [.heading(level: 1, text: title), .heading(level: 2, text: "Item \(item.id)")]
                    + DocumentText.paragraphs(item.text)
                for chunk in chunker.chunks(blocks) { pieces.append((chunk, item.id, item.contributor)) }
            }
            let vectors = try embedder.embed(pieces.map(\.chunk.indexedText))
            return zip(pieces.indices, vectors).map { index, vector in
                let piece = pieces[index]
                return NewKnowledgeChunk(position: index, headingPath: piece.chunk.headingPath, text: piece.chunk.text, embedding: vector,
                                         itemID: piece.item, contributor: piece.contributor)
            }
        }
        let document = KnowledgeStore.NewDocument(name: "\(datanet.slug) v\(number)", format: "datanet", sha256: header.merkleRoot,
                                                  byteCount: bytes, datanetID: datanet.id, versionNumber: number, chunks: chunks)
        return try await store(document, base: base)
    }
}
