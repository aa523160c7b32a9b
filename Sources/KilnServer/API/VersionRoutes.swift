// Dataset versions: publish, read the manifest, export JSONL.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension APIController {
    @Sendable func listVersions(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let versions = try await services.versions.list(datanet)
        return JSON.response(PageJSON(items: versions.map { VersionJSON($0, items: nil) }, next: nil))
    }

    @Sendable func publish(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.publish(datanet, by: user, datanets: services.datanets)
        return JSON.response(VersionJSON(version, items: items), status: .created)
    }

    @Sendable func showVersion(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.version(datanet, number: try context.numberParameter("number"))
        return JSON.response(VersionJSON(version, items: items))
    }

    @Sendable func exportVersion(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let (version, items) = try await services.versions.version(datanet, number: try context.numberParameter("number"))
        let submissions = services.submissions
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(datanet.slug)-v\(version.number).jsonl\""
        // Lines are written as they are read, so a large version never sits whole in memory.
        let body = ResponseBody { writer in
            for chunk in stride(from: 0, to: items.count, by: 256) {
                var buffer = ByteBuffer()
                for item in items[chunk..<min(chunk + 256, items.count)] {
                    let line = try await ExportLine.make(item, submissions: submissions)
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
struct ExportLine: Encodable {
    var id: Int
    var sha256: String
    var contributor: String
    var split: String
    var format: String
    var fields: [String: JSONValue]
    var file_name: String?
    var content_url: String?

    static func make(_ item: VersionItem, submissions: SubmissionStore) async throws -> ExportLine {
        let submission = try await submissions.get(item.id)
        var fields: [String: JSONValue] = [:]
        if let content = submission.content, case .object(let members)? = JSONValue(parsing: content) {
            fields = members
        }
        let name = submission.blobSHA256 == nil ? nil : "\(item.split.rawValue)/\(item.sha256).\(MediaFormat(rawValue: item.format)?.fileExtension ?? "bin")"
        return ExportLine(id: item.id, sha256: item.sha256, contributor: item.contributor, split: item.split.rawValue, format: item.format,
                          fields: fields, file_name: name, content_url: submission.blobSHA256 == nil ? nil : "/api/submissions/\(item.id)/content")
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            try c.encode(value, forKey: AnyCodingKey(key))
        }
        try c.encode(id, forKey: AnyCodingKey("id"))
        try c.encode(sha256, forKey: AnyCodingKey("sha256"))
        try c.encode(contributor, forKey: AnyCodingKey("contributor"))
        try c.encode(split, forKey: AnyCodingKey("split"))
        try c.encode(format, forKey: AnyCodingKey("format"))
        try c.encodeIfPresent(file_name, forKey: AnyCodingKey("file_name"))
        try c.encodeIfPresent(content_url, forKey: AnyCodingKey("content_url"))
    }
}

/// A coding key for any string.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
