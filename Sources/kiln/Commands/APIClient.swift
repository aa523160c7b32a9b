// A small client for Kiln's JSON API over AsyncHTTPClient, used by `kiln login` and `kiln datanet …`.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// What can go wrong talking to a server, each case carrying what the message needs.
enum ClientError: Error, Equatable {
    /// The server answered with a JSON error body (`{"error":{"code","message"}}`) and a 4xx/5xx status.
    case server(status: Int, code: String, message: String, resetsAt: String?)
    /// No connection could be made, or it broke before the answer arrived.
    case unreachable(server: String, reason: String)
    /// The server answered with something that is not the JSON the route promises.
    case invalidResponse(path: String, reason: String)
    /// A local file could not be read or written.
    case file(path: String, reason: String)
    /// Downloaded data does not match what the version's manifest promises.
    case integrity(String)
    /// The command does not fit the Datanet it names (text for an image Datanet, say).
    case mismatch(String)

    /// The sentence printed after `kiln: `.
    var message: String {
        switch self {
        case .server(let status, let code, let message, _):
            // Errors that are not the API's own JSON (a proxy page, say) carry the bare status as their code.
            code.isEmpty ? "\(message) (HTTP \(status))" : "\(message) (\(code))"
        case .unreachable(let server, let reason):
            "cannot reach the Kiln server at \(server): \(reason). Is `kiln serve` running there? (Set --server or KILN_SERVER.)"
        case .invalidResponse(let path, let reason):
            "the server's answer to \(path) is not what this client expects: \(reason)"
        case .file(let path, let reason):
            "\(path): \(reason)"
        case .integrity(let reason), .mismatch(let reason):
            reason
        }
    }

    /// The error code the server gave, if this is a server error.
    var serverCode: String? {
        if case .server(_, let code, _, _) = self { return code }
        return nil
    }
}

/// A JSON client bound to one server and, optionally, one bearer token.
struct APIClient: Sendable {
    /// The server's base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    let server: String
    /// The bearer token sent on every request; `nil` sends none (public reads, login).
    let token: String?
    let http: HTTPClient

    /// The longest a plain JSON call may take.
    static let jsonTimeout: TimeAmount = .seconds(120)
    /// The longest an upload or download may take; the read timeout catches stalls long before this.
    static let transferTimeout: TimeAmount = .hours(6)
    /// The most bytes a JSON answer may have (a version manifest of a big Datanet is the largest).
    static let maxJSONBytes = 512 * 1024 * 1024

    /// Runs `body` with a client for `server`, shutting the HTTP client down afterwards whatever happens.
    ///
    /// - Parameters:
    ///   - server: The base URL.
    ///   - token: The bearer token; `nil` for anonymous calls.
    static func with<T: Sendable>(server: String, token: String?, _ body: (APIClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(120))
        // A CLI should say "cannot connect" at once rather than retry with backoff until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = APIClient(server: server.hasSuffix("/") ? String(server.dropLast()) : server, token: token, http: http)
        do {
            let result = try await body(client)
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    // MARK: - JSON calls

    /// `GET path`, decoded as `T`.
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try decode(T.self, from: try await getData(path), path: path)
    }

    /// `GET path`, the raw JSON bytes (for `--json` output).
    func getData(_ path: String) async throws -> Data {
        try await send(request(path, method: .GET), path: path)
    }

    /// `POST path` with `body` encoded as JSON, the raw answer bytes.
    func postData(_ path: String, json body: some Encodable) async throws -> Data {
        var request = request(path, method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        return try await send(request, path: path)
    }

    /// `POST path` with a body of another content type (such as `application/x-ndjson`), the raw answer bytes.
    func postData(_ path: String, body: Data, contentType: String) async throws -> Data {
        var request = request(path, method: .POST)
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(data: body))
        return try await send(request, path: path)
    }

    /// `POST path` with a JSON body, decoded as `T`.
    func post<T: Decodable>(_ path: String, json body: some Encodable, as type: T.Type) async throws -> T {
        try decode(T.self, from: try await postData(path, json: body), path: path)
    }

    /// Decodes an answer, turning a mismatch into `ClientError.invalidResponse`.
    func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
        try Self.decodeAnswer(T.self, from: data, path: path)
    }

    /// Decodes the answer to `path`, turning a mismatch into `ClientError.invalidResponse`.
    static func decodeAnswer<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ClientError.invalidResponse(path: path, reason: String(describing: error))
        }
    }

    // MARK: - Uploads and downloads

    /// Uploads one file as multipart/form-data field `file`, streaming it from disk.
    ///
    /// - Parameters:
    ///   - path: The route, e.g. `/api/datanets/cats/submissions`.
    ///   - file: The file to send; its last path component is the part's file name.
    ///   - progress: Called with the number of file bytes just handed to the connection.
    /// - Returns: The raw answer bytes.
    /// - Throws: `ClientError.file` when the file cannot be read, `.server` or `.unreachable` as for any call.
    func upload(_ path: String, file: URL, progress: @escaping @Sendable (Int) -> Void) async throws -> Data {
        let body = try MultipartFileBody(file: file, field: "file", progress: progress)
        var request = request(path, method: .POST)
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(body.boundary)")
        request.body = .stream(body, length: .known(Int64(body.length)))
        return try await send(request, path: path, timeout: Self.transferTimeout)
    }

    /// Starts `GET path` and hands back the response once its head has arrived, its body still to be read.
    ///
    /// - Throws: `ClientError.server` (body read and decoded) for any status other than 200.
    func stream(_ path: String) async throws -> HTTPClientResponse {
        let request = request(path, method: .GET)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: Self.transferTimeout)
        } catch {
            throw unreachable(error)
        }
        guard response.status == .ok else {
            let data = try await collect(response, path: path)
            throw serverError(status: Int(response.status.code), body: data)
        }
        return response
    }

    // MARK: - Internal API

    /// A request for `path` (absolute, starting with `/`) carrying the token when there is one.
    func request(_ path: String, method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "kiln-cli")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    /// Executes `request`, returning the body of a 2xx answer and throwing the server's error otherwise.
    func send(_ request: HTTPClientRequest, path: String, timeout: TimeAmount = jsonTimeout) async throws -> Data {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as ClientError {
            throw error
        } catch {
            throw unreachable(error)
        }
        let data = try await collect(response, path: path)
        guard (200..<300).contains(response.status.code) else {
            throw serverError(status: Int(response.status.code), body: data)
        }
        return data
    }

    /// Reads a whole answer body.
    func collect(_ response: HTTPClientResponse, path: String) async throws -> Data {
        do {
            return Data(buffer: try await response.body.collect(upTo: Self.maxJSONBytes))
        } catch {
            throw unreachable(error)
        }
    }

    /// A transport failure in the words `ClientError.unreachable` uses.
    func unreachable(_ error: any Error) -> ClientError {
        if let clientError = error as? ClientError { return clientError }
        let reason: String
        switch error {
        case let error as HTTPClientError where error == .connectTimeout:
            reason = "the connection timed out"
        case let error as HTTPClientError where error == .readTimeout:
            reason = "the server stopped answering"
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            reason = "the server closed the connection"
        default:
            let text = String(describing: error)
            reason = text.localizedCaseInsensitiveContains("refused") ? "connection refused" : text
        }
        return .unreachable(server: server, reason: reason)
    }

    /// The server's error body as a `ClientError.server`, or a generic one if the body is not Kiln's error JSON.
    func serverError(status: Int, body: Data) -> ClientError {
        /// `{"error": {…}}`.
        struct Envelope: Decodable {
            /// The code, the sentence, and for the daily limit the reset time.
            struct Inner: Decodable {
                var code: String
                var message: String
                var resets_at: String?
            }
            var error: Inner
        }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: body) {
            return .server(status: status, code: envelope.error.code, message: envelope.error.message, resetsAt: envelope.error.resets_at)
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .server(status: status, code: "", message: text.isEmpty ? "the server answered with an error" : text, resetsAt: nil)
    }
}
