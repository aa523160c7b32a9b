// Text submissions per second through the real HTTP server on loopback, against an echo baseline.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import KilnData
import KilnServer
import NIOCore
import NIOPosix

/// `kiln-bench submissions`: concurrent clients posting text items to a Datanet that already holds accepted items.
struct SubmissionsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submissions",
        abstract: "Text submissions/s with p50/p99 latency: SQLite, a Datanet of N accepted items, C concurrent clients.")

    @Option(help: "Accepted items already in the Datanet.")
    var accepted = 10_000

    @Option(help: "Concurrent HTTP clients (each its own contributor and keep-alive connection).")
    var clients = 16

    @Option(help: "Seconds to measure each phase (after a warm-up of a tenth of that).")
    var seconds = 10.0

    func validate() throws {
        guard accepted >= 0, clients >= 1, clients <= 256, seconds > 0 else {
            throw ValidationError("--accepted ≥ 0, --clients 1…256 and --seconds > 0.")
        }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let services = try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        print("Seeding \(accepted) accepted items…")
        let seedStart = Date()
        let (datanet, tokens) = try await seed(services)
        print("Seeded in \(fixed(Date().timeIntervalSince(seedStart))) s.")

        let kiln = try await measure(services: services, path: "/api/datanets/\(datanet.slug)/submissions", tokens: tokens)
        let echo = try await measure(services: nil, path: "/echo", tokens: tokens)
        await services.close()

        print("")
        print("| phase | requests/s | p50 ms | p99 ms | max ms | non-2xx |")
        print("|---|---|---|---|---|---|")
        for (name, result) in [("Kiln submissions (SQLite, \(accepted) accepted, \(clients) clients)", kiln),
                               ("baseline: Hummingbird echo of the same bodies", echo)] {
            print("| \(name) | \(fixed(result.rate, 0)) | \(fixed(result.latency.p50, 2)) | \(fixed(result.latency.p99, 2)) | \(fixed(result.latency.max, 2)) | \(result.failures) |")
        }
        print("")
        print("Kiln submissions reach \(fixed(kiln.rate / echo.rate * 100))% of the echo baseline's throughput.")
    }

    /// A Datanet with `accepted` accepted items (with their MinHash bands, as reviews leave them) and one token per client.
    func seed(_ services: KilnServices) async throws -> (Datanet, [String]) {
        let curator = try await services.accounts.register(username: "curator", password: "bench password")
        let datanet = try await services.datanets.create(CreateDatanetRequest(
            slug: "bench", title: "Bench", description: "Benchmark Datanet", kind: .text, schema: .plain,
            rules: DatanetRules(formats: ["txt", "jsonl"], maxItemBytes: 10_000, dailyLimit: 1_000_000, minChars: 10, maxChars: 5000)),
            by: curator)
        var generator = WordGenerator(seed: 1)
        var remaining = accepted
        while remaining > 0 {
            let batch = (0..<min(1000, remaining)).map { _ in IncomingItem.text(.plain(text: generator.sentence(words: 24)), format: "txt", repairedUTF8: false) }
            let stored = try await services.submissions.submit(batch, to: datanet, by: curator)
            for item in stored where item.status == .pending {
                _ = try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
            }
            remaining -= batch.count
        }
        var tokens: [String] = []
        for index in 0..<clients {
            let user = try await services.accounts.register(username: "client\(index)", password: "bench password")
            tokens.append(try await services.accounts.issueToken(for: user, kind: .api).token)
        }
        return (datanet, tokens)
    }

    struct Result {
        var rate: Double
        var latency: Percentiles
        var failures: Int
    }

    /// Serves Kiln (or, with `services == nil`, an echo route) on loopback and drives it with `clients` connections.
    func measure(services: KilnServices?, path: String, tokens: [String]) async throws -> Result {
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let options = ServerOptions(host: "127.0.0.1", port: 0, logLevel: .error)
        let report: @Sendable (Int) async -> Void = { port in portContinuation.yield(port) }
        let server = Task {
            if let services {
                try await buildApplication(services, options: options, onServerRunning: report).runService(gracefulShutdownSignals: [])
            } else {
                let router = Router()
                router.post("echo") { request, _ -> Response in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
                }
                let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      onServerRunning: { await report($0.localAddress?.port ?? 0) })
                try await app.runService(gracefulShutdownSignals: [])
            }
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ExitCode(1) }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = clients
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let url = "http://127.0.0.1:\(port)\(path)"
        _ = try await drive(client: client, url: url, tokens: tokens, duration: seconds / 10, salt: services == nil ? 2 : 3)
        let result = try await drive(client: client, url: url, tokens: tokens, duration: seconds, salt: services == nil ? 4 : 5)
        try await client.shutdown()
        server.cancel()
        _ = try? await server.value
        return result
    }

    func drive(client: HTTPClient, url: String, tokens: [String], duration: Double, salt: UInt64) async throws -> Result {
        let start = Date()
        let deadline = start.addingTimeInterval(duration)
        let perClient = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    var generator = WordGenerator(seed: salt &* 1_000_003 &+ UInt64(index))
                    var latencies: [Double] = []
                    var failures = 0
                    while Date() < deadline {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        let text = generator.sentence(words: 24)
                        request.body = .bytes(ByteBuffer(string: #"{"text":"\#(text)"}"#))
                        let sent = DispatchTime.now().uptimeNanoseconds
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - sent) / 1_000_000)
                        if response.status.code / 100 != 2 { failures += 1 }
                    }
                    return (latencies, failures)
                }
            }
            return try await group.reduce(into: [([Double], Int)]()) { $0.append($1) }
        }
        let elapsed = Date().timeIntervalSince(start)
        let latencies = perClient.flatMap(\.0)
        return Result(rate: Double(latencies.count) / elapsed, latency: Percentiles(latencies), failures: perClient.reduce(0) { $0 + $1.1 })
    }
}

/// Random sentences from a fixed vocabulary, so items are distinct and not near-duplicates of each other.
struct WordGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    static let vocabulary = """
        flour water salt yeast starter crumb crust oven steam proof knead fold shape score bake rye spelt wheat barley oat \
        honey butter milk egg sugar malt loaf boule batard baguette tin stone peel banneton couche lame hydration gluten \
        enzyme acid lactic wild levain poolish biga autolyse bulk retard ferment bubble open tight chewy crisp golden dark \
        sesame poppy caraway seed grain whole sifted stoneground fresh cold warm humid dry morning evening overnight quick
        """.split(separator: " ").map(String.init)

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func sentence(words: Int) -> String {
        (0..<words).map { _ in Self.vocabulary[Int(next() % UInt64(Self.vocabulary.count))] }.joined(separator: " ")
    }
}
