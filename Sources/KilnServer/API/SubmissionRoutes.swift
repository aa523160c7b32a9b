// Submitting items, the review queue and reviews.
import Foundation
import KilnAPI
import HTTPTypes
import Hummingbird
import KilnData

/// `{"decision": "accept"|"reject", "reason": …}`.
struct ReviewRequest: Decodable {
    var decision: SubmissionService.Decision
    var reason: String?

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["decision", "reason"])
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let decision = SubmissionService.Decision(rawValue: try c.decode(String.self, forKey: .decision)) else {
            throw DataError.badRequest(code: "invalid_value", message: "decision must be \"accept\" or \"reject\".")
        }
        self.decision = decision
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
    }

    enum CodingKeys: String, CodingKey { case decision, reason }
}

extension APIController {
    @Sendable func submit(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let datanet = try await datanet(context)
        let (items, single) = try await incomingItems(request, datanet: datanet)
        let stored = try await services.submissions.submit(items, to: datanet, by: user)
        if single, let only = stored.first {
            return JSON.response(SubmissionBody(only, viewer: user), status: .created)
        }
        return JSON.response(PageBody(items: stored.map { SubmissionBody($0, viewer: user) }, next: nil), status: .created)
    }

    /// The items a submission request carries, by its content type; `single` when it is one JSON object.
    func incomingItems(_ request: Request, datanet: Datanet) async throws -> (items: [IncomingItem], single: Bool) {
        let limits = services.limits
        let textLimit = limits.jsonItemBytes(datanet.rules, kind: datanet.kind)
        switch UploadReader.mediaType(request) {
        case "application/json":
            guard datanet.kind == .text else {
                throw DataError.unsupportedMediaType("\(datanet.slug) collects \(datanet.kind.rawValue) files: send them as multipart/form-data.")
            }
            let body = try await UploadReader.collect(request, limit: min(textLimit * 8, limits.maxJSONRequestBytes))
            let (text, repaired) = TextFile.decodeUTF8(body)
            if text.drop(while: \.isWhitespace).first == "[" {
                guard let values = try? JSONDecoder().decode([JSONValue].self, from: Data(text.utf8)) else {
                    throw DataError.badRequest(code: "invalid_json", message: "The body is not valid JSON.")
                }
                guard !values.isEmpty, values.count <= TextFile.maxBatchItems else {
                    throw DataError.invalid("A JSON array holds 1 to \(TextFile.maxBatchItems) items.")
                }
                let items = try values.enumerated().map { index, value -> IncomingItem in
                    do {
                        let item = try TextItem.decode(try JSON.encoder.encode(value), schema: datanet.schema)
                        return .text(item, format: "txt", repairedUTF8: repaired)
                    } catch let error as DataError {
                        throw DataError.badRequest(code: error.code, message: "Item \(index): \(error.message)")
                    }
                }
                return (items, false)
            }
            let item = try TextItem.decode(Array(text.utf8), schema: datanet.schema)
            return ([.text(item, format: "txt", repairedUTF8: repaired)], true)
        case "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines", "application/x-jsonl":
            guard datanet.kind == .text else {
                throw DataError.unsupportedMediaType("\(datanet.slug) collects \(datanet.kind.rawValue) files: send them as multipart/form-data.")
            }
            let body = try await UploadReader.collect(request, limit: min(textLimit * TextFile.maxBatchItems, limits.maxJSONRequestBytes))
            return (try TextFile.jsonLines(body, schema: datanet.schema), false)
        case "multipart/form-data":
            let itemBytes = limits.itemBytes(datanet.rules, kind: datanet.kind)
            let parts = try await UploadReader.multipart(
                request, partLimit: datanet.kind == .text ? min(textLimit * TextFile.maxBatchItems, limits.maxMultipartBytes) : itemBytes,
                totalLimit: min(itemBytes * 100 + 1024 * 1024, limits.maxMultipartBytes))
            var items: [IncomingItem] = []
            for part in parts {
                if part.fileName != nil || part.name == "file" || part.name == "files" {
                    if datanet.kind == .text {
                        items += try TextFile.items(fromFile: part.data, datanet: datanet, budget: TextFile.maxBatchItems - items.count)
                    } else {
                        items.append(.media(part.data, fileName: part.fileName))
                    }
                } else if part.name == "text", datanet.kind == .text, datanet.schema == .plain {
                    let (text, repaired) = TextFile.decodeUTF8(part.data)
                    items.append(.text(.plain(text: text), format: "txt", repairedUTF8: repaired))
                } else if part.name != "csrf" {
                    throw DataError.badRequest(code: "unknown_field", message: "Unknown form field \"\(part.name)\"; send files as \"file\".")
                }
            }
            guard !items.isEmpty else { throw DataError.invalid("The form holds no file; send it in a field named \"file\".") }
            guard items.count <= TextFile.maxBatchItems else {
                throw DataError.tooLarge(limit: TextFile.maxBatchItems, message: "A request holds at most \(TextFile.maxBatchItems) items.")
            }
            return (items, items.count == 1)
        default:
            throw DataError.unsupportedMediaType(
                "Send text items as application/json (or application/x-ndjson for a batch) and files as multipart/form-data.")
        }
    }

    @Sendable func queue(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let page = try await services.submissions.queue(datanet, page: try page(request))
        return JSON.response(PageBody(items: page.items.map { SubmissionBody($0) }, next: page.next))
    }

    @Sendable func showSubmission(_ request: Request, context: KilnContext) async throws -> Response {
        struct Body: Encodable {
            var submission: SubmissionBody
            var events: [EventBody]

            func encode(to encoder: any Encoder) throws {
                // The submission's own fields sit at the top level, with its history beside them.
                try submission.encode(to: encoder)
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(events, forKey: .events)
            }

            enum CodingKeys: String, CodingKey { case events }
        }
        let submission = try await visibleSubmission(context)
        return JSON.response(Body(submission: SubmissionBody(submission, viewer: context.credential?.user), events: try await services.submissions.events(submission.id).map(EventBody.init)))
    }

    @Sendable func submissionContent(_ request: Request, context: KilnContext) async throws -> Response {
        let submission = try await visibleSubmission(context)
        guard let file = try services.submissions.mediaFile(submission) else {
            throw DataError.notFound("Submission \(submission.id) is text; its content is in the submission itself.")
        }
        var headers = HTTPFields()
        headers[.contentType] = MediaFormat(rawValue: submission.format)?.mimeType ?? "application/octet-stream"
        headers[.cacheControl] = "private, max-age=86400, immutable"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = "\"\(submission.sha256)\""
        // Uploaded bytes are served as what they were sniffed to be and never rendered as HTML.
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        let size = submission.bytes
        // The file is streamed from disk in chunks, never held whole; a player seeking in audio asks for a range.
        switch ByteRange(header: request.headers[.range], size: size) {
        case .whole:
            headers[.contentLength] = String(size)
            return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: file.path, context: context))
        case .part(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = String(range.count)
            return Response(status: .partialContent, headers: headers,
                            body: try await FileIO().loadFile(path: file.path, range: range, context: context))
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentType] = nil
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
    }

    /// A submission the caller may see: accepted ones are public, others only to their contributor and curators.
    func visibleSubmission(_ context: KilnContext) async throws -> Submission {
        let submission = try await services.submissions.get(try context.numberParameter("id"))
        let datanet = try await services.datanets.get(submission.datanet)
        // An item of a private Datanet is as absent as the Datanet, even to its own contributor.
        guard try await Authorization(services: services).canRead(datanet, context) else {
            throw DataError.notFound("There is no submission \(submission.id).")
        }
        if submission.status == .accepted { return submission }
        guard let user = context.credential?.user else {
            throw DataError.unauthorized("Sign in to see items that are not accepted.")
        }
        if user.id == submission.contributorId { return submission }
        guard try await Authorization(services: services).isCurator(context, of: datanet) else {
            throw DataError.forbidden("Only the contributor and the curators can see this item.")
        }
        return submission
    }

    @Sendable func review(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.numberParameter("id")
        let body = try await decodeBody(ReviewRequest.self, request)
        let submission = try await services.submissions.review(id, decision: body.decision, reason: body.reason, by: user)
        return JSON.response(SubmissionBody(submission))
    }
}
