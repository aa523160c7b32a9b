// The syntax tree the parser builds and the evaluator walks; shaped after jinja2's nodes.py
// but only for the statements and expressions chat templates use.

/// An expression node.
indirect enum TemplateExpression: Sendable {
    case literal(TemplateValue)
    case name(String, SourceLocation)
    case list([TemplateExpression])
    case dict([(TemplateExpression, TemplateExpression)])
    case attribute(TemplateExpression, String, SourceLocation)
    case item(TemplateExpression, TemplateExpression, SourceLocation)
    case slice(TemplateExpression, start: TemplateExpression?, stop: TemplateExpression?, step: TemplateExpression?, SourceLocation)
    case negate(TemplateExpression, SourceLocation)
    case positive(TemplateExpression, SourceLocation)
    case not(TemplateExpression)
    case and(TemplateExpression, TemplateExpression)
    case or(TemplateExpression, TemplateExpression)
    /// Arithmetic and `~`: the operator is its source spelling.
    case binary(String, TemplateExpression, TemplateExpression, SourceLocation)
    /// A comparison chain `a < b <= c`; operators include "in" and "notin".
    case compare(TemplateExpression, [(String, TemplateExpression)], SourceLocation)
    case test(TemplateExpression, name: String, arguments: TemplateArguments, negated: Bool, SourceLocation)
    case filter(TemplateExpression, name: String, arguments: TemplateArguments, SourceLocation)
    case call(TemplateExpression, TemplateArguments, SourceLocation)
    case conditional(then: TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
}

/// Positional and keyword arguments of a call, filter or test.
struct TemplateArguments: Sendable {
    var positional: [TemplateExpression] = []
    var keyword: [(String, TemplateExpression)] = []
}

/// What a `{% set %}` assigns to.
enum TemplateSetTarget: Sendable {
    case names([String])
    case attribute(String, String)
}

/// A statement node; a template is a list of them.
indirect enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpression)
    case ifChain([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode])
    case forLoop(TemplateForLoop)
    case set(TemplateSetTarget, TemplateExpression, SourceLocation)
    case setBlock(String, [TemplateNode])
    case macro(TemplateMacro)
    case callBlock(TemplateExpression, [TemplateNode], SourceLocation)
    case filterBlock(name: String, arguments: TemplateArguments, body: [TemplateNode], SourceLocation)
    case breakLoop(SourceLocation)
    case continueLoop(SourceLocation)
}

/// `{% for targets in iterable if condition %}body{% else %}otherwise{% endfor %}`.
struct TemplateForLoop: Sendable {
    var targets: [String]
    var iterable: TemplateExpression
    var condition: TemplateExpression?
    var body: [TemplateNode]
    var otherwise: [TemplateNode]
    var location: SourceLocation
}

/// `{% macro name(parameters) %}body{% endmacro %}`.
struct TemplateMacro: Sendable {
    var name: String
    var parameters: [(String, TemplateExpression?)]
    var body: [TemplateNode]
}
