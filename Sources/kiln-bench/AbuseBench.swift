// A normal client's requests/s while slow connections and a login flood hit the node, against the same client alone.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import KilnData
import KilnServer
import NIOCore
import NIOPosix

/// `kiln-bench abuse`: GET /api/datanets from one keep-alive client, alone and beside 500 slow connections plus a login flood.
struct AbuseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abuse",
        abstract: "Requests/s and latency of a normal client alone, then beside slow connections and a login flood.")

    @Option(help: "Slow connections that send half a request and then nothing.")
    var slow = 500

    @Option(help: "Concurrent login-flood clients (wrong passwords, as fast as answers come).")
    var flooders = 16

    @Option(help: "Seconds to measure each phase.")
    var seconds = 5.0

    func validate() throws {
        guard (0...5000).contains(slow), (0...256).contains(flooders), seconds > 0 else {
            throw ValidationError("--slow 0…5000, --flooders 0…256 and --seconds > 0.")
        }
    }

    struct Phase {
        var name: String
        var rate: Double
        var latency: Percentiles
        var flood: [Int: Int]
    }

    func run() async throws {
        var phases: [Phase] = []
        // Default budgets: one flooding address is soon answered 429. Lifted budgets: the flood reaches bcrypt, as one from many addresses would.
        for (name, attempts, abuse) in [("alone", AttemptLimits(), false),
                                        ("beside \(slow) slow connections + \(flooders)-client login flood (default budgets)", AttemptLimits(), true),
                                        ("same, budgets lifted (every login reaches bcrypt)",
                                         AttemptLimits(perAddressBurst: 1_000_000, perAddressPerMinute: 1_000_000,
                                                       perUsernameBurst: 1_000_000, perUsernamePerHour: 1_000_000), true)] {
            phases.append(try await measure(name, attempts: attempts, abuse: abuse))
        }
        print("")
        print("| normal client (GET /api/datanets) | requests/s | p50 ms | p99 ms | max ms | flood answers |")
        print("|---|---|---|---|---|---|")
        for phase in phases {
            let flood = phase.flood.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
            print("| \(phase.name) | \(fixed(phase.rate, 0)) | \(fixed(phase.latency.p50, 2)) | \(fixed(phase.latency.p99, 2)) | \(fixed(phase.latency.max, 2)) | \(flood.isEmpty ? "—" : flood) |")
        }
        print("")
        for phase in phases.dropFirst() {
            print("\(phase.name): \(fixed(phase.rate / phases[0].rate * 100))% of the client's requests/s alone.")
        }
    }

    /// Serves a fresh node (bcrypt at its real cost) and measures the normal client, with or without the abuse.
    func measure(_ name: String, attempts: AttemptLimits, abuse: Bool) async throws -> Phase {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let services = try await KilnServices.open(dataDirectory: folder, databaseURL: nil)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let options = ServerOptions(host: "127.0.0.1", port: 0, logLevel: .critical, idleTimeout: 30, attempts: attempts)
        let server = Task {
            try await buildApplication(services, options: options, onServerRunning: { portContinuation.yield($0) })
                .runService(gracefulShutdownSignals: [])
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ExitCode(1) }
        let sockets = abuse ? try Self.slowConnections(port: port, count: slow) : []
        defer { sockets.forEach { close($0) } }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = flooders + 1
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let deadline = Date().addingTimeInterval(seconds)
        let flood = Task { () -> [Int: Int] in
            guard abuse else { return [:] }
            return try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for index in 0..<flooders {
                    group.addTask {
                        var answers: [Int: Int] = [:]
                        while Date() < deadline {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/auth/login")
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: #"{"username":"flood\#(index)","password":"not the password"}"#))
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 16)
                            answers[Int(response.status.code), default: 0] += 1
                        }
                        return answers
                    }
                }
                return try await group.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
            }
        }
        var latencies: [Double] = []
        let start = Date()
        while Date() < deadline {
            let sent = DispatchTime.now().uptimeNanoseconds
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/datanets"), timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw ValidationError("GET /api/datanets answered \(response.status.code)") }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - sent) / 1_000_000)
        }
        let elapsed = Date().timeIntervalSince(start)
        let answers = try await flood.value
        try await client.shutdown()
        server.cancel()
        _ = try? await server.value
        await services.close()
        return Phase(name: name, rate: Double(latencies.count) / elapsed, latency: Percentiles(latencies), flood: answers)
    }

    /// Opens `count` connections that send the start of a request and then stay silent.
    static func slowConnections(port: Int, count: Int) throws -> [Int32] {
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw ValidationError("socket() failed: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw ValidationError("connect() failed: errno \(errno)") }
            let start = "GET /api/datanets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            _ = start.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            sockets.append(fd)
        }
        return sockets
    }
}
