#!/usr/bin/env python3
"""The web UI end to end in real Chromium, driven by Selenium against a real `kiln serve`.

Two people sign up; the first starts a Datanet through the web form; the second submits a valid
and a too-short item and sees every check's result; the curator accepts the valid one from the
review queue; the leaderboard shows the contributor; the curator publishes a version and sees its
Merkle root, which must equal the one the JSON API reports.

Environment: KILN_BIN (default .build/debug/kiln), KILN_ARTIFACTS (default artifacts/; screenshots
go to its screenshots/ folder), KILN_CHROMEDRIVER (default /usr/bin/chromedriver).
Prints one line per step and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

KILN = os.environ.get("KILN_BIN", ".build/debug/kiln")
ARTIFACTS = os.environ.get("KILN_ARTIFACTS", "artifacts")
SHOTS = os.path.join(ARTIFACTS, "screenshots")
CHROMEDRIVER = os.environ.get("KILN_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20

PASSWORD = "correct horse battery"
SUFFIX = secrets.token_hex(3)
CURATOR = f"curator_{SUFFIX}"
CONTRIBUTOR = f"maker_{SUFFIX}"
SLUG = f"kind-replies-{SUFFIX}"
VALID_TEXT = ("Thank you for waiting. I checked your order and it left our warehouse this morning; "
              "you should have it by Thursday.")
SHORT_TEXT = "Too short."


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `kiln serve` on a free port with a throwaway data folder."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="kiln-web-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = None

    def start(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.log = open(os.path.join(ARTIFACTS, "web-flow-server.log"), "w")
        self.proc = subprocess.Popen([KILN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data", self.data],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kiln serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(self.url + "/api/datanets", timeout=1)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError("kiln serve did not answer within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)

    def api(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)


def make_driver():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-GB"):
        options.add_argument(flag)
    if shutil.which("chromium"):
        options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Flow:
    """The steps, sharing one browser and one server; a step that fails stops the ones that depend on it."""

    def __init__(self, server, driver):
        self.server = server
        self.driver = driver
        self.wait = WebDriverWait(driver, WAIT, poll_frequency=0.1)
        self.shot = 0
        self.console = []

    # Helpers ---------------------------------------------------------------------------------

    def go(self, path):
        self.driver.get(self.server.url + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css):
        self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def fill(self, css, text):
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def text(self, css):
        return self.find(css).text

    def wait_text(self, css, needle):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), needle))

    def reveal(self, element):
        """Scrolls `element` to the middle of the window so the screenshot shows it."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        return element

    def wait_url(self, pattern):
        self.wait.until(lambda d: re.search(pattern, d.current_url))

    def screenshot(self, name):
        self.shot += 1
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, f"{self.shot:02d}-{name}.png"))

    def collect_console(self):
        # Browser logs drain on read, so they are gathered after every step.
        try:
            entries = [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]
            # The wrong-password step expects its 401; Chromium logs every 4xx page load.
            self.console += [entry for entry in entries if not re.search(r"/login - .*status of 401", entry.get("message", ""))]
        except Exception:
            pass

    def register(self, username):
        self.go("/register")
        self.fill("#username", username)
        self.fill("#password", PASSWORD)
        self.fill("#password2", PASSWORD)
        self.click("#register-submit")
        self.wait_text("#nav-user", username)

    def sign_out(self):
        self.click("#logout")
        self.find("#nav-login")

    # Steps -----------------------------------------------------------------------------------

    def home(self):
        self.go("/")
        assert "Datanets" in self.text("h1")
        self.find("#new-datanet")

    def register_curator(self):
        self.register(CURATOR)

    def create_datanet(self):
        self.click("#new-datanet")
        self.wait_url(r"/datanets/new$")
        self.fill("#title", "Kind customer replies")
        self.fill("#slug", SLUG)
        self.fill("#description", "Short, kind answers to customer questions, for tuning a support assistant.")
        self.click("#kind-text")
        self.find("#schema")  # shown only for text Datanets
        assert not self.driver.find_element(By.ID, "min_pixels").is_displayed(), "image bounds should be hidden for text"
        self.fill("#daily_limit", "10")
        self.fill("#min_chars", "20")
        self.fill("#max_chars", "2000")
        self.reveal(self.find("#kind-text"))
        self.screenshot("new-datanet-form")
        self.click("#create-datanet")
        self.wait_url(rf"/datanets/{SLUG}\?created=1$")
        rules = self.text("#rules")
        assert "up to 10 items a day" in rules, rules
        assert "between 20 and 2,000 characters" in rules, rules
        assert CURATOR in self.text("#curators")

    def register_contributor(self):
        self.sign_out()
        self.register(CONTRIBUTOR)

    def submit_valid(self):
        self.go(f"/datanets/{SLUG}")
        self.fill("#item-text", VALID_TEXT)
        self.click("#submit-item")
        result = self.reveal(self.find('#submit-results .result[data-status="pending"]'))
        marks = [m.text for m in result.find_elements(By.CSS_SELECTOR, ".check .mark")]
        assert marks and all(m == "✓" for m in marks), f"checks of a valid item: {marks}"

    def submit_invalid(self):
        self.fill("#item-text", SHORT_TEXT)
        self.click("#submit-item")
        result = self.reveal(self.find('#submit-results .result[data-status="rejected"]'))
        failed = result.find_elements(By.CSS_SELECTOR, ".check.fail")
        assert failed, "a too-short item shows a failed check"
        assert failed[0].find_element(By.CSS_SELECTOR, ".mark").text == "✗"
        reason = result.find_element(By.CSS_SELECTOR, ".reason").text
        assert "20" in reason or "character" in reason.lower(), f"reason names the length rule: {reason!r}"

    def my_submissions(self):
        self.go("/me/submissions")
        items = self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#my-submissions > li"))
        statuses = sorted(i.find_element(By.CSS_SELECTOR, ".badge").text.lower() for i in items)
        assert statuses == ["pending", "rejected"], statuses
        assert self.driver.find_elements(By.CSS_SELECTOR, "#my-submissions .status-rejected .reason")

    def wrong_password(self):
        self.sign_out()
        self.go("/login")
        self.fill("#username", CURATOR)
        self.fill("#password", "not the password")
        self.click("#login-submit")
        assert "Wrong username or password" in self.text("#form-error")

    def sign_in_curator(self):
        self.fill("#password", PASSWORD)
        self.click("#login-submit")
        self.wait_text("#nav-user", CURATOR)

    def review_queue(self):
        self.go(f"/datanets/{SLUG}")
        self.click("#open-queue")
        item = self.find("#queue > li")
        items = self.driver.find_elements(By.CSS_SELECTOR, "#queue > li")
        assert len(items) == 1, f"only the valid item waits for review, saw {len(items)}"
        assert VALID_TEXT[:30] in item.text
        item_id = item.get_attribute("data-id")
        # Rejecting without a reason is stopped in the page before it reaches the server.
        self.click(f"#reject-{item_id}")
        self.find("[data-review-error]")
        self.screenshot("reject-needs-reason")
        self.click(f"#accept-{item_id}")
        self.wait_text("#notice", f"#{item_id} accepted")
        self.find("#queue-empty")

    def leaderboard(self):
        self.click("#tab-leaderboard")
        row = self.find(f'#leaderboard tr[data-username="{CONTRIBUTOR}"]')
        assert row.find_element(By.CSS_SELECTOR, ".accepted").text == "1", row.text
        assert row.find_element(By.CSS_SELECTOR, ".rank").text.strip() == "1", row.text
        self.screenshot("datanet-leaderboard")
        self.go("/leaderboard")
        self.find(f'#leaderboard tr[data-username="{CONTRIBUTOR}"]')

    def publish_version(self):
        self.go(f"/datanets/{SLUG}/versions")
        self.click("#publish-version")
        self.wait_url(rf"/datanets/{SLUG}/versions/1\?published=1$")
        root = self.text("#merkle-root").strip()
        assert re.fullmatch(r"[0-9a-f]{64}", root), root
        api = self.server.api(f"/api/datanets/{SLUG}/versions/1")
        assert api["merkle_root"] == root and api["count"] == 1, (api["merkle_root"], root)
        assert len(self.driver.find_elements(By.CSS_SELECTOR, "#manifest tbody tr")) == 1
        link = self.find("#download-export").get_attribute("href")
        assert link.endswith(f"/api/datanets/{SLUG}/versions/1/export.jsonl"), link

    def no_console_errors(self):
        # A CSP violation or a script error shows up here; the pages must have none.
        assert not self.console, "\n".join(entry.get("message", "") for entry in self.console)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    server, driver = Server(), None
    passed = failed = 0
    try:
        server.start()
        driver = make_driver()
        flow = Flow(server, driver)
        steps = [
            ("home", flow.home), ("register-curator", flow.register_curator), ("create-datanet", flow.create_datanet),
            ("register-contributor", flow.register_contributor), ("submit-valid", flow.submit_valid),
            ("submit-invalid", flow.submit_invalid), ("my-submissions", flow.my_submissions),
            ("wrong-password", flow.wrong_password), ("sign-in-curator", flow.sign_in_curator),
            ("review-queue", flow.review_queue), ("leaderboard", flow.leaderboard), ("publish-version", flow.publish_version),
        ]
        broken = None
        for name, step in steps:
            if broken:
                failed += 1
                print(f"SKIP  {name} (after {broken} failed)", flush=True)
                continue
            try:
                step()
                flow.screenshot(name)
                passed += 1
                print(f"ok    {name}", flush=True)
            except Exception as error:  # any failure, assertion or timeout, is reported and stops the flow
                failed += 1
                broken = name
                flow.screenshot(name + "-FAILED")
                detail = "timed out waiting" if isinstance(error, TimeoutException) else f"{type(error).__name__}: {error}"
                print(f"FAIL  {name}: {detail} (at {driver.current_url})", flush=True)
                traceback.print_exc(limit=3)
            flow.collect_console()
        try:
            flow.no_console_errors()
            passed += 1
            print("ok    no-console-errors", flush=True)
        except AssertionError as error:
            failed += 1
            print(f"FAIL  no-console-errors: {error}", flush=True)
    except Exception as error:
        failed += 1
        print(f"FAIL  setup: {type(error).__name__}: {error}", flush=True)
    finally:
        if driver:
            driver.quit()
        server.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
