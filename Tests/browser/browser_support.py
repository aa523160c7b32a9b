"""What the Chromium tests share: the Selenium driver, a `kiln serve` (Tests/system/kiln_server.py) with JSON
helpers, the page helpers every flow uses, and the step runner that reports `N passed, M failed`."""
import json
import os
import re
import shutil
import sys
import traceback
import urllib.request

import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from kiln_server import ARTIFACTS, KilnServer  # noqa: E402

SHOTS = os.path.join(ARTIFACTS, "screenshots")
CHROMEDRIVER = os.environ.get("KILN_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20


class BrowserServer(KilnServer):
    """A `kiln serve` on a free port with a throwaway data folder, plus the JSON calls the flows set up with."""

    def call(self, method, path, token=None, expect=200, **kwargs):
        headers = {"Authorization": "Bearer " + token} if token else {}
        response = requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

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


class BrowserFlow:
    """Steps sharing one browser and one server. Subclasses set `shot_prefix` and `expected_console`, a regex
    of the SEVERE console messages one of their steps provokes on purpose (Chromium logs every 4xx page load)."""

    shot_prefix = ""
    expected_console = None

    def __init__(self, server, driver):
        self.server = server
        self.driver = driver
        self.wait = WebDriverWait(driver, WAIT, poll_frequency=0.1)
        self.shot = 0
        self.console = []

    def go(self, path):
        self.driver.get(self.server.url + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def reveal(self, element):
        """Scrolls `element` to the middle of the window, so a screenshot shows it and the sticky header
        cannot sit over it when it is clicked."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        return element

    def click(self, css):
        self.reveal(self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))).click()

    def fill(self, css, text):
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def wait_url(self, pattern):
        self.wait.until(lambda d: re.search(pattern, d.current_url))
        return re.search(pattern, self.driver.current_url)

    def screenshot(self, name):
        self.shot += 1
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, f"{self.shot_prefix}{self.shot:02d}-{name}.png"))

    def collect_console(self):
        # Browser logs drain on read, so they are gathered after every step.
        try:
            entries = [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]
            self.console += [entry for entry in entries
                             if not (self.expected_console and re.search(self.expected_console, entry.get("message", "")))]
        except Exception:
            pass

    def no_console_errors(self):
        # A CSP violation or a script error shows up here; the pages must have none.
        assert not self.console, "\n".join(entry.get("message", "") for entry in self.console)


def run_flow(make_flow, step_names, screenshot_each_step):
    """Starts a server and a browser, runs the named steps of `make_flow(server, driver)` in order (a failed step
    skips the rest), then checks the console; prints one line per step and returns the exit status."""
    os.makedirs(SHOTS, exist_ok=True)
    server, driver = BrowserServer(), None
    passed = failed = 0
    try:
        server.start()
        driver = make_driver()
        flow = make_flow(server, driver)
        broken = None
        for name in step_names:
            if broken:
                failed += 1
                print(f"SKIP  {name} (after {broken} failed)", flush=True)
                continue
            try:
                getattr(flow, name.replace("-", "_"))()
                if screenshot_each_step:
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
        server.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
