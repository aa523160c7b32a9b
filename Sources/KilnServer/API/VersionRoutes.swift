// Dataset versions: publish, read the manifest, export JSONL.
import Foundation
import KilnAPI
import HTTPTypes
import Hummingbird
import KilnData

extension APIController {
    @Sendable func listVersions(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let versions = try await services.versions.list(datanet)
        return JSON.response(PageBody(items: versions.map { VersionBody($0, items: nil) }, next: nil))
    }

    @Sendable func publish(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.publish(datanet, by: user)
        return JSON.response(VersionBody(version, items: items), status: .created)
    }

    @Sendable func showVersion(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.version(datanet, number: try context.numberParameter("number"))
        return JSON.response(VersionBody(version, items: items))
    }

    @Sendable func exportVersion(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let version = try await services.versions.header(datanet, number: try context.numberParameter("number"))
        let versions = services.versions
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(datanet.slug)-v\(version.number).jsonl\""
        let body = ResponseBody { writer in
            try await VersionExportLine.pages(versions, datanet, number: version.number) { page in
                var buffer = ByteBuffer()
                for line in page {
                    buffer.writeBytes(try JSON.encoder.encode(line))
                    buffer.writeInteger(UInt8(ascii: "\n"))
                }
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// One line of a version export: the item's identity and, for text, its fields at the top level.
struct VersionExportLine: Encodable {
    var id: Int
    var sha256: String
    var contributor: String
    var split: String
    var format: String
    var fields: [String: JSONValue]
    var file_name: String?
    var content_url: String?

    /// Every line of `datanet`'s version `number`, in manifest order, handed to `body` a page of 500 at a time: each page
    /// is one query, used before the next is read, so no version sits whole in memory.
    static func pages(_ versions: VersionStore, _ datanet: Datanet, number: Int,
                      _ body: ([VersionExportLine]) async throws -> Void) async throws {
        var position = 0
        while true {
            let page = try await versions.exportItems(datanet, number: number, from: position, limit: 500)
            guard let last = page.last else { return }
            try await body(page.map(VersionExportLine.init))
            position = last.item.position + 1
        }
    }

    init(_ export: ExportItem) {
        let item = export.item
        id = item.id
        sha256 = item.sha256
        contributor = item.contributor
        split = item.split.rawValue
        format = item.format
        fields = [:]
        if let content = export.content, case .object(let members)? = JSONValue(parsing: content) { fields = members }
        if export.hasFile {
            file_name = "\(item.split.rawValue)/\(item.sha256).\(MediaFormat(rawValue: item.format)?.fileExtension ?? "bin")"
            content_url = "/api/submissions/\(item.id)/content"
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            try c.encode(value, forKey: AnyKey(key))
        }
        try c.encode(id, forKey: AnyKey("id"))
        try c.encode(sha256, forKey: AnyKey("sha256"))
        try c.encode(contributor, forKey: AnyKey("contributor"))
        try c.encode(split, forKey: AnyKey("split"))
        try c.encode(format, forKey: AnyKey("format"))
        try c.encodeIfPresent(file_name, forKey: AnyKey("file_name"))
        try c.encodeIfPresent(content_url, forKey: AnyKey("content_url"))
    }
}
