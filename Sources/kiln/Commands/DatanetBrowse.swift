// `kiln datanet list` and `kiln datanet show`: reading Datanets (public, no token needed).
import ArgumentParser
import Foundation
import KilnAPI

extension DatanetCommand {
    /// Lists every Datanet on the server.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the server's Datanets with their kinds and counts.")

        @OptionGroup var client: ClientOptions

        @Flag(help: "Print the server's JSON pages (one per line) instead of a table.")
        var json = false

        func run() async throws {
            let pages = try await client.withClient { client in
                var pages: [(Data, PageBody<DatanetBody>)] = []
                var cursor: String?
                // Following `next` to the end gives the whole list however the server pages it.
                repeat {
                    let path = "/api/datanets?limit=1000" + (cursor.map { "&cursor=\(pathSegment($0))" } ?? "")
                    let data = try await client.getData(path)
                    let page = try client.decode(PageBody<DatanetBody>.self, from: data, path: path)
                    pages.append((data, page))
                    cursor = page.next
                } while cursor != nil && pages.count < 10_000
                return pages
            }
            if json {
                pages.forEach { printRawJSON($0.0) }
                return
            }
            let datanets = pages.flatMap(\.1.items)
            guard !datanets.isEmpty else {
                print("No Datanets yet. Create one with `kiln datanet create`.")
                return
            }
            let rows = datanets.map { datanet in
                [datanet.slug, datanet.kind, datanet.kind == "text" ? datanet.schema : "-",
                 datanet.counts.map { String($0.accepted) } ?? "?", datanet.counts.map { String($0.pending) } ?? "?",
                 datanet.counts.map { String($0.versions) } ?? "?", datanet.title]
            }
            print(table(["SLUG", "KIND", "SCHEMA", "ACCEPTED", "PENDING", "VERSIONS", "TITLE"], rows))
        }
    }

    /// Shows one Datanet: description, rules in plain words, counts, curators and versions.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a Datanet's rules, counts, curators and versions.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug.")
        var slug: String

        @Flag(help: "Print the server's JSON for the Datanet instead of a description.")
        var json = false

        func run() async throws {
            let path = "/api/datanets/\(pathSegment(slug))"
            let (data, versions) = try await client.withClient { client in
                let data = try await client.getData(path)
                if json { return (data, [VersionBody]()) }
                let versions = try await client.get(path + "/versions", as: PageBody<VersionBody>.self).items
                return (data, versions)
            }
            if json { return printRawJSON(data) }
            let datanet = try await runReportingErrors { try APIClient.decodeAnswer(DatanetBody.self, from: data, path: path) }
            print("\(datanet.title) (\(datanet.slug))")
            print("Kind: \(datanet.kind)\(datanet.kind == "text" ? ", schema \(datanet.schema)" : ""); license \(datanet.license)")
            if !datanet.description.isEmpty { print("\n\(datanet.description)\n") }
            print("Rules:")
            print(datanet.ruleLines.map { "  " + $0 }.joined(separator: "\n"))
            if let counts = datanet.counts {
                print("Items: \(counts.accepted) accepted, \(counts.pending) pending, \(counts.rejected) rejected, "
                      + "from \(counts.contributors) contributor\(counts.contributors == 1 ? "" : "s")")
            }
            if let curators = datanet.curators, !curators.isEmpty {
                print("Curators: \(curators.joined(separator: ", "))")
            }
            if versions.isEmpty {
                print("Versions: none published yet")
            } else {
                print("Versions:")
                for version in versions {
                    print("  v\(version.version)  \(version.count) items (\(version.trainCount) train, \(version.validationCount) validation)  "
                          + "\(formatBytes(version.bytes))  Merkle root \(version.merkleRoot)  by \(version.createdBy) at \(version.createdAt)")
                }
            }
        }
    }
}

extension DatanetBody {
    /// The rules in plain words, one per line.
    var ruleLines: [String] {
        var lines = ["Formats: \((rules.formats ?? []).joined(separator: ", "))"]
        if let bytes = rules.maxItemBytes, let daily = rules.dailyLimit {
            lines.append("At most \(formatBytes(bytes)) per item; \(daily) items per contributor per UTC day")
        }
        lines += Self.bounds("characters", rules.minChars.map(String.init), rules.maxChars.map(String.init))
        lines += Self.bounds("pixels", rules.minPixels.map(String.init), rules.maxPixels.map(String.init))
        lines += Self.bounds("seconds", rules.minSeconds.map { String(format: "%g", $0) }, rules.maxSeconds.map { String(format: "%g", $0) })
        if let percent = rules.validationPercent { lines.append("Versions put about \(percent)% of items in the validation split") }
        return lines
    }

    /// "Between 1 and 20000 characters", "At least 64 pixels", or nothing.
    private static func bounds(_ unit: String, _ low: String?, _ high: String?) -> [String] {
        switch (low, high) {
        case let (low?, high?): ["Between \(low) and \(high) \(unit)"]
        case let (low?, nil): ["At least \(low) \(unit)"]
        case let (nil, high?): ["At most \(high) \(unit)"]
        case (nil, nil): []
        }
    }
}
