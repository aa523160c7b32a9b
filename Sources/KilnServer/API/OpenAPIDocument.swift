// The OpenAPI 3.1 description of the JSON API, built from the same endpoint table the router uses.
import Foundation
import KilnAPI
import HTTPTypes
import Hummingbird
import KilnData

/// One API route: what the router serves and what the OpenAPI document says of it.
struct Endpoint: Sendable {
    /// Who may call it.
    enum Access: Sendable {
        case anyone
        case user
        case curator
    }

    /// What the request carries.
    enum Body: Sendable {
        case none
        case json(String)
        case upload
    }

    let method: HTTPRequest.Method
    let path: String
    let summary: String
    let tag: String
    let access: Access
    let body: Body
    let status: Int
    let query: [String]
    let produces: String
    let handler: @Sendable (Request, KilnContext) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String, _ summary: String, tag: String, auth: Access = .anyone, body: Body = .none,
         status: Int = 200, paged: Bool = false, query: [String] = [], produces: String = "application/json",
         use handler: @escaping @Sendable (Request, KilnContext) async throws -> Response) {
        self.method = method
        self.path = path
        self.summary = summary
        self.tag = tag
        access = auth
        self.body = body
        self.status = status
        self.query = paged ? ["limit", "cursor"] + query : query
        self.produces = produces
        self.handler = handler
    }
}

/// Builds the OpenAPI document served at `/api/openapi.json`.
enum OpenAPIDocument {
    /// The document for `endpoints`.
    static func build(_ endpoints: [Endpoint]) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for endpoint in endpoints {
            // Hummingbird writes parameters as ":name"; OpenAPI as "{name}".
            let segments = endpoint.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            let path = "/api/" + segments.joined(separator: "/")
            var parameters: [JSONValue] = segments.filter { $0.hasPrefix("{") }.map { segment in
                .object(["name": .string(String(segment.dropFirst().dropLast())), "in": "path", "required": .bool(true),
                         "schema": .object(["type": "string"])])
            }
            parameters += endpoint.query.map { name in
                .object(["name": .string(name), "in": "query", "required": .bool(false), "schema": .object(["type": "string"])])
            }
            var operation: [String: JSONValue] = [
                "summary": .string(endpoint.summary),
                "tags": .array([.string(endpoint.tag)]),
                "parameters": .array(parameters),
                "responses": responses(endpoint),
            ]
            if endpoint.access != .anyone {
                operation["security"] = .array([.object(["bearer": .array([])])])
                if endpoint.access == .curator { operation["description"] = "Curators of the Datanet and admins only." }
            }
            switch endpoint.body {
            case .none: break
            case .json(let schema):
                operation["requestBody"] = .object(["required": .bool(true), "content": .object([
                    "application/json": .object(["schema": .object(["$ref": .string("#/components/schemas/\(schema)")])]),
                ])])
            case .upload:
                operation["requestBody"] = .object(["required": .bool(true), "content": .object([
                    "application/json": .object(["schema": .object(["description": "One item (or an array) in the Datanet's schema"])]),
                    "application/x-ndjson": .object(["schema": .object(["type": "string", "description": "One item per line"])]),
                    "multipart/form-data": .object(["schema": .object(["type": "object", "properties": .object([
                        "file": .object(["type": "array", "items": .object(["type": "string", "format": "binary"])]),
                    ])])]),
                ])])
            }
            paths[path, default: [:]][endpoint.method.rawValue.lowercased()] = .object(operation)
        }
        return .object([
            "openapi": "3.1.0",
            "info": .object(["title": "Kiln API", "version": "1",
                             "description": "Datanets, submissions, reviews, versions and the ledger. Errors are {\"error\":{\"code\",\"message\"}}."]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "securitySchemes": .object(["bearer": .object(["type": "http", "scheme": "bearer"])]),
                "schemas": schemas,
            ]),
        ])
    }

    private static func responses(_ endpoint: Endpoint) -> JSONValue {
        var responses: [String: JSONValue] = [
            String(endpoint.status): .object(["description": "Success", "content": .object([endpoint.produces: .object([:])])]),
            "4XX": .object(["description": "Refused", "content": .object([
                "application/json": .object(["schema": .object(["$ref": "#/components/schemas/Error"])]),
            ])]),
        ]
        if endpoint.status == 204 { responses["204"] = .object(["description": "Done"]) }
        return .object(responses)
    }

    private static func string(_ description: String) -> JSONValue {
        .object(["type": "string", "description": .string(description)])
    }

    /// The settings of a training run, shared by the Datanet-version route and `POST /api/runs`.
    private static let trainingSettings: [String: JSONValue] = [
        "base": string("A base model on this node: default (SmolLM2-135M-Instruct) or a name in its models directory"),
        "lora_r": .object(["type": "integer"]), "lora_alpha": .object(["type": "number"]), "lora_dropout": .object(["type": "number"]),
        "use_rslora": .object(["type": "boolean"]),
        "target_modules": .object(["type": "array", "items": .object(["type": "string"]), "description": "Module names or [\"all-linear\"]"]),
        "learning_rate": .object(["type": "number"]), "epochs": .object(["type": "integer"]), "max_steps": .object(["type": "integer"]),
        "micro_batch_size": .object(["type": "integer"]), "gradient_accumulation": .object(["type": "integer"]),
        "max_length": .object(["type": "integer"]),
        "lr_scheduler": .object(["enum": .array(["constant", "constant_with_warmup", "linear", "cosine"])]),
        "warmup_steps": .object(["type": "integer"]), "weight_decay": .object(["type": "number"]),
        "max_grad_norm": .object(["type": "number"]), "seed": .object(["type": "integer"]), "shuffle": .object(["type": "boolean"]),
        "qlora": .object(["enum": .array(["nf4"])]), "checkpoint_every": .object(["type": "integer"]),
        "private": .object(["type": "boolean", "description": "Seen by its owner and admins only"]),
    ]

    private static let schemas: JSONValue = .object([
        "Error": .object(["type": "object", "properties": .object([
            "error": .object(["type": "object", "required": .array(["code", "message"]), "properties": .object([
                "code": string("Machine-readable code"), "message": string("A sentence for people"),
                "resets_at": string("For 429 on a daily limit: when it resets (ISO 8601)"),
            ])]),
        ])]),
        "PasswordRequest": .object(["type": "object", "required": .array(["username", "password"]), "additionalProperties": .bool(false),
                                    "properties": .object(["username": string("3–32 letters, digits, . - _"), "password": string("8–72 bytes")])]),
        "PasswordChangeRequest": .object(["type": "object", "required": .array(["current_password", "new_password"]),
                                          "additionalProperties": .bool(false),
                                          "properties": .object(["current_password": string("The password now"),
                                                                 "new_password": string("8–72 bytes, no NUL")])]),
        "TrainingJobRequest": .object(["type": "object", "additionalProperties": .bool(false), "properties": .object(trainingSettings)]),
        "RunRequest": .object(["type": "object", "required": .array(["datanet", "version"]), "additionalProperties": .bool(false),
                               "properties": .object(trainingSettings.merging([
                                   "datanet": string("The Datanet's slug"), "version": .object(["type": "integer", "description": "A published version number"]),
                               ]) { $1 })]),
        "ConversationRequest": .object(["type": "object", "required": .array(["title", "turns"]), "additionalProperties": .bool(false),
                                        "properties": .object(["title": string("1–200 characters"),
                                                               "turns": .object(["type": "array", "description": "The Chat page's turns, at most 1 MiB"])])]),
        "KnowledgeBaseRequest": .object(["type": "object", "required": .array(["name"]), "additionalProperties": .bool(false),
                                         "properties": .object([
                                            "name": string("1–100 characters"), "description": string("At most 2000 characters"),
                                            "is_public": .object(["type": "boolean", "description": "Every signed-in user may search it"]),
                                            "max_tokens": .object(["type": "integer", "description": "Chunk budget in word pieces (default 200)"]),
                                            "overlap_tokens": .object(["type": "integer", "description": "Overlap between chunks (default 32)"]),
                                            "k1": .object(["type": "number", "description": "BM25 k1 (default 1.5)"]),
                                            "b": .object(["type": "number", "description": "BM25 b (default 0.75)"]),
                                            "m": .object(["type": "integer", "description": "HNSW M (default 16)"]),
                                            "ef_construction": .object(["type": "integer", "description": "HNSW efConstruction (default 200)"]),
                                            "ef_search": .object(["type": "integer", "description": "HNSW efSearch (default 64)"]),
                                         ])]),
        "KnowledgeSearchRequest": .object(["type": "object", "required": .array(["query"]), "additionalProperties": .bool(false),
                                           "properties": .object([
                                              "query": string("1–4000 characters"), "mode": .object(["enum": .array(["bm25", "dense", "hybrid"])]),
                                              "limit": .object(["type": "integer", "description": "1–100 (default 10)"]),
                                              "rerank": .object(["type": "boolean", "description": "Reorder by maximal marginal relevance"]),
                                           ])]),
        "KnowledgeVersionRequest": .object(["type": "object", "required": .array(["datanet", "version"]), "additionalProperties": .bool(false),
                                            "properties": .object(["datanet": string("The Datanet's slug"),
                                                                   "version": .object(["type": "integer", "description": "A published version number"])])]),
        "CuratorRequest": .object(["type": "object", "required": .array(["username"]), "additionalProperties": .bool(false),
                                   "properties": .object(["username": string("The user to add")])]),
        "ReviewRequest": .object(["type": "object", "required": .array(["decision"]), "additionalProperties": .bool(false),
                                  "properties": .object(["decision": .object(["enum": .array(["accept", "reject"])]),
                                                         "reason": string("Required to reject")])]),
        "CreateDatanetRequest": .object(["type": "object", "required": .array(["slug", "title", "kind"]), "additionalProperties": .bool(false),
                                         "properties": .object([
                                            "slug": string("2–48 lowercase letters, digits or -"), "title": string("Display title"),
                                            "description": string("What it is for"), "kind": .object(["enum": .array(["text", "image", "audio"])]),
                                            "schema": .object(["enum": .array(["plain", "instruction", "chat"])]), "license": string("SPDX id"),
                                            "rules": .object(["type": "object", "additionalProperties": .bool(false), "properties": .object([
                                                "formats": .object(["type": "array", "items": .object(["type": "string"])]),
                                                "max_item_bytes": .object(["type": "integer"]), "daily_limit": .object(["type": "integer"]),
                                                "min_chars": .object(["type": "integer"]), "max_chars": .object(["type": "integer"]),
                                                "min_pixels": .object(["type": "integer"]), "max_pixels": .object(["type": "integer"]),
                                                "min_seconds": .object(["type": "number"]), "max_seconds": .object(["type": "number"]),
                                                "validation_percent": .object(["type": "integer"]),
                                            ])]),
                                         ])]),
    ])
}
