// The one error type of the chat-template interpreter: every failure, from lexing to rendering,
// surfaces here with a position so a bad tokenizer_config.json can be pointed at precisely.

/// Why a chat template could not be parsed or rendered.
public enum ChatTemplateError: Error, Equatable, Sendable {
    /// The template source is not valid Jinja (as far as this subset understands it).
    case syntax(message: String, line: Int, column: Int)
    /// Rendering failed: a type error, an undefined value used in arithmetic, an unknown filter.
    case runtime(message: String, line: Int, column: Int)
    /// The template called `raise_exception(message)`; transformers surfaces it as `TemplateError`.
    case raised(message: String, line: Int, column: Int)
    /// Nesting, recursion or output size went past the interpreter's safety limits.
    case limitExceeded(message: String, line: Int, column: Int)
    /// A JSON value handed to the renderer could not be decoded.
    case invalidJSON(message: String, offset: Int)

    /// The human-readable message, without the position.
    public var message: String {
        switch self {
        case .syntax(let message, _, _), .runtime(let message, _, _), .raised(let message, _, _),
             .limitExceeded(let message, _, _), .invalidJSON(let message, _):
            return message
        }
    }

    /// The 1-based line the error points at (0 for JSON input errors).
    public var line: Int {
        switch self {
        case .syntax(_, let line, _), .runtime(_, let line, _), .raised(_, let line, _),
             .limitExceeded(_, let line, _):
            return line
        case .invalidJSON: return 0
        }
    }
}

extension ChatTemplateError: CustomStringConvertible {
    /// A sentence naming the kind of failure, its position and its message.
    public var description: String {
        switch self {
        case .syntax(let message, let line, let column):
            return "chat template syntax error at \(line):\(column): \(message)"
        case .runtime(let message, let line, let column):
            return "chat template error at \(line):\(column): \(message)"
        case .raised(let message, _, _):
            return "TemplateError: \(message)"
        case .limitExceeded(let message, let line, let column):
            return "chat template limit exceeded at \(line):\(column): \(message)"
        case .invalidJSON(let message, let offset):
            return "invalid JSON at byte \(offset): \(message)"
        }
    }
}

/// A 1-based line and column in the template source.
struct SourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int

    static let unknown = SourceLocation(line: 0, column: 0)
}
