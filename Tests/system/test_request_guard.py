#!/usr/bin/env python3
"""Checks before any route: a node bound to loopback answers only to loopback host names (DNS rebinding), writes sent
from another site's page are refused (login and sign-up CSRF), error responses carry the security headers, cookies are
Secure behind a trusted HTTPS proxy, and the data folder and its files are private to the node's user.

Run from the project root: python3 Tests/system/test_request_guard.py (KILN_BIN names the binary).
"""
import os, stat, sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
proxied = KilnServer(args=["--trust-proxy"]).start()
SECURITY = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def t_loopback_node_refuses_other_host_names():
    for host in ("evil.example", "evil.example:80", "192.168.1.1", "127.0.0.1.evil.example"):
        r = requests.get(srv.url + "/api/datanets", headers={"Host": host}, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_host", (host, r.status_code, r.text)
    for host in ("localhost", f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", f"[::1]:{srv.port}"):
        assert requests.get(srv.url + "/api/datanets", headers={"Host": host}, timeout=10).status_code == 200, host


def t_error_responses_carry_security_headers():
    for path in ("/api/datanets/missing", "/nothing-here", "/api/submissions/abc", "/datanets/missing"):
        r = requests.get(srv.url + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
        for name, value in SECURITY.items():
            assert r.headers.get(name) == value, (path, name, r.headers)


def t_cross_site_writes_are_refused():
    evil = {"Origin": "http://evil.example"}
    r = requests.post(srv.url + "/register", data={"username": "mallory", "password": "correct horse battery",
                                                   "password2": "correct horse battery"}, headers=evil, timeout=30, allow_redirects=False)
    assert r.status_code == 403, r.status_code
    r = requests.post(srv.url + "/api/auth/register", json={"username": "mallory", "password": "correct horse battery"}, headers=evil, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    r = requests.post(srv.url + "/login", data={"username": "mallory", "password": "correct horse battery"}, headers={"Origin": "null"},
                      timeout=30, allow_redirects=False)
    assert r.status_code == 403, r.status_code
    # Nothing was created: the name is still free, and a same-site sign-up succeeds.
    same = {"Origin": srv.url}
    r = requests.post(srv.url + "/register", data={"username": "mallory", "password": "correct horse battery",
                                                   "password2": "correct horse battery"}, headers=same, timeout=30, allow_redirects=False)
    assert r.status_code == 303, r.status_code
    # Bearer clients are not browsers: an Origin on them does not matter.
    token = requests.post(srv.url + "/api/auth/login", json={"username": "mallory", "password": "correct horse battery"}, timeout=30).json()["token"]
    r = requests.post(srv.url + "/api/datanets", headers={"Authorization": "Bearer " + token, **evil}, timeout=30,
                      json={"slug": "notes", "title": "Notes", "kind": "text"})
    assert r.status_code == 201, r.text


def t_nul_in_a_password_is_refused():
    r = requests.post(srv.url + "/api/auth/register", json={"username": "nulluser", "password": "long enough\u0000password"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_password", r.text


def t_cookies_are_secure_only_behind_a_trusted_https_proxy():
    form = {"username": "carol", "password": "correct horse battery", "password2": "correct horse battery"}
    r = requests.post(proxied.url + "/register", data=form, headers={"X-Forwarded-Proto": "https"}, timeout=30, allow_redirects=False)
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"], r.headers.get("Set-Cookie")
    form["username"] = "dave"
    r = requests.post(srv.url + "/register", data=form, headers={"X-Forwarded-Proto": "https"}, timeout=30, allow_redirects=False)
    assert r.status_code == 303 and "Secure" not in r.headers["Set-Cookie"], r.headers.get("Set-Cookie")


def t_data_folder_and_files_are_private():
    assert stat.S_IMODE(os.stat(srv.data).st_mode) == 0o700, oct(os.stat(srv.data).st_mode)
    for root, dirs, files in os.walk(srv.data):
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            assert mode & 0o077 == 0, (os.path.join(root, name), oct(mode))


R.run_all(globals(), lambda: (srv.cleanup(), proxied.cleanup()))
