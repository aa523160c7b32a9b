// `kiln datanet submit`: text items and files, one request per file, with a progress bar and a per-item summary.
import ArgumentParser
import Foundation
import KilnAPI
import KilnData

extension DatanetCommand {
    /// Submits text items and/or files to a Datanet.
    ///
    /// Each file goes in its own request so one bad file does not sink the rest. Items the server rejects
    /// (a ZIP named .png, a near-duplicate) are normal outcomes and are listed with their reasons; only requests that
    /// fail (a malformed batch, a lost connection, the daily limit) make the exit status non-zero.
    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit text items and/or files to a Datanet.",
            discussion: """
                Examples:
                  kiln datanet submit poems --text "Roses are red" --text "Violets are blue"
                  kiln datanet submit qa --jsonl items.jsonl
                  kiln datanet submit cats photos/*.png
                Reaching the daily limit stops the run and prints when the limit resets.
                """)

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug.")
        var slug: String

        @Option(help: "A text item for a plain-schema Datanet (repeatable).")
        var text: [String] = []

        @Option(help: ArgumentHelp("A text item as one JSON object in the Datanet's schema, e.g. '{\"instruction\":\"…\",\"response\":\"…\"}' (repeatable).",
                                   valueName: "json"))
        var item: [String] = []

        @Option(help: ArgumentHelp("A JSON Lines file of text items (one object per line), sent in batches of up to \(Self.batchSize).",
                                   valueName: "file"))
        var jsonl: String?

        @Argument(help: "Files to upload, one request each: images or audio, or .txt/.jsonl files for a text Datanet.")
        var files: [String] = []

        @Flag(inversion: .prefixedNo, help: "Show upload progress on standard error.")
        var progress = true

        @Flag(help: "Print one JSON line per item (source, id, status, reason) instead of the summary.")
        var json = false

        /// The most items one JSON Lines request carries (the server's batch cap).
        static let batchSize = 1000

        func validate() throws {
            try client.requireToken()
            guard !text.isEmpty || !item.isEmpty || jsonl != nil || !files.isEmpty else {
                throw ValidationError("Nothing to submit: give --text, --item, --jsonl or at least one file.")
            }
            for (index, raw) in item.enumerated() {
                guard case .object? = JSONValue(parsing: raw) else {
                    throw ValidationError("--item #\(index + 1) is not a JSON object.")
                }
            }
            for path in files + (jsonl.map { [$0] } ?? []) {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    throw ValidationError("\(path): no such file.")
                }
                guard !isDirectory.boolValue else { throw ValidationError("\(path) is a folder; pass the files in it.") }
                guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("\(path) cannot be read.") }
            }
        }

        func run() async throws {
            let outcomes = try await client.withClient { client in
                let datanet = try await client.get("/api/datanets/\(pathSegment(slug))", as: DatanetBody.self)
                let uploads = try plan(for: datanet)
                return try await send(uploads, with: client)
            }
            report(outcomes)
            if outcomes.contains(where: { if case .stored = $0.result { false } else { true } }) {
                throw ExitCode(1)
            }
        }

        // MARK: - Planning

        /// The requests this run will make, text batches first, then one per file.
        ///
        /// - Throws: `ClientError.file` when the JSON Lines file cannot be read, `ClientError.mismatch` when
        ///   text is given for a media Datanet or `--text` for a schema other than plain.
        func plan(for datanet: DatanetBody) throws -> [Upload] {
            let hasText = !text.isEmpty || !item.isEmpty || jsonl != nil
            if hasText && datanet.isMedia {
                throw ClientError.mismatch("\(datanet.slug) collects \(datanet.kind) files; --text, --item and --jsonl are for text Datanets.")
            }
            if !text.isEmpty && datanet.schema != "plain" {
                throw ClientError.mismatch("\(datanet.slug) uses the \(datanet.schema) schema; give its items with --item or --jsonl instead of --text.")
            }
            var uploads: [Upload] = []
            var lines: [Data] = []
            var labels: [String] = []
            let encoder = JSONEncoder()
            for (index, value) in text.enumerated() {
                lines.append(try encoder.encode(["text": value]))
                labels.append("--text #\(index + 1)")
            }
            for (index, raw) in item.enumerated() {
                // Re-encoding puts a pretty-printed object on one line, as JSON Lines needs.
                lines.append(try encoder.encode(JSONValue(parsing: raw) ?? .null))
                labels.append("--item #\(index + 1)")
            }
            if !lines.isEmpty { uploads.append(.textBatch(lines: lines, labels: labels)) }
            if let jsonl { uploads += try jsonlBatches(jsonl) }
            uploads += files.map { .file(URL(fileURLWithPath: $0)) }
            return uploads
        }

        /// A JSON Lines file as batches, skipping blank lines the way the server does so labels match its items.
        func jsonlBatches(_ path: String) throws -> [Upload] {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ClientError.file(path: path, reason: "cannot read it (\(error.localizedDescription))")
            }
            var numbered: [(Int, Data)] = []
            for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
                if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                numbered.append((index + 1, Data(trimmed)))
            }
            guard !numbered.isEmpty else { throw ClientError.file(path: path, reason: "holds no JSON lines") }
            let name = URL(fileURLWithPath: path).lastPathComponent
            return stride(from: 0, to: numbered.count, by: Self.batchSize).map { start in
                let batch = numbered[start..<min(start + Self.batchSize, numbered.count)]
                return .textBatch(lines: batch.map(\.1), labels: batch.map { "\(name):\($0.0)" })
            }
        }

        // MARK: - Sending

        /// Sends each upload in turn, stopping early when going on cannot help (limit reached, server gone, token refused).
        func send(_ uploads: [Upload], with client: APIClient) async throws -> [Outcome] {
            let totalBytes = uploads.reduce(0) { $0 + $1.bytes }
            let bar: ProgressBar? = progress && !uploads.isEmpty
                ? ProgressBar(label: "upload", totalItems: uploads.reduce(0) { $0 + $1.labels.count }, totalBytes: totalBytes) : nil
            let path = "/api/datanets/\(pathSegment(slug))/submissions"
            var outcomes: [Outcome] = []
            var stopped = false
            for upload in uploads {
                if stopped {
                    outcomes.append(Outcome(upload: upload, result: .notSent))
                    continue
                }
                do {
                    let data: Data
                    switch upload {
                    case .textBatch(let lines, _):
                        data = try await client.postData(path, body: Data(lines.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")],
                                                         contentType: "application/x-ndjson")
                        bar?.advance(bytes: upload.bytes)
                    case .file(let url):
                        data = try await client.upload(path, file: url) { bar?.advance(bytes: $0) }
                    }
                    let items = try Self.submissions(in: data, path: path)
                    outcomes.append(Outcome(upload: upload, result: .stored(items)))
                    for _ in upload.labels { bar?.completeItem() }
                } catch let error as ClientError {
                    outcomes.append(Outcome(upload: upload, result: .failed(error)))
                    bar?.note("\(upload.name): \(error.message)")
                    if case .server(let status, _, _, _) = error, [401, 403, 429].contains(status) { stopped = true }
                    if case .unreachable = error { stopped = true }
                }
            }
            bar?.finish()
            return outcomes
        }

        /// The submissions in an answer: one object for a single item, a page for a batch or a multi-item file.
        static func submissions(in data: Data, path: String) throws -> [SubmissionBody] {
            if let page = try? JSONDecoder().decode(PageBody<SubmissionBody>.self, from: data) { return page.items }
            return [try APIClient.decodeAnswer(SubmissionBody.self, from: data, path: path)]
        }

        // MARK: - Reporting

        /// Prints what happened to every item, then the totals (or JSON lines with `--json`).
        func report(_ outcomes: [Outcome]) {
            var counts: [String: Int] = [:]
            var failedRequests = 0
            var unsent = 0
            var limitMessage: String?
            for outcome in outcomes {
                switch outcome.result {
                case .stored(let items):
                    for (index, submission) in items.enumerated() {
                        // A text file can hold many items; the server keeps their order, so lines map to labels.
                        let label = items.count == outcome.upload.labels.count ? outcome.upload.labels[index]
                            : items.count == 1 ? outcome.upload.name : "\(outcome.upload.name) #\(index + 1)"
                        counts[submission.status, default: 0] += 1
                        emit(label: label, submission: submission)
                    }
                case .failed(let error):
                    failedRequests += 1
                    if case .server(429, _, _, let resets) = error {
                        limitMessage = "Stopped at the daily limit" + (resets.map { "; it resets at \($0)" } ?? "") + "."
                    }
                    emit(label: outcome.upload.name, error: error)
                case .notSent:
                    unsent += 1
                    emit(label: outcome.upload.name, error: nil)
                }
            }
            guard !json else { return }
            var totals = ["pending", "accepted", "rejected"].compactMap { status in counts[status].map { "\($0) \(status)" } }
            if failedRequests > 0 { totals.append("\(failedRequests) request\(failedRequests == 1 ? "" : "s") failed") }
            if unsent > 0 { totals.append("\(unsent) not sent") }
            print(totals.isEmpty ? "Nothing was stored." : totals.joined(separator: ", ") + ".")
            if let limitMessage { printError("kiln: \(limitMessage)") }
        }

        /// One stored item: `label  pending  #12`, plus the reason when it was rejected.
        private func emit(label: String, submission: SubmissionBody) {
            if json {
                printJSONLine(["source": .string(label), "id": .number(Double(submission.id)), "status": .string(submission.status),
                               "reason": submission.reason.map(JSONValue.string) ?? .null,
                               "reason_code": submission.reasonCode.map(JSONValue.string) ?? .null])
                return
            }
            var line = "\(label)  \(submission.status)  #\(submission.id)"
            if submission.status == "rejected" {
                line += "  \(submission.reason ?? "no reason given")" + (submission.reasonCode.map { " (\($0))" } ?? "")
            }
            print(line)
        }

        /// One request that failed (`error`) or was never sent (`nil`).
        private func emit(label: String, error: ClientError?) {
            if json {
                printJSONLine(["source": .string(label), "status": .string(error == nil ? "not_sent" : "failed"),
                               "error": error.map { .string($0.message) } ?? .null,
                               "code": error?.serverCode.map(JSONValue.string) ?? .null])
                return
            }
            print("\(label)  " + (error.map { "failed  \($0.message)" } ?? "not sent"))
        }

        /// Writes one compact JSON object and a newline to standard output.
        private func printJSONLine(_ members: [String: JSONValue]) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(JSONValue.object(members)) { printRawJSON(data) }
        }
    }

    /// One request of a submit run.
    enum Upload: Sendable {
        /// Text items sent together as `application/x-ndjson`, each with a label for the summary.
        case textBatch(lines: [Data], labels: [String])
        /// One file sent as multipart/form-data.
        case file(URL)

        /// How the summary names the request.
        var name: String {
            switch self {
            case .textBatch(_, let labels): labels.count == 1 ? labels[0] : "\(labels[0]) … \(labels[labels.count - 1])"
            case .file(let url): url.lastPathComponent
            }
        }

        /// Labels for the items the request is expected to yield (a file may yield more; see `report`).
        var labels: [String] {
            switch self {
            case .textBatch(_, let labels): labels
            case .file(let url): [url.lastPathComponent]
            }
        }

        /// The bytes the request carries, for the progress bar.
        var bytes: Int {
            switch self {
            case .textBatch(let lines, _): lines.reduce(0) { $0 + $1.count + 1 }
            case .file(let url): ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
            }
        }
    }

    /// What happened to one request.
    struct Outcome: Sendable {
        var upload: Upload
        var result: Result

        /// Stored (accepted, pending or rejected items), failed with an error, or skipped after an earlier stop.
        enum Result: Sendable {
            case stored([SubmissionBody])
            case failed(ClientError)
            case notSent
        }
    }
}
