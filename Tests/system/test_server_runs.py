#!/usr/bin/env python3
"""A fine-tuning run on a node, through the runs API, with the default model (SmolLM2-135M-Instruct, QLoRA in place):
followed over Server-Sent Events; `kill -9` of the server mid-run, restart: the run shows as interrupted, resumes from
its last checkpoint with one request, and its loss curve equals an uninterrupted run's step for step; its adapter then
answers through the OpenAI-compatible API and downloads as a tar of the PEFT folder.

Run from the project root: python3 Tests/system/test_server_runs.py (KILN_BIN names the binary).
"""
import concurrent.futures, io, json, math, os, re, subprocess, sys, tarfile, time, zipfile

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
PASSWORD = "correct horse battery"
ctx = {}
SETTINGS = {"datanet": "bakes", "version": 1, "base": "default", "lora_r": 8, "lora_alpha": 16, "learning_rate": 0.002,
            "max_steps": 8, "micro_batch_size": 2, "max_length": 64, "checkpoint_every": 2, "lr_scheduler": "constant"}


def auth():
    return {"Authorization": "Bearer " + ctx["token"]}


def post(path, body=None):
    return requests.post(srv.url + path, json=body, headers=auth(), timeout=60)


def wait_for(run_id, states, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = requests.get(f"{srv.url}/api/runs/{run_id}", headers=auth(), timeout=30).json()
        if run["state"] in states:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not reach {states}: {run}")


def losses(run_id):
    """step → loss from the run's event stream (a finished run's stream replays metrics.jsonl and ends)."""
    r = requests.get(f"{srv.url}/api/runs/{run_id}/events", headers=auth(), timeout=120)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.status_code
    curve = {}
    for event in r.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in event.splitlines() if ": " in line)
        if fields.get("event") == "metrics":
            line = json.loads(fields["data"])
            if "loss" in line:
                curve[line["step"]] = line["loss"]
    assert r.text.endswith('event: end\ndata: {"state":"succeeded"}\n\n'), r.text[-200:]
    return curve


def t_setup_a_published_version():
    requests.post(srv.url + "/api/auth/register", json={"username": "baker", "password": PASSWORD}, timeout=30)
    ctx["token"] = requests.post(srv.url + "/api/auth/login", json={"username": "baker", "password": PASSWORD}, timeout=30).json()["token"]
    r = post("/api/datanets", {"slug": "bakes", "title": "Bakes", "description": "Oven conversions.", "kind": "text",
                               "schema": "instruction", "license": "CC0-1.0", "rules": {"min_chars": 1, "validation_percent": 10}})
    assert r.status_code == 201, r.text
    for c in range(100, 260, 5):
        item = post("/api/datanets/bakes/submissions", {"instruction": f"What is {c} °C in Fahrenheit?",
                                                        "response": f"Baker's answer: {c} °C is {round(c * 9 / 5 + 32)} °F."}).json()
        if item["status"] == "pending":
            assert post(f"/api/submissions/{item['id']}/review", {"decision": "accept"}).status_code == 200
    assert post("/api/datanets/bakes/versions").status_code == 201


def t_uninterrupted_run():
    r = post("/api/runs", SETTINGS)
    assert r.status_code == 202, r.text
    run = wait_for(r.json()["id"], {"succeeded", "failed"})
    assert run["state"] == "succeeded", run
    ctx["first_model"] = run["model"]
    ctx["reference"] = losses(run["id"])
    assert sorted(ctx["reference"]) == list(range(1, 9)), ctx["reference"]


def t_kill_during_a_run_then_resume():
    r = post("/api/runs", dict(SETTINGS, private=True))
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    folder = os.path.join(srv.data, "runs", f"job-{run_id}", "checkpoints")
    deadline = time.time() + 600
    while time.time() < deadline and not (os.path.isdir(folder) and len(os.listdir(folder)) >= 2):
        time.sleep(0.2)
    assert os.path.isdir(folder) and len(os.listdir(folder)) >= 2, "no checkpoint was written"
    srv.kill()
    srv.start()
    run = requests.get(f"{srv.url}/api/runs/{run_id}", headers=auth(), timeout=30).json()
    assert run["state"] == "interrupted", run
    r = post(f"/api/runs/{run_id}/resume")
    assert r.status_code == 202 and r.json()["state"] == "queued", r.text
    run = wait_for(run_id, {"succeeded", "failed"})
    assert run["state"] == "succeeded", run
    resumed = losses(run_id)
    assert sorted(resumed) == sorted(ctx["reference"]), (resumed, ctx["reference"])
    for step, loss in ctx["reference"].items():
        assert abs(resumed[step] - loss) <= 1e-5, (step, resumed[step], loss)
    ctx["run"] = run


def t_the_tuned_model_answers_and_downloads():
    run = ctx["run"]
    model = run["model"]
    assert model == f"SmolLM2-135M-Instruct:run-{run['id']}", model
    ids = [m["id"] for m in requests.get(srv.url + "/v1/models", headers=auth(), timeout=30).json()["data"]]
    assert model in ids, ids
    r = requests.post(srv.url + "/v1/chat/completions", headers=auth(), timeout=300, json={
        "model": model, "messages": [{"role": "user", "content": "What is 180 °C in Fahrenheit?"}], "temperature": 0, "max_tokens": 24})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].strip(), r.json()
    tar = requests.get(f"{srv.url}/api/runs/{run['id']}/adapter", headers=auth(), timeout=60)
    assert tar.status_code == 200, tar.status_code
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as archive:
        names = sorted(archive.getnames())
        config = json.load(archive.extractfile(f"run-{run['id']}-adapter/adapter_config.json"))
    assert names == [f"run-{run['id']}-adapter/adapter_config.json", f"run-{run['id']}-adapter/adapter_model.safetensors"], names
    assert config["r"] == 8 and config["peft_type"] == "LORA", config
    zipped = requests.get(f"{srv.url}/api/runs/{run['id']}/adapter?format=zip", headers=auth(), timeout=60)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip", zipped.status_code
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert archive.testzip() is None  # every entry's CRC-32 checks out
        with tarfile.open(fileobj=io.BytesIO(tar.content)) as tarred:
            for name in names:
                assert archive.read(name) == tarred.extractfile(name).read(), name
    assert requests.get(f"{srv.url}/api/runs/{run['id']}/adapter?format=rar", headers=auth(), timeout=60).status_code == 400


def t_evaluation_compares_base_and_tuned():
    run = ctx["run"]
    r = requests.get(f"{srv.url}/api/runs/{run['id']}/evaluation", headers=auth(), timeout=600)
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["split"] == "validation" and 1 <= len(e["samples"]) <= 3, e
    # The losses are the trainer's own step-0 and last evaluations, as its metrics.jsonl logged them.
    evals = [json.loads(line) for line in open(os.path.join(srv.data, "runs", f"job-{run['id']}", "metrics.jsonl")) if "eval_loss" in line]
    assert e["base_validation_loss"] == evals[0]["eval_loss"] and evals[0]["step"] == 0, (e, evals[0])
    assert e["tuned_validation_loss"] == evals[-1]["eval_loss"], (e, evals[-1])
    assert abs(e["tuned_perplexity"] - math.exp(e["tuned_validation_loss"])) < 1e-9
    # Each tuned answer is the greedy answer the API gives for the same prompt.
    sample = e["samples"][0]
    r = requests.post(srv.url + "/v1/chat/completions", headers=auth(), timeout=300, json={
        "model": run["model"], "messages": [{"role": "user", "content": sample["prompt"]}], "temperature": 0, "max_tokens": 48})
    assert r.json()["choices"][0]["message"]["content"] == sample["tuned"], (r.json(), sample)


def t_merged_model_downloads_as_gguf():
    run = ctx["run"]
    r = requests.get(f"{srv.url}/api/runs/{run['id']}/merged", headers=auth(), timeout=900)
    assert r.status_code == 200 and r.content[:4] == b"GGUF", (r.status_code, r.content[:40])
    path = os.path.join(srv.data, "merged-download.gguf")
    with open(path, "wb") as f:
        f.write(r.content)
    facts = json.loads(subprocess.run([os.environ.get("KILN_BIN", ".build/debug/kiln"), "model", "inspect", "--json", path],
                                      capture_output=True, text=True, check=True).stdout)
    assert facts["family"] == "llama" and facts["supported"] is True and "Q8_0" in facts["dtypes"], facts


def t_estimate_before_starting():
    r = post("/api/runs/estimate", dict(SETTINGS, max_steps=10))
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["steps"] == 10 and e["tokens"] > 0 and e["seconds"] > 0 and e["memory_bytes"] > 100_000_000, e
    # SmolLM2's all-linear rank-8 adapter: 30 layers × 8 × (4 attention + 3 MLP projections' in + out widths).
    assert e["trainable_parameters"] == 30 * 8 * (2 * (576 + 576) + 2 * (576 + 192) + 2 * (576 + 1536) + (1536 + 576)), e
    assert e["speed_source"] == "earlier_runs", e
    r = post("/api/runs/estimate", dict(SETTINGS, lora_r=0))
    assert r.status_code == 400 and "lora_r" in r.json()["error"]["message"], r.text


def t_private_datanet_is_invisible_to_others():
    requests.post(srv.url + "/api/auth/register", json={"username": "secretive", "password": PASSWORD}, timeout=30)
    other = requests.post(srv.url + "/api/auth/login", json={"username": "secretive", "password": PASSWORD}, timeout=30).json()["token"]
    mine = {"Authorization": "Bearer " + other}
    r = requests.post(srv.url + "/api/datanets", headers=mine, timeout=30, json={
        "slug": "hidden-bakes", "title": "Hidden", "kind": "text", "schema": "instruction", "private": True, "rules": {"min_chars": 1}})
    assert r.status_code == 201 and r.json()["private"] is True, r.text
    item = requests.post(srv.url + "/api/datanets/hidden-bakes/submissions", headers=mine, timeout=30,
                         json={"instruction": "Secret?", "response": "Yes."}).json()
    requests.post(f"{srv.url}/api/submissions/{item['id']}/review", headers=mine, json={"decision": "accept"}, timeout=30)
    assert requests.post(srv.url + "/api/datanets/hidden-bakes/versions", headers=mine, timeout=30).status_code == 201
    # For baker (and anonymous callers) it does not exist: not listed, not shown, no version, no item, no run.
    for headers in (auth(), {}):
        slugs = [d["slug"] for d in requests.get(srv.url + "/api/datanets", headers=headers, timeout=30).json()["items"]]
        assert "hidden-bakes" not in slugs and "bakes" in slugs, slugs
        for path in ["/api/datanets/hidden-bakes", "/api/datanets/hidden-bakes/versions/1", "/api/datanets/hidden-bakes/versions/1/export.jsonl",
                     f"/api/submissions/{item['id']}", f"/api/submissions/{item['id']}/receipt", "/datanets/hidden-bakes",
                     f"/ledger/receipts/submission/{item['id']}", "/datanets/hidden-bakes/versions/1"]:
            assert requests.get(srv.url + path, headers=headers, timeout=30).status_code == 404, path
    before = len(requests.get(srv.url + "/api/runs", headers=auth(), timeout=30).json()["items"])
    r = post("/api/runs", dict(SETTINGS, datanet="hidden-bakes", version=1))
    assert r.status_code == 404 and "hidden-bakes" in r.json()["error"]["message"], r.text
    assert post("/api/runs/estimate", dict(SETTINGS, datanet="hidden-bakes", version=1)).status_code == 404
    assert len(requests.get(srv.url + "/api/runs", headers=auth(), timeout=30).json()["items"]) == before
    # Its curator sees it, and a run on it is private whatever the request says.
    assert "hidden-bakes" in [d["slug"] for d in requests.get(srv.url + "/api/datanets", headers=mine, timeout=30).json()["items"]]
    r = requests.post(srv.url + "/api/runs", headers=mine, timeout=30, json=dict(SETTINGS, datanet="hidden-bakes", version=1, private=False))
    assert r.status_code == 202 and r.json()["private"] is True, r.text
    hidden_run = r.json()["id"]
    assert requests.get(f"{srv.url}/api/runs/{hidden_run}", headers=auth(), timeout=30).status_code == 404
    assert requests.post(f"{srv.url}/api/runs/{hidden_run}/cancel", headers=auth(), timeout=30).status_code == 404
    assert requests.get(f"{srv.url}/api/runs/{hidden_run}/adapter", headers=auth(), timeout=30).status_code == 404
    requests.post(f"{srv.url}/api/runs/{hidden_run}/cancel", headers=mine, timeout=30)


def chat(model, question):
    r = requests.post(srv.url + "/v1/chat/completions", headers=auth(), timeout=600, json={
        "model": model, "messages": [{"role": "user", "content": question}], "temperature": 0, "max_tokens": 16})
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]


def t_concurrent_requests_over_three_models_equal_each_alone():
    models = ["SmolLM2-135M-Instruct", ctx["first_model"], ctx["run"]["model"]]
    jobs = [(models[i % 3], f"What is {100 + 7 * i} °C in Fahrenheit?" if i % 2 else f"Name a bread from country number {i}.")
            for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        together = list(pool.map(lambda job: chat(*job), jobs))
    alone = [chat(*job) for job in jobs]
    for job, a, b in zip(jobs, together, alone):
        assert a == b, (job, a, b)
    metrics = requests.get(srv.url + "/metrics", timeout=30).text
    assert "kiln_inference_active_sequences 0" in metrics, metrics[-400:]
    # The base and both adapters decoded in one batch: no model alone had more than 7 of the 20 requests.
    peak = float(re.search(r"^kiln_inference_peak_batch_sequences (\S+)$", metrics, re.M).group(1))
    assert peak > 7, metrics[-600:]


R.run_all(globals(), srv.cleanup)
