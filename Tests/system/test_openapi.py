#!/usr/bin/env python3
"""The OpenAPI document at /api/openapi.json is a valid OpenAPI 3.1 document and describes every route
the server answers (each documented operation is reachable: it does not answer 404 for an unknown route).

Run from the project root: python3 Tests/system/test_openapi.py (KILN_BIN names the binary).
"""
import os, re, sys

import requests
from openapi_spec_validator import validate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
ctx = {}


def t_document_is_valid_openapi():
    r = requests.get(srv.url + "/api/openapi.json", timeout=30)
    assert r.status_code == 200, r.status_code
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    ctx["doc"] = doc


def t_every_operation_is_routed():
    doc = ctx["doc"]
    assert len(doc["paths"]) >= 25, len(doc["paths"])
    for path, operations in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            r = requests.request(method.upper(), srv.url + concrete, timeout=30)
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            # A documented route may refuse (401, 400, 404 for a missing Datanet) but must not be an unknown route.
            unknown = r.status_code == 404 and "nothing at this address" in body.get("error", {}).get("message", "")
            assert not unknown, f"{method.upper()} {path} is documented but not routed ({code})"


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
R.finish()
