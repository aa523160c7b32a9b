// `kiln datanet create`: a new Datanet with its kind, schema and rules.
import ArgumentParser
import Foundation
import KilnAPI

/// What a Datanet collects.
enum DatanetKindArgument: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, image, audio

    /// The formats the server accepts for this kind, for checking `--formats` early.
    var knownFormats: Set<String> {
        switch self {
        case .text: ["txt", "jsonl"]
        case .image: ["png", "jpeg", "webp", "gif"]
        case .audio: ["wav", "flac", "mp3", "ogg"]
        }
    }
}

/// The shape of a text Datanet's items.
enum TextSchemaArgument: String, ExpressibleByArgument, CaseIterable, Sendable {
    case plain, instruction, chat
}

extension DatanetCommand {
    /// Creates a Datanet; the caller becomes its curator.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a Datanet (you become its curator).",
            discussion: "Rules left out take the server's defaults for the kind.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug: 2 to 48 lowercase letters, digits or '-', used in its URLs.")
        var slug: String

        @Option(help: "The title people see.")
        var title: String

        @Option(help: "What it collects: text, image or audio.")
        var kind: DatanetKindArgument

        @Option(help: "For text: the item shape, plain ({text}), instruction ({instruction, input?, response}) or chat ({messages}). Default plain.")
        var schema: TextSchemaArgument?

        @Option(help: "A longer description (Markdown is shown as text).")
        var description: String?

        @Option(help: "The license contributions are made under (default CC-BY-4.0).")
        var license: String?

        @Option(help: ArgumentHelp("Accepted formats, comma-separated, as sniffed from the bytes (e.g. png,jpeg).", valueName: "list"))
        var formats: String?

        @Option(help: "The largest item in bytes.")
        var maxItemBytes: Int?

        @Option(help: "Items one contributor may submit per UTC day (pending and accepted count).")
        var dailyLimit: Int?

        @Option(help: "For text: the fewest characters an item may have.")
        var minChars: Int?

        @Option(help: "For text: the most characters an item may have.")
        var maxChars: Int?

        @Option(help: "For images: the fewest pixels (width × height).")
        var minPixels: Int?

        @Option(help: "For images: the most pixels (width × height).")
        var maxPixels: Int?

        @Option(help: "For audio: the shortest duration in seconds.")
        var minSeconds: Double?

        @Option(help: "For audio: the longest duration in seconds.")
        var maxSeconds: Double?

        @Option(help: "The share of items (0 to 50 percent) that published versions put in the validation split.")
        var validationPercent: Int?

        @Flag(help: "Print the created Datanet as the server's JSON.")
        var json = false

        /// `--formats` as a list.
        var formatList: [String]? {
            formats.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty } }
        }

        func validate() throws {
            try client.requireToken()
            guard DatanetSlug.isValid(slug) else { throw ValidationError("The slug must have \(DatanetSlug.rule).") }
            guard !title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--title must not be empty.") }
            if schema != nil, kind != .text { throw ValidationError("--schema is for text Datanets only.") }
            if let list = formatList {
                guard !list.isEmpty else { throw ValidationError("--formats needs at least one format.") }
                let unknown = list.filter { !kind.knownFormats.contains($0) }
                guard unknown.isEmpty else {
                    throw ValidationError("--formats \(unknown.joined(separator: ",")) is not a \(kind.rawValue) format; choose from \(kind.knownFormats.sorted().joined(separator: ",")).")
                }
            }
            try checkBounds("chars", minChars, maxChars, allowed: kind == .text)
            try checkBounds("pixels", minPixels, maxPixels, allowed: kind == .image)
            try checkBounds("seconds", minSeconds, maxSeconds, allowed: kind == .audio)
            if let maxItemBytes, maxItemBytes <= 0 { throw ValidationError("--max-item-bytes must be positive.") }
            if let dailyLimit, dailyLimit <= 0 { throw ValidationError("--daily-limit must be positive.") }
            if let validationPercent, !(0...50).contains(validationPercent) {
                throw ValidationError("--validation-percent must be between 0 and 50.")
            }
        }

        /// Checks a `--min-X`/`--max-X` pair: only for the right kind, not negative, min ≤ max.
        private func checkBounds<Number: Comparable & Numeric>(_ name: String, _ low: Number?, _ high: Number?, allowed: Bool) throws {
            guard low != nil || high != nil else { return }
            guard allowed else {
                let owner = ["chars": "text", "pixels": "image", "seconds": "audio"][name] ?? name
                throw ValidationError("--min-\(name)/--max-\(name) are for \(owner) Datanets only.")
            }
            if let low, low < .zero { throw ValidationError("--min-\(name) must not be negative.") }
            if let high, high <= .zero { throw ValidationError("--max-\(name) must be positive.") }
            if let low, let high, low > high { throw ValidationError("--min-\(name) must not be larger than --max-\(name).") }
        }

        func run() async throws {
            let body = request
            let data = try await client.withClient { client in
                try await client.postData("/api/datanets", json: body)
            }
            if json { return printRawJSON(data) }
            let datanet = try await runReportingErrors {
                try APIClient.decodeAnswer(DatanetBody.self, from: data, path: "/api/datanets")
            }
            print("Created \(datanet.kind) Datanet \(datanet.slug): \(datanet.title)")
            print(datanet.ruleLines.map { "  " + $0 }.joined(separator: "\n"))
        }

        /// The `POST /api/datanets` body; absent options are left out so the server's defaults apply.
        var request: CreateBody {
            let rules = RulesBody(
                formats: formatList, maxItemBytes: maxItemBytes, dailyLimit: dailyLimit, minChars: minChars, maxChars: maxChars,
                minPixels: minPixels, maxPixels: maxPixels, minSeconds: minSeconds, maxSeconds: maxSeconds,
                validationPercent: validationPercent)
            return CreateBody(slug: slug, title: title, description: description, kind: kind.rawValue,
                              schema: kind == .text ? (schema ?? .plain).rawValue : nil, license: license,
                              rules: rules.isEmpty ? nil : rules)
        }
    }

    /// `POST /api/datanets`'s body, spelled with the API's snake_case keys.
    struct CreateBody: Encodable, Sendable {
        var slug: String
        var title: String
        var description: String?
        var kind: String
        var schema: String?
        var license: String?
        var rules: RulesBody?
    }
}
