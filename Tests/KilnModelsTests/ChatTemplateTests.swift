// Focused interpreter tests. Every expected string was produced by jinja2 3.1.6 configured as transformers
// configures it, with transformers' tojson override (json.dumps, ensure_ascii=False):
//
//   env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
//   env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: \
//       json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
//   env.from_string(source).render(**ChatTemplateTests.context)
import Foundation
import KilnModels
import Testing

/// A template source and jinja2's rendering of it.
struct JinjaCase: Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    var expected: String
    init(_ name: String, _ source: String, _ expected: String) {
        self.name = name
        self.source = source
        self.expected = expected
    }
    var testDescription: String { name }
}

@Suite("Chat template interpreter")
struct ChatTemplateTests {
    /// The Python context: msgs=[{"role":"user","content":" Hi "},{"role":"assistant","content":"Yo"}],
    /// d={"b":1,"a":[1,2.5,None,True],"c":"é\"<>&\n"}, s="Hello World", n=7, f=2.5, items=[3,1,2],
    /// users=[{"name":"b","age":3},{"name":"a","age":1,"x":True}].
    static let context: [String: TemplateValue] = [
        "msgs": [["role": "user", "content": " Hi "], ["role": "assistant", "content": "Yo"]],
        "d": ["b": 1, "a": [1, 2.5, nil, true], "c": "é\"<>&\n"],
        "s": "Hello World", "n": 7, "f": 2.5, "items": [3, 1, 2],
        "users": [["name": "b", "age": 3], ["name": "a", "age": 1, "x": true]],
    ]

    /// Tuples are lists here, so `{{ (1, 2) }}` prints `[1, 2]` where Python prints `(1, 2)`; no case prints one.
    static let cases: [JinjaCase] = [
        JinjaCase("trim_blocks", "{% if true %}\nA\n{% endif %}\nB",
                  "A\nB"),
        JinjaCase("lstrip_blocks", "X\n    {% if true %}\n    A\n    {% endif %}\nB",
                  "X\n    A\nB"),
        JinjaCase("dash_strip", "a   {{- 'b' -}}   \n c {%- if true -%}  d  {%- endif %}",
                  "abcd"),
        JinjaCase("plus_keeps", "X\n  {%+ if true %}A{% endif %}",
                  "X\n  A"),
        JinjaCase("comment", "a {# note #}\n  {#- x -#}  b\n{# c #}\nd",
                  "a b\nd"),
        JinjaCase("raw", "{% raw %}{{ x }}{% if %}{% endraw %}!",
                  "{{ x }}{% if %}!"),
        JinjaCase("loop_vars", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %}",
                  "10TrueFalse33|21FalseFalse32|32FalseTrue31|"),
        JinjaCase("loop_prev_next", "{% for x in items %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }};{% endfor %}",
                  "-3-1;3-1-2;1-2-;"),
        JinjaCase("loop_filter_else", "{% for x in items if x > 1 %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}{% for x in [] %}a{% else %}empty{% endfor %}",
                  "3/2 2/2 empty"),
        JinjaCase("loop_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
                  "b=1;a=[1, 2.5, None, True];c=é\"<>&\n;"),
        JinjaCase("loop_break", "{% for x in items %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}{% for x in items %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
                  "3132"),
        JinjaCase("loop_scope", "{% set y = 1 %}{% for x in items %}{% set y = x %}{% endfor %}{{ y }}",
                  "1"),
        JinjaCase("namespace", "{% set ns = namespace(total=0, s='') %}{% for x in items %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}",
                  "6"),
        JinjaCase("set_block", "{% set greeting %}Hi {{ s }}{% endset %}[{{ greeting }}]",
                  "[Hi Hello World]"),
        JinjaCase("macro", "{% macro tag(name, cls='x') %}<{{ name }} {{ cls }}>{% endmacro %}{{ tag('a') }}{{ tag('b', cls='y') }}",
                  "<a x><b y>"),
        JinjaCase("literals", "{{ 'a\\tb\\n' }}{{ \"q'\" }}{{ 1_000 }} {{ 1.5e3 }} {{ [1, 'x', none, true, 2.0] }} {{ {'k': [1]} }}",
                  "a\tb\nq'1000 1500.0 [1, 'x', None, True, 2.0] {'k': [1]}"),
        JinjaCase("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }}",
                  "3 -4 2 3.5 2.0 1024 ababab 7 9 5"),
        JinjaCase("concat", "{{ 1 ~ 'a' ~ none ~ true ~ undefined_thing }}",
                  "1aNoneTrue"),
        JinjaCase("compare", "{{ 1 < 2 < 3 }} {{ 'a' in 'cat' }} {{ 3 not in items }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'b' > 'a' }} {{ [1,2] == [1,2] }}",
                  "True True False True True True True"),
        JinjaCase("logic", "{{ none or 'x' }} {{ 0 and 1 }} {{ not 0 }} {{ 'a' if false else 'b' }} {{ 'a' if true }}[{{ 'a' if false }}]",
                  "x 0 True b a[]"),
        JinjaCase("slices", "{{ s[::-1] }} {{ s[1:4] }} {{ s[-5:] }} {{ items[1:] }} {{ items[:-1] }} {{ items[::2] }} {{ s[0] }} {{ items[-1] }}",
                  "dlroW olleH ell World [1, 2] [3, 1] [3, 2] H 2"),
        JinjaCase("tests", "{{ x is defined }} {{ n is defined }} {{ none is none }} {{ s is string }} {{ n is number }} {{ d is mapping }} {{ items is iterable }} {{ s is sequence }} {{ true is boolean }} {{ n is odd }} {{ n is even }} {{ n is divisibleby 7 }} {{ n is eq 7 }} {{ n is not none }} {{ true is true }} {{ 1 is false }}",
                  "False True True True True True True True True True False True True True True False"),
        JinjaCase("undefined", "[{{ missing }}]{% for x in missing %}a{% endfor %}{{ missing is undefined }}{{ d.nokey is defined }}{{ missing | default('dflt') }}{{ '' | default('e', true) }}{{ missing|length }}",
                  "[]TrueFalsedflte0"),
        JinjaCase("string_filters", "{{ '  x y  ' | trim }}|{{ s | upper }}|{{ s | lower }}|{{ 'hello wORLD-foo (bar' | title }}|{{ 'hELLO' | capitalize }}|{{ s | replace('o', '0') }}|{{ s | length }}|{{ s | wordcount }}|{{ s | reverse }}",
                  "x y|HELLO WORLD|hello world|Hello World-Foo (Bar|Hello|Hell0 W0rld|11|2|dlroW olleH"),
        JinjaCase("list_filters", "{{ items | join(', ') }}|{{ items | first }}|{{ items | last }}|{{ items | sort }}|{{ items | sort(reverse=true) }}|{{ [1,2,1,3] | unique | list }}|{{ items | reverse | list }}|{{ items | length }}|{{ items | count }}|{{ items | sum }}|{{ items | min }}|{{ items | max }}",
                  "3, 1, 2|3|2|[1, 2, 3]|[3, 2, 1]|[1, 2, 3]|[2, 1, 3]|3|3|6|1|3"),
        JinjaCase("attr_filters", "{{ users | map(attribute='name') | join(',') }}|{{ users | selectattr('x') | list | length }}|{{ users | rejectattr('x') | map(attribute='name') | first }}|{{ users | selectattr('age', 'gt', 1) | map(attribute='name') | list }}|{{ users | sort(attribute='age') | map(attribute='name') | join }}",
                  "b,a|1|b|['b']|ab"),
        JinjaCase("num_filters", "{{ '42' | int }} {{ 'x' | int }} {{ 3.9 | int }} {{ '2.5' | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 7 | string }}{{ 3 | float }}",
                  "42 0 3 2.5 3 2.57 2.0 73.0"),
        JinjaCase("dict_access", "{{ d.b }} {{ d['a'][1] }} {{ d.get('zz', 'no') }} {{ d.get('b') }} {{ d.keys() | list }} {{ d.values() | list | length }} {{ d | items | list | length }} {{ d | length }}",
                  "1 2.5 no 1 ['b', 'a', 'c'] 3 3 3"),
        JinjaCase("tojson", "{{ d | tojson }}\n{{ d | tojson(indent=4) }}\n{{ users | tojson(indent=2) }}\n{{ [] | tojson(indent=2) }}{{ {} | tojson }}",
                  "{\"b\": 1, \"a\": [1, 2.5, null, true], \"c\": \"é\\\"<>&\\n\"}\n{\n    \"b\": 1,\n    \"a\": [\n        1,\n        2.5,\n        null,\n        true\n    ],\n    \"c\": \"é\\\"<>&\\n\"\n}\n[\n  {\n    \"name\": \"b\",\n    \"age\": 3\n  },\n  {\n    \"name\": \"a\",\n    \"age\": 1,\n    \"x\": true\n  }\n]\n[]{}"),
        JinjaCase("tojson_opts", "{{ d | tojson(sort_keys=true) }}\n{{ d | tojson(ensure_ascii=true) }}\n{{ d | tojson(separators=(',', ':')) }}\n{{ 1.0 | tojson }} {{ 'a\\u0001' | tojson }}",
                  "{\"a\": [1, 2.5, null, true], \"b\": 1, \"c\": \"é\\\"<>&\\n\"}\n{\"b\": 1, \"a\": [1, 2.5, null, true], \"c\": \"\\u00e9\\\"<>&\\n\"}\n{\"b\":1,\"a\":[1,2.5,null,true],\"c\":\"é\\\"<>&\\n\"}\n1.0 \"a\\u0001\""),
        JinjaCase("escape", "{{ '<a href=\"x\">&\\'' | e }} {{ s | safe }}",
                  "&lt;a href=&#34;x&#34;&gt;&amp;&#39; Hello World"),
        JinjaCase("indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}",
                  "a\n  b\n\n  c|  a\n  b|a\n  \n  b"),
        JinjaCase("str_methods", "{{ ' a '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ ' a '.lstrip() }}|{{ ' a '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ s.startswith('He') }}|{{ s.endswith(('x', 'ld')) }}|{{ s.upper() }}|{{ s.lower() }}|{{ s.replace('l', 'L', 2) }}|{{ \"they're bill's\".title() }}|{{ '{} and {}'.format('a', 1) }}",
                  "a|a|a | a|['a', 'b', '', 'c']|['a', 'b']|True|True|HELLO WORLD|hello world|HeLLo World|They'Re Bill'S|a and 1"),
        JinjaCase("messages_like", "{% for m in msgs %}{{ m.role }}:{{ m['content'] | trim }}{% if not loop.last %}\n{% endif %}{% endfor %}",
                  "user:Hiassistant:Yo"),
        JinjaCase("if_elif", "{% for x in [1,2,3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}",
                  "one two many "),
        JinjaCase("unicode_len", "{{ 'é👨‍👩‍👧' | length }} {{ 'añb'[1] }} {{ 'héllo' | upper }}",
                  "6 ñ HÉLLO"),
        JinjaCase("nested_ns", "{% set ns = namespace(found=false) %}{% for m in msgs %}{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}",
                  "True"),
        JinjaCase("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = [1, 2] %}{{ c }}",
                  "12[1, 2]"),
        JinjaCase("loop_cycle", "{% for x in items %}{{ loop.cycle('o', 'e') }}{% endfor %}",
                  "oeo"),
        JinjaCase("print_float", "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.0 }} {{ 3 / 3 }} {{ 1e-7 }} {{ 123456789.123 }}",
                  "0.30000000000000004 1e+20 1.0 1.0 1e-07 123456789.123"),
        JinjaCase("dictsort", "{% for k, v in d | dictsort %}{{ k }};{% endfor %}",
                  "a;b;c;"),
        JinjaCase("filter_block", "{% filter upper %}hello {{ s }}{% endfilter %}",
                  "HELLO HELLO WORLD"),
        JinjaCase("trailing_newline", "a\n{% if true %}\nb\n{% endif %}\n",
                  "a\nb\n"),
        JinjaCase("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc",
                  "a\nb\nc"),
        JinjaCase("lstrip_midline", "a  {% if true %}b{% endif %}\n  {% if true %}c{% endif %}\n\t{# c #}\nd",
                  "a  bcd"),
        JinjaCase("trim_dash_mix", "{% for x in [1,2] -%}\n  {{ x }}\n{%- endfor %}\n{% if true %}\n\n x{% endif %}",
                  "12\n x"),
        JinjaCase("unicode_escape", "{{ '\\u00e9\\x41\\U0001F600' }}{{ 'a' 'b' }}",
                  "éA😀ab"),
        JinjaCase("loop_more", "{% for x in items %}{{ loop.revindex0 }}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}[{{ loop }}]",
                  "210110010[]"),
        JinjaCase("default_none", "{{ x|default(none) is none }} {{ d['missing'] is defined }} {{ not none is none }} {{ true and 'x' or 'y' }}",
                  "True False False x"),
        JinjaCase("unary_pow", "{{ -2 ** 2 }} {{ 2 ** -1 }} {{ 10 / 4 }} {{ 1e3|int }} {{ -7.5 // 2 }} {{ 7.5 % 2 }} {{ 'x' * 0 }}|",
                  "4 0.5 2.5 1000 -4.0 1.5 |"),
        JinjaCase("ranges", "{{ 'abc'|list }} {{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }}",
                  "['a', 'b', 'c'] [0, 1, 2] [1, 4, 7] [5, 3, 1]"),
        JinjaCase("tojson_scalars", "{{ none|tojson }} {{ 'x <'|tojson }} {{ 3.0|tojson }} {{ 1e20|tojson }} {{ true|tojson }} {{ 'é'|tojson(ensure_ascii=true) }} {{ [1,[2,{}]]|tojson(indent=1) }}",
                  "null \"x <\" 3.0 1e+20 true \"\\u00e9\" [\n 1,\n [\n  2,\n  {}\n ]\n]"),
        JinjaCase("string_ops", "{{ 'Hello'[1:3] }} {{ ('a', 'b')|join }} {{ 'a b c'.split(' ', 1) }} {{ '  x\\n'.rstrip() }}| {{ 5|string|length }} {{ [3,1]|sort|first }} [{{ 'x'|center(5) }}] {{ 'abc' < 'abd' }}",
                  "el ab ['a', 'b c']   x| 1 1 [  x  ] True"),
        JinjaCase("sort_unique", "{{ ['b','A','a']|sort }} {{ ['b','A','a']|unique|list }} {{ ['b','A','a']|sort(case_sensitive=true) }} {{ dict(a=1, b=2)|tojson }}",
                  "['A', 'a', 'b'] ['b', 'A'] ['A', 'a', 'b'] {\"a\": 1, \"b\": 2}"),
        JinjaCase("ns_list", "{% set ns = namespace(a=[]) %}{% set ns.a = ns.a + [1] %}{% set ns.a = ns.a + [2] %}{{ ns.a }} {{ ns.a|length }}",
                  "[1, 2] 2"),
        JinjaCase("caller", "{% macro w(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call w('p') %}in{% endcall %}",
                  "<p>in</p>"),
        JinjaCase("cond_chain", "{{ 1 if 0 else 2 if 0 else 3 }} {{ msgs[-1]['content'] }} {{ msgs|map(attribute='role')|list }}",
                  "3 Yo ['user', 'assistant']"),
        JinjaCase("nested_loops", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }},{% endfor %}{{ loop.index }};{% endfor %}",
                  "113,214,1;123,224,2;"),
        JinjaCase("rounding", "{{ 0.1|round(1) }} {{ 2.675|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ -0.5|round }}",
                  "0.1 2.67 2.0 4.0 3.0 2.0 -0.0"),
        JinjaCase("percent_format", "{{ '%s has %d items'|format('x', 3) }} {{ '%s-%s' % ('a', 'b') }} {{ '%.2f' % 3.14159 }} {{ '100%%' % () }} {{ '%5s|%-4d|' % ('ab', 7) }}",
                  "x has 3 items a-b 3.14 100%    ab|7   |"),
        JinjaCase("in_tests", "{{ 2 is in [1,2] }} {{ 'a' is lower }} {{ 'A' is upper }} {{ none is sameas none }} {{ 3 is gt 2 }} {{ 3 is ge 3 }} {{ 'x' is ne 'y' }} {{ len is callable }} {{ range is callable }}",
                  "True True True True True True True True True"),
        JinjaCase("attr_undefined_chain", "{{ d.a[0] }}{{ d.nope is defined }}{{ (d.nope or 'fallback') }}{{ d.get('nope', {}).x is defined }}",
                  "1FalsefallbackFalse"),
        JinjaCase("set_in_if_in_loop", "{% for m in msgs %}{% if loop.first %}{% set c = 'F' %}{% else %}{% set c = 'R' %}{% endif %}{{ c }}{% endfor %}{{ c }}",
                  "FR"),
        JinjaCase("string_iter", "{% for ch in 'héy' %}{{ ch }}.{% endfor %}{% for k in d %}{{ k }}{% endfor %}",
                  "h.é.y.bac"),
        JinjaCase("whitespace_text", "  {{ s }}  \n    {%- if true %} x {% endif -%}   \n  y",
                  "  Hello World x y"),
        JinjaCase("escape_filter_types", "{{ 5|e }} {{ none|e }} {{ [1]|e }} {{ '<'|forceescape }}",
                  "5 None [1] &lt;"),
        JinjaCase("list_concat_mul", "{{ [1] + [2] }} {{ [0] * 3 }} {{ items + [4] }} {{ 2 * 'ab' }}",
                  "[1, 2] [0, 0, 0] [3, 1, 2, 4] abab"),
        JinjaCase("int_float_print", "{{ 1 + 1.0 }} {{ 3 * 1.5 }} {{ 2 ** 0.5 }} {{ 10 // 3.0 }} {{ 1/3 }} {{ 100000000000000000000.0 }} {{ 12345678901234567.0 }}",
                  "2.0 4.5 1.4142135623730951 3.0 0.3333333333333333 1e+20 1.2345678901234568e+16"),
        JinjaCase("title_cap", "{{ 'hello   world'|title }} {{ 'ÉCOLE élève'|title }} {{ 'a-b_c d'|title }} {{ 'hELLO wORLD'.capitalize() }}",
                  "Hello   World École Élève A-B_c D Hello world"),
        JinjaCase("items_filter_loop", "{% for k, v in d|items if k != 'a' %}{{ k }}{{ loop.length }}{% endfor %}",
                  "b2c2"),
        JinjaCase("wordcount_indent", "{{ 'one, two  three-four'|wordcount }} {{ 'a\\nb'|indent('> ') }}",
                  "4 a\n> b"),

        // transformers' tojson takes ensure_ascii as its first positional argument.
        JinjaCase("tojson_positional", "{{ d|tojson(true) }}|{{ d|tojson(false, 2) }}",
                  "{\"b\": 1, \"a\": [1, 2.5, null, true], \"c\": \"\\u00e9\\\"<>&\\n\"}|{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"c\": \"é\\\"<>&\\n\"\n}"),
    ]

    @Test("Renders exactly as jinja2 3.1.6 does", arguments: cases)
    func matchesJinja(_ c: JinjaCase) throws {
        let output = try ChatTemplate(source: c.source).render(context: Self.context)
        #expect(output == c.expected)
    }

    static func renderError(_ source: String) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source).render(context: context)
            return nil
        } catch {
            return error
        }
    }

    @Test("raise_exception surfaces as .raised with its message and position")
    func raiseException() {
        let error = Self.renderError("ok\n{{ raise_exception('Only user and assistant roles are supported!') }}")
        #expect(error == .raised(message: "Only user and assistant roles are supported!", line: 2, column: 4))
        #expect(error.map { "\($0)" } == "TemplateError: Only user and assistant roles are supported!")
    }

    // jinja2: UndefinedError 'foo' is undefined / 'dict object' has no attribute 'x';
    // TypeError: unsupported operand type(s) for +: 'int' and 'str' / can only concatenate str (not "NoneType") to str.
    @Test("Undefined values fail where jinja2's default Undefined fails")
    func undefinedFailures() {
        #expect(Self.renderError("{{ foo.bar }}")?.message == "'foo' is undefined")
        #expect(Self.renderError("{{ foo['x'] }}")?.message == "'foo' is undefined")
        #expect(Self.renderError("{{ d.x.y }}")?.message == "'dict object' has no attribute 'x'")
        #expect(Self.renderError("{{ foo + 'x' }}")?.message == "'foo' is undefined")
        #expect(Self.renderError("{{ 1 + '2' | string }}")?.message == "unsupported operand type(s) for +: 'int' and 'str'")
        #expect(Self.renderError("{{ 'a' + none }}")?.message == "can only concatenate str (not \"NoneType\") to str")
        #expect(Self.renderError("{{ [1] + 2 }}")?.message == "can only concatenate list (not \"int\") to list")
    }

    @Test("Syntax errors carry line and column")
    func syntaxErrors() {
        #expect(Self.renderError("a\n{% if x %}b") == .syntax(message: "unexpected end of template, expected one of [\"elif\", \"else\", \"endif\"]", line: 2, column: 12))
        #expect(Self.renderError("{{ 'abc }}") == .syntax(message: "unterminated string", line: 1, column: 4))
        #expect(Self.renderError("{% frobnicate %}") == .syntax(message: "unknown or unsupported statement 'frobnicate'", line: 1, column: 4))
        #expect(Self.renderError("{{ x | nosuchfilter }}")?.message == "No filter named 'nosuchfilter'.")
        #expect(Self.renderError("{# open") == .syntax(message: "unterminated comment", line: 1, column: 1))
    }

    @Test("Deep nesting is refused, not a stack overflow")
    func nestingLimit() {
        let deep = "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}"
        guard case .limitExceeded? = Self.renderError(deep) else {
            Issue.record("expected limitExceeded")
            return
        }
        let macro = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"
        guard case .limitExceeded? = Self.renderError(macro) else {
            Issue.record("expected limitExceeded for runaway recursion")
            return
        }
    }

    @Test("Hostile arithmetic and ever-deeper values hit limits instead of trapping or overflowing the stack")
    func runawayValues() {
        let hostile = [
            "{{ range(-9223372036854775807, 9223372036854775807) | length }}",
            "{{ 'ab' * 9223372036854775807 }}",
            "{{ [1] * 4611686018427387904 }}",
            "{{ 9223372036854775807 + 1 }}",
            "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
            "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = dict(a=ns.x) %}{% endfor %}{{ ns.x }}",
            "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x.index] %}{% endfor %}{{ ns.x }}",
        ]
        for source in hostile {
            guard case .limitExceeded? = Self.renderError(source) else {
                Issue.record("expected limitExceeded for \(source), got \(String(describing: Self.renderError(source)))")
                continue
            }
        }
    }

    @Test("render(messages:) passes what apply_chat_template passes")
    func messagesAPI() throws {
        let template = try ChatTemplate(source: "{{ bos_token is defined }}|{{ tools is none }}|{{ add_generation_prompt }}|"
            + "{% for m in messages %}{{ m.role }}={{ m.content }}{{ m.tool_calls | length }};{% endfor %}{{ eos_token }}")
        let calls: TemplateValue = [["type": "function", "function": ["name": "f", "arguments": "{}"]]]
        let output = try template.render(messages: [
            ChatTemplateMessage(role: "user", content: "hi"),
            ChatTemplateMessage(role: "assistant", content: nil, extra: TemplateDictionary([("tool_calls", calls)])),
        ], addGenerationPrompt: true, eosToken: "</s>")
        #expect(output == "False|True|True|user=hi0;assistant=None1;</s>")
    }

    @Test("strftime_now uses the injected clock")
    func strftime() throws {
        // 2024-07-26 13:05:09 UTC; the template reads it in the process time zone, so pin TZ-independent fields only.
        let date = Date(timeIntervalSince1970: 1_721_999_109)
        let output = try ChatTemplate(source: "{{ strftime_now('%Y|%b|%B|%%') }}").render(messages: [TemplateValue](), now: date)
        #expect(output == "2024|Jul|July|%")
    }

    @Test("JSON input keeps key order, so tojson prints tools as given")
    func jsonRoundTrip() throws {
        let text = #"{"z": 1, "a": {"y": [true, null, 1.5, "\u00e9\n"], "b": -2}}"#
        let value = try TemplateJSON.parse(text)
        let output = try ChatTemplate(source: "{{ v | tojson }}").render(context: ["v": value])
        #expect(output == #"{"z": 1, "a": {"y": [true, null, 1.5, "é\n"], "b": -2}}"#)
        #expect(throws: ChatTemplateError.self) { try TemplateJSON.parse("{\"a\": [1, 2}") }
    }
}
