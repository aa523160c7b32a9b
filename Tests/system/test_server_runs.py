#!/usr/bin/env python3
"""A fine-tuning run on a node, through the runs API, with the default model (SmolLM2-135M-Instruct, QLoRA in place):
followed over Server-Sent Events; `kill -9` of the server mid-run, restart: the run shows as interrupted, resumes from
its last checkpoint with one request, and its loss curve equals an uninterrupted run's step for step; its adapter then
answers through the OpenAI-compatible API and downloads as a tar of the PEFT folder.

Run from the project root: python3 Tests/system/test_server_runs.py (KILN_BIN names the binary).
"""
import concurrent.futures, io, json, os, sys, tarfile, time

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


R.run_all(globals(), srv.cleanup)
