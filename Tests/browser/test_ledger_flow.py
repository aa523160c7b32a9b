#!/usr/bin/env python3
"""The ledger's web pages end to end in real Chromium (issue 4, acceptance point 5), against a real `kiln serve`.

Set-up goes through the JSON API: a curator and a contributor sign up, the curator creates a Datanet,
the contributor submits two items, the curator accepts one, rejects the other and publishes a version.
Then, in the browser, the contributor signs in, follows the receipt link on My submissions and verifies
the receipt in the page (WebCrypto SHA-256 and Ed25519, RFC 9162 audit path); the explorer shows the
key and signed tree head the API serves, finds the submission's entry by lookup, and the entry verifies
too. Finally the browser's own network stack is made to lie: the DevTools Fetch domain rewrites one
payload character of the entry (and, on the receipt page, one audit-path character), and the page must
report the failure. No debug hooks exist in the server for this.

Environment: KILN_BIN (default .build/debug/kiln), KILN_ARTIFACTS (default artifacts/; screenshots go
to its screenshots/ folder as ledger-NN-name.png), KILN_CHROMEDRIVER (default /usr/bin/chromedriver).
Prints one line per step and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.request

import websocket
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import SHOTS, BrowserFlow, run_flow  # noqa: E402


PASSWORD = "correct horse battery"
SUFFIX = secrets.token_hex(3)
CURATOR = f"baker_{SUFFIX}"
CONTRIBUTOR = f"bob_{SUFFIX}"
SLUG = f"baking-notes-{SUFFIX}"
ACCEPTED_TEXT = "Laminated dough needs butter that is cold but still pliable, or the layers tear."
REJECTED_TEXT = "Rest the dough overnight in the fridge; the flavour deepens and it rolls out more easily."


def jcs(value):
    """RFC 8785 for the ledger's values (ints, strings, objects), written independently of the page's JS."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ResponseTamper:
    """Rewrites matching responses inside Chromium with the DevTools Fetch domain, on its own DevTools connection.

    Fetch.requestPaused is an event, and chromedriver's execute_cdp_cmd only sends commands, so the interception
    is enabled on a second connection to the same page (Chromium allows several clients) whose thread answers
    each paused response with Fetch.fulfillRequest carrying the edited body.
    """

    def __init__(self, driver, url_pattern, edit):
        address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
        targets = json.load(urllib.request.urlopen(f"http://{address}/json", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True, timeout=0.5)
        self.edit = edit
        self.next_id = 0
        self.backlog = []
        self.edited = []
        self.errors = []
        self.stopping = threading.Event()
        self.call("Fetch.enable", {"patterns": [{"urlPattern": url_pattern, "requestStage": "Response"}]})
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def call(self, method, params):
        """Sends a command and waits for its answer, keeping events that arrive meanwhile."""
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if message.get("method") == "Fetch.requestPaused":
                self.backlog.append(message["params"])
        raise RuntimeError(f"{method}: no answer within 10 s")

    def run(self):
        while not self.stopping.is_set():
            while self.backlog:
                self.handle(self.backlog.pop(0))
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:  # the connection closed: nothing more to intercept
                return
            if message.get("method") == "Fetch.requestPaused":
                self.handle(message["params"])

    def handle(self, paused):
        try:
            body = self.call("Fetch.getResponseBody", {"requestId": paused["requestId"]})
            text = base64.b64decode(body["body"]).decode() if body.get("base64Encoded") else body["body"]
            changed = self.edit(text)
            self.edited.append((paused["request"]["url"], text, changed))
            headers = [h for h in paused.get("responseHeaders", []) if h["name"].lower() != "content-length"]
            self.call("Fetch.fulfillRequest", {"requestId": paused["requestId"], "responseCode": paused.get("responseStatusCode", 200),
                                               "responseHeaders": headers, "body": base64.b64encode(changed.encode()).decode()})
        except Exception as error:  # reported by the step; the request is let through unchanged
            self.errors.append(repr(error))
            try:
                self.call("Fetch.continueRequest", {"requestId": paused["requestId"]})
            except Exception:
                pass

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        try:
            self.call("Fetch.disable", {})
        finally:
            self.ws.close()


def flip_hex_after(marker):
    """An edit that changes the first hex digit after `marker` (e.g. `"sha256":"`), keeping the length."""
    def edit(text):
        at = text.index(marker) + len(marker)
        return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:]
    return edit


class Flow(BrowserFlow):
    """The steps, sharing one browser and one server; a step that fails stops the ones after it."""

    shot_prefix = "ledger-"
    # The lookup-miss step expects its 404 page.
    expected_console = r"/ledger/lookup\?.* - .*status of 404"

    def __init__(self, server, driver):
        super().__init__(server, driver)
        self.ids = {}

    # Helpers ---------------------------------------------------------------------------------

    def click(self, css):
        element = self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def screenshot(self, name, full=False):
        """Saves the window, or with `full` the whole page (DevTools captures beyond the viewport)."""
        if not full:
            return super().screenshot(name)
        self.shot += 1
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, f"{self.shot_prefix}{self.shot:02d}-{name}.png")
        # From the top, so the sticky header sits where it belongs in the capture.
        width, height = self.driver.execute_script(
            "window.scrollTo(0, 0); return [document.documentElement.clientWidth, document.documentElement.scrollHeight]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        with open(path, "wb") as out:
            out.write(base64.b64decode(shot["data"]))

    def verify_in_browser(self, expect_ok):
        """Clicks the verify button and returns (verdict text, [(step, ok)]) once the verdict is shown."""
        self.click("#verify-button")
        verdict = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#verify-result[data-ok]"))
        self.wait.until(lambda d: not d.find_element(By.ID, "verify-button").get_attribute("disabled"))
        steps = [(row.find_element(By.CSS_SELECTOR, ".check-name").text, row.get_attribute("data-ok") == "true")
                 for row in self.driver.find_elements(By.CSS_SELECTOR, "#verify-steps > li")]
        ok = verdict.get_attribute("data-ok") == "true"
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", verdict)
        assert ok == expect_ok, f"verdict {verdict.text!r}; steps {steps}"
        if expect_ok:
            assert verdict.text.strip().endswith("Verified in your browser"), verdict.text
            assert len(steps) == 8 and all(ok for _, ok in steps), steps
        else:
            assert "Verification failed" in verdict.text, verdict.text
        return verdict.text, steps

    # Steps -----------------------------------------------------------------------------------

    def setup_through_api(self):
        server = self.server
        for name in (CURATOR, CONTRIBUTOR):
            server.call("POST", "/api/auth/register", json={"username": name, "password": PASSWORD}, expect=201)
        curator = server.call("POST", "/api/auth/login", json={"username": CURATOR, "password": PASSWORD})["token"]
        contributor = server.call("POST", "/api/auth/login", json={"username": CONTRIBUTOR, "password": PASSWORD})["token"]
        server.call("POST", "/api/datanets", curator, expect=201,
                    json={"slug": SLUG, "title": "Baking notes", "kind": "text", "rules": {"daily_limit": 10, "min_chars": 20}})
        accepted = server.call("POST", f"/api/datanets/{SLUG}/submissions", contributor, expect=201, json={"text": ACCEPTED_TEXT})
        rejected = server.call("POST", f"/api/datanets/{SLUG}/submissions", contributor, expect=201, json={"text": REJECTED_TEXT})
        server.call("POST", f"/api/submissions/{accepted['id']}/review", curator, json={"decision": "accept"})
        server.call("POST", f"/api/submissions/{rejected['id']}/review", curator,
                    json={"decision": "reject", "reason": "Already covered by an accepted note."})
        server.call("POST", f"/api/datanets/{SLUG}/versions", curator, expect=201)
        receipt = server.call("GET", f"/api/submissions/{accepted['id']}/receipt", contributor)
        assert receipt["entry"]["kind"] == "submission.accepted", receipt["entry"]
        self.ids.update(accepted=accepted["id"], rejected=rejected["id"], seq=receipt["entry"]["seq"], contributor=contributor)

    def sign_in_contributor(self):
        self.go("/login")
        self.fill("#username", CONTRIBUTOR)
        self.fill("#password", PASSWORD)
        self.click("#login-submit")
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#nav-user"), CONTRIBUTOR))

    def my_submissions_receipt_links(self):
        self.go("/me/submissions")
        accepted, rejected = self.ids["accepted"], self.ids["rejected"]
        for item in (accepted, rejected):
            link = self.find(f"#receipt-{item}")
            assert link.get_attribute("href").endswith(f"/ledger/receipts/submission/{item}"), link.get_attribute("href")
        self.screenshot("my-submissions")
        self.click(f"#receipt-{accepted}")
        self.wait_url(rf"/ledger/receipts/submission/{accepted}$")

    def receipt_verifies(self):
        accepted = self.ids["accepted"]
        summary = self.find("#receipt-summary").text
        assert f"{CONTRIBUTOR}'s item #{accepted} accepted in {SLUG}" in summary, summary
        href = self.find("#download-receipt").get_attribute("href")
        assert href.endswith(f"/api/submissions/{accepted}/receipt"), href
        self.verify_in_browser(expect_ok=True)
        self.screenshot("receipt-verified", full=True)

    def explorer_shows_key_and_head(self):
        self.driver.find_element(By.ID, "nav-ledger").click()
        self.wait_url(r"/ledger$")
        key = self.server.call("GET", "/api/ledger/key")["public_key"]
        head = self.server.call("GET", "/api/ledger/head")
        assert self.find("#public-key").text.strip() == key
        assert self.find("#head-root").text.strip() == head["root"]
        assert self.find("#head-size").text.strip() == str(head["tree_size"])
        seqs = [int(row.get_attribute("data-seq")) for row in self.driver.find_elements(By.CSS_SELECTOR, "#ledger-entries tbody tr")]
        assert seqs == list(range(head["tree_size"] - 1, -1, -1)), f"newest first: {seqs}"
        text = self.find("#ledger-entries").text
        assert f"{CONTRIBUTOR}'s item #{self.ids['accepted']} accepted in {SLUG}" in text, text
        assert f"Version 1 of {SLUG} published" in text, text
        self.screenshot("explorer", full=True)

    def lookup_submission(self):
        self.fill("#lookup-submission-input", str(self.ids["accepted"]))
        self.click("#lookup-submission-button")
        seq = int(self.wait_url(r"/ledger/entries/(\d+)$").group(1))
        assert seq == self.ids["seq"], (seq, self.ids["seq"])
        # The page's canonical JSON is the entry's JCS form, and its SHA-256 is the hash shown.
        entry = self.server.call("GET", f"/api/ledger/entries/{seq}")
        canonical = self.find("#canonical-json").text.strip()
        assert canonical == jcs({k: entry[k] for k in ("seq", "time", "kind", "payload", "prev_hash")}), canonical
        assert hashlib.sha256(canonical.encode()).hexdigest() == entry["hash"] == self.find("#entry-hash").text.strip()
        assert len(self.driver.find_elements(By.CSS_SELECTOR, "#audit-path li")) == len(
            self.server.call("GET", f"/api/ledger/proof/inclusion?seq={seq}")["audit_path"])

    def entry_verifies(self):
        self.verify_in_browser(expect_ok=True)
        self.screenshot("entry-verified", full=True)

    def lookup_version(self):
        self.go("/ledger")
        self.fill("#lookup-datanet-input", SLUG)
        self.fill("#lookup-version-input", "1")
        self.find("#lookup-version-input").submit()
        self.wait_url(r"/ledger/entries/\d+$")
        assert "version.published" in self.find("h1").text
        self.verify_in_browser(expect_ok=True)

    def version_receipt(self):
        self.go(f"/datanets/{SLUG}/versions/1")
        self.screenshot("version-page")
        self.click("#version-receipt")
        self.wait_url(rf"/ledger/receipts/version/{SLUG}/1$")
        assert f"Version 1 of {SLUG} published" in self.find("#receipt-summary").text
        assert self.find("#download-receipt").get_attribute("href").endswith(f"/api/datanets/{SLUG}/versions/1/receipt")
        self.verify_in_browser(expect_ok=True)
        self.screenshot("version-receipt-verified")

    def lookup_miss(self):
        self.go("/ledger")
        self.fill("#lookup-submission-input", "999999")
        self.click("#lookup-submission-button")
        message = self.find("#form-error").text
        assert "#999999" in message, message
        assert self.find("#lookup-submission-input").get_attribute("value") == "999999"

    def tampered_entry_fails(self):
        seq = self.ids["seq"]
        self.go(f"/ledger/entries/{seq}")
        tamper = ResponseTamper(self.driver, f"*/api/ledger/entries/{seq}", flip_hex_after('"sha256":"'))
        try:
            _, steps = self.verify_in_browser(expect_ok=False)
        finally:
            tamper.close()
        assert tamper.edited and not tamper.errors, (tamper.edited, tamper.errors)
        failed = {name for name, ok in steps if not ok}
        assert "Entry hash" in failed and "Entry signature" in failed, steps
        assert ("Tree head signature", True) in steps, "the head was not touched, so its signature still checks"
        self.screenshot("entry-tampered")

    def tampered_receipt_fails(self):
        accepted = self.ids["accepted"]
        self.go(f"/ledger/receipts/submission/{accepted}")
        tamper = ResponseTamper(self.driver, f"*/api/submissions/{accepted}/receipt", flip_hex_after('"audit_path":["'))
        try:
            _, steps = self.verify_in_browser(expect_ok=False)
        finally:
            tamper.close()
        assert tamper.edited and not tamper.errors, (tamper.edited, tamper.errors)
        failed = {name for name, ok in steps if not ok}
        assert "Audit path" in failed, steps
        assert ("Entry hash", True) in steps and ("Entry signature", True) in steps, steps
        self.screenshot("receipt-tampered")
        # Untampered again, the same page verifies.
        self.verify_in_browser(expect_ok=True)


STEPS = ["setup-through-api", "sign-in-contributor", "my-submissions-receipt-links", "receipt-verifies",
         "explorer-shows-key-and-head", "lookup-submission", "entry-verifies", "lookup-version", "version-receipt",
         "lookup-miss", "tampered-entry-fails", "tampered-receipt-fails"]


if __name__ == "__main__":
    sys.exit(run_flow(Flow, STEPS, screenshot_each_step=False))
