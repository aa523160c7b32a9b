// `POST /v1/embeddings` as OpenAI documents it: `input` a string or a list of strings, `encoding_format` float or base64
// (the official client asks for base64 by default and decodes little-endian float32), usage in word pieces. Inputs
// longer than the model's 256 word pieces are cut as sentence-transformers cuts them, never refused.
import Foundation
import Hummingbird
import KilnModels

/// The embeddings route over the node's sentence embedder.
struct EmbeddingsRoute: Sendable {
    let knowledge: KnowledgeService
    /// The most inputs in one request, OpenAI's own cap.
    static let maxInputs = 2048
    /// The names a client may pass as `model`.
    static let modelNames: Set<String> = [DefaultEmbedder.name, "sentence-transformers/\(DefaultEmbedder.name)"]

    /// The parsed request.
    struct Body {
        var model: String
        var inputs: [String]
        var base64: Bool
    }

    /// Reads and checks the request fields.
    static func parse(_ fields: OpenAIFields) throws -> Body {
        let model = try fields.string("model")
        guard modelNames.contains(model) else {
            throw OpenAIError(status: .notFound, message: "The embedding model `\(model)` does not exist here; use `\(DefaultEmbedder.name)`.",
                              type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        let inputs: [String]
        switch fields.object["input"] {
        case let text as String: inputs = [text]
        case let list as [Any]:
            guard !list.isEmpty else { throw OpenAIError.invalid("`input` must not be an empty list.", param: "input") }
            inputs = try list.enumerated().map { index, item in
                guard let text = item as? String else {
                    throw OpenAIError.invalid("`input[\(index)]` must be a string; token-id inputs are not supported by this model.", param: "input")
                }
                return text
            }
        case nil, is NSNull: throw OpenAIError.invalid("`input` is required.", param: "input", code: "missing_required_parameter")
        default: throw OpenAIError.invalid("`input` must be a string or a list of strings.", param: "input")
        }
        guard inputs.count <= maxInputs else { throw OpenAIError.invalid("At most \(maxInputs) inputs per request.", param: "input") }
        if let empty = inputs.firstIndex(where: \.isEmpty) {
            throw OpenAIError.invalid("`input[\(empty)]` is empty; every input must have text.", param: "input")
        }
        var base64 = false
        if !fields.isAbsent("encoding_format") {
            switch fields.object["encoding_format"] as? String {
            case "float": base64 = false
            case "base64": base64 = true
            default: throw OpenAIError.invalid("`encoding_format` must be float or base64.", param: "encoding_format")
            }
        }
        if !fields.isAbsent("dimensions"), (try fields.integer("dimensions")) != 384 {
            throw OpenAIError.invalid("\(DefaultEmbedder.name) gives 384 dimensions; `dimensions` cannot change that.", param: "dimensions")
        }
        return Body(model: model, inputs: inputs, base64: base64)
    }

    /// Answers one request.
    func respond(_ fields: OpenAIFields) async throws -> Response {
        let body = try Self.parse(fields)
        let inputs = body.inputs
        let (vectors, tokens): ([[Float]], Int)
        do {
            (vectors, tokens) = try await knowledge.onQueue {
                let embedder = try knowledge.embedder()
                return (try embedder.embed(inputs), inputs.reduce(0) { $0 + embedder.tokenCount($1) })
            }
        } catch {
            throw OpenAIError(status: .serviceUnavailable, message: "\(error)", type: "server_error", param: nil, code: "embedder_unavailable")
        }
        struct Item: Encodable {
            var object = "embedding"
            var index: Int
            var embedding: Value
        }
        enum Value: Encodable {
            case floats([Float])
            case base64(String)
            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .floats(let values): try c.encode(values.map(Double.init))
                case .base64(let text): try c.encode(text)
                }
            }
        }
        struct Usage: Encodable { var prompt_tokens: Int; var total_tokens: Int }
        struct List: Encodable {
            var object = "list"
            var data: [Item]
            var model: String
            var usage: Usage
        }
        let items = vectors.enumerated().map { index, vector in
            Item(index: index, embedding: body.base64 ? .base64(Self.base64(vector)) : .floats(vector))
        }
        NodeMetrics.shared.add("kiln_embedding_inputs_total", Double(inputs.count))
        return JSON.response(List(data: items, model: DefaultEmbedder.name, usage: Usage(prompt_tokens: tokens, total_tokens: tokens)))
    }

    /// Little-endian float32 bytes in base64, as numpy's `frombuffer(dtype="float32")` in the client reads them.
    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
