"""Renders the published-style templates in this folder with jinja2 3.1.6 set up as transformers sets it up.

Not part of the shared fixtures: these templates were written from the chat_template fields of Qwen2.5-7B-Instruct,
Llama-3.1-8B-Instruct, Mistral-7B-Instruct-v0.3 and Qwen3 to exercise what the fixture templates do not (tools, tool
calls, namespace(), selectattr, items() with a loop filter, [::-1], str methods, tojson(indent=4)). The environment
mirrors transformers' _compile_jinja_template: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]), tojson = json.dumps(ensure_ascii=False, ...), raise_exception -> TemplateError, and the
render variables of render_jinja_template (messages, tools, documents=None, add_generation_prompt, special tokens).
Run: python3 extra_gen.py   (writes extra_cases.jsonl next to it)
"""
import json, os
import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"},
                                                           "unit": {"type": "string", "enum": ["c", "f"]}},
                          "required": ["city"]}, "return": {"type": "string"}}}
CALL = {"id": "abc123xyz", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}
CONVERSATIONS = {
    "plain": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>there</b> & \"you\""},
              {"role": "assistant", "content": "  Hello!  "}, {"role": "user", "content": "Weather?\n"}],
    "no_system": [{"role": "user", "content": "héllo 👋"}],
    "tool_round": [{"role": "system", "content": "You can call tools."}, {"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "content": None, "tool_calls": [CALL]},
                   {"role": "tool", "tool_call_id": "abc123xyz", "content": "{\"temp\": 21}"},
                   {"role": "assistant", "content": "It is 21°C."}, {"role": "user", "content": "Thanks"}],
    "thinking": [{"role": "user", "content": "2+2?"},
                 {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"}, {"role": "user", "content": "3+3?"}],
    "bad_roles": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
}
TEMPLATES = ["qwen2_5_tools", "llama3_1_tools", "mistral_v3_tools", "qwen3_thinking"]

rows = []
for name in TEMPLATES:
    source = open(os.path.join(HERE, name + ".jinja"), encoding="utf-8").read()
    template = env.from_string(source)
    for conv, messages in CONVERSATIONS.items():
        for tools in (None, [WEATHER]):
            for agp in (False, True):
                extra = {"enable_thinking": False} if name == "qwen3_thinking" and agp else {}
                row = dict(template=name + ".jinja", conversation=conv, messages=messages, tools=tools, add_generation_prompt=agp,
                           bos_token="<s>", eos_token="</s>", extra=extra)
                try:
                    row["rendered"] = template.render(messages=messages, tools=tools, documents=None, add_generation_prompt=agp,
                                                      bos_token="<s>", eos_token="</s>", **extra)
                except TemplateError as e:
                    row["rendered"] = None
                    row["error"] = f"{type(e).__name__}: {e}"
                rows.append(row)

with open(os.path.join(HERE, "extra_cases.jsonl"), "w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows), "cases;", sum(r["rendered"] is None for r in rows), "errors", jinja2.__version__)
for r in rows:
    if r["rendered"] is None: print(r["template"], r["conversation"], r["tools"] is not None, r["error"])
