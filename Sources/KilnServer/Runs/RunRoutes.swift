// Runs for scripts: start a fine-tuning run on any published version (`POST /api/runs`), list and read runs, follow
// one live over Server-Sent Events, cancel and resume it, and download its PEFT adapter. Private runs exist only for
// their owner and admins (`RunAccess`).
import Foundation
import HTTPTypes
import Hummingbird
import KilnAPI
import KilnData

extension APIController {
    @Sendable func createRun(_ request: Request, context: KilnContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await decodeBody(TrainingJobRequest.self, request)
        guard let slug = body.datanet, let number = body.version else {
            throw DataError.badRequest(code: "bad_field", message: "Fields \"datanet\" (a slug) and \"version\" (a published version number) are required.")
        }
        let datanet = try await readableDatanet(slug, context)
        let job = try await startRun(user: user, datanet: datanet, number: number, body: body)
        return JSON.response(TrainingJobBody(job), status: .accepted)
    }

    @Sendable func listRuns(_ request: Request, context: KilnContext) async throws -> Response {
        let visible = try await services.jobs.list(limit: 200).filter { RunAccess.canRead($0, context) }
        return JSON.response(PageBody(items: visible.map { TrainingJobBody($0, withSpec: false) }, next: nil))
    }

    @Sendable func showRun(_ request: Request, context: KilnContext) async throws -> Response {
        JSON.response(TrainingJobBody(try await RunAccess.readable(try context.numberParameter("id"), services.jobs, context)))
    }

    @Sendable func cancelRun(_ request: Request, context: KilnContext) async throws -> Response {
        return try await cancel(try await RunAccess.actionable(try context.numberParameter("id"), services.jobs, context))
    }

    @Sendable func resumeRun(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await RunAccess.actionable(try context.numberParameter("id"), services.jobs, context)
        guard let resumed = try await services.jobs.resume(job.id) else { throw DataError.notFound("There is no run \(job.id).") }
        await training?.runner.start()
        return JSON.response(TrainingJobBody(resumed), status: .accepted)
    }

    @Sendable func runAdapter(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await succeededRun(context)
        let format = request.uri.queryParameters.get("format") ?? "tar"
        guard format == "tar" || format == "zip" else {
            throw DataError.badRequest(code: "bad_field", message: "Parameter \"format\" must be tar or zip.")
        }
        let folder = URL(fileURLWithPath: job.outputDirectory, isDirectory: true)
        var files: [(String, Data)] = []
        for name in ["adapter_config.json", "adapter_model.safetensors"] {
            guard let contents = try? Data(contentsOf: folder.appendingPathComponent(name)) else {
                throw DataError.notFound("Run \(job.id)'s \(name) is missing from the node's data folder.")
            }
            files.append(("run-\(job.id)-adapter/\(name)", contents))
        }
        let archive: Data
        if format == "zip" {
            var zip = ZipArchive()
            for (name, contents) in files { zip.add(name: name, contents: contents) }
            archive = zip.finished
        } else {
            var tar = TarArchive()
            for (name, contents) in files { tar.add(name: name, contents: contents) }
            archive = tar.finished
        }
        var headers = HTTPFields()
        headers[.contentType] = format == "zip" ? "application/zip" : "application/x-tar"
        headers[.contentDisposition] = "attachment; filename=\"run-\(job.id)-adapter.\(format)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: archive)))
    }

    /// The run `:id` when the caller may read it and it has succeeded.
    /// - Throws: `DataError.notFound`, or `.conflict` while it has no adapter.
    func succeededRun(_ context: KilnContext) async throws -> TrainingJob {
        let job = try await RunAccess.readable(try context.numberParameter("id"), services.jobs, context)
        guard job.state == .succeeded else {
            throw DataError.conflict(code: "no_adapter", message: "Run \(job.id) is \(job.state.rawValue); its adapter is ready once it succeeds.")
        }
        return job
    }

    @Sendable func runEvents(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await RunAccess.readable(try context.numberParameter("id"), services.jobs, context)
        // A reconnecting EventSource sends the last line it saw; the stream continues after it.
        let resumeAfter = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int($0) }.map { max(0, $0) } ?? 0
        let jobs = services.jobs
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        let body = ResponseBody { writer in
            var follower = RunEventFollower(metrics: URL(fileURLWithPath: job.outputDirectory).appendingPathComponent("metrics.jsonl"),
                                            sentLines: resumeAfter)
            let deadline = Date().addingTimeInterval(6 * 3600)
            while true {
                let current = try await jobs.job(job.id) ?? job
                let text = follower.poll(current)
                if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                if follower.ended || Date() > deadline { break }
                try await Task.sleep(for: .seconds(1))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// Turns a run's metrics.jsonl and state into SSE text: `metrics` events (one per logged line, with its line number as
/// the event id), `state` events when the state or progress changes, and `end` once the run stopped and every line went.
struct RunEventFollower {
    let metrics: URL
    /// Lines the client already has (from `Last-Event-ID`); they are read past, not sent.
    let sentLines: Int
    /// Bytes of complete lines read so far, and how many lines they held: each poll reads only what was appended.
    private var offset: UInt64 = 0
    private var linesRead = 0
    private var lastState: String?
    private(set) var ended = false

    init(metrics: URL, sentLines: Int) {
        self.metrics = metrics
        self.sentLines = sentLines
    }

    /// The SSE text for what is new since the last poll.
    mutating func poll(_ job: TrainingJob) -> String {
        var out = ""
        if let handle = try? FileHandle(forReadingFrom: metrics) {
            defer { try? handle.close() }
            try? handle.seek(toOffset: offset)
            let data = (try? handle.readToEnd()) ?? Data()
            // Only complete lines: the trainer may be half-way through writing the last one.
            var start = data.startIndex
            while let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
                linesRead += 1
                if linesRead > sentLines && end > start {
                    out += "id: \(linesRead)\nevent: metrics\ndata: \(String(decoding: data[start..<end], as: UTF8.self))\n\n"
                }
                start = end + 1
            }
            offset += UInt64(start - data.startIndex)
        }
        let state = JSONValue.object(["state": .string(job.state.rawValue), "progress": job.progress.flatMap { JSONValue(parsing: $0) } ?? .null,
                                      "error": job.error.map { .string($0) } ?? .null]).compactText
        if state != lastState {
            out += "event: state\ndata: \(state)\n\n"
            lastState = state
        }
        if ![.queued, .running].contains(job.state) {
            out += "event: end\ndata: \(JSONValue.object(["state": .string(job.state.rawValue)]).compactText)\n\n"
            ended = true
        }
        return out
    }
}
