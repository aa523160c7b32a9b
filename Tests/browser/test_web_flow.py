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
import os
import re
import secrets
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import BrowserFlow, run_flow  # noqa: E402


PASSWORD = "correct horse battery"
SUFFIX = secrets.token_hex(3)
CURATOR = f"curator_{SUFFIX}"
CONTRIBUTOR = f"maker_{SUFFIX}"
SLUG = f"kind-replies-{SUFFIX}"
VALID_TEXT = ("Thank you for waiting. I checked your order and it left our warehouse this morning; "
              "you should have it by Thursday.")
SHORT_TEXT = "Too short."
NEW_PASSWORD = "a brand new passphrase"


class Flow(BrowserFlow):
    """The steps, sharing one browser and one server; a step that fails stops the ones that depend on it."""

    # The wrong-password steps expect their 401s.
    expected_console = r"/(login|account/password) - .*status of 401"

    def text(self, css):
        return self.find(css).text

    def wait_text(self, css, needle):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), needle))

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

    def change_password(self):
        # The username in the header leads to the account page; a wrong current password is refused with the reason.
        self.click("#nav-user")
        self.fill("#current_password", "not the password")
        self.fill("#new_password", NEW_PASSWORD)
        self.fill("#new_password2", NEW_PASSWORD)
        self.click("#change-password")
        assert "current password is wrong" in self.text("#account-error"), self.text("#account-error")
        self.fill("#current_password", PASSWORD)
        self.fill("#new_password", NEW_PASSWORD)
        self.fill("#new_password2", NEW_PASSWORD)
        self.click("#change-password")
        self.wait_text("#account-notice", "password is changed")
        self.sign_out()
        self.go("/login")
        self.fill("#username", CURATOR)
        self.fill("#password", NEW_PASSWORD)
        self.click("#login-submit")
        self.wait_text("#nav-user", CURATOR)

    def no_console_errors(self):
        # A CSP violation or a script error shows up here; the pages must have none.
        assert not self.console, "\n".join(entry.get("message", "") for entry in self.console)


STEPS = ["home", "register-curator", "create-datanet", "register-contributor", "submit-valid", "submit-invalid",
         "my-submissions", "wrong-password", "sign-in-curator", "review-queue", "leaderboard", "publish-version",
         "change-password"]


if __name__ == "__main__":
    sys.exit(run_flow(Flow, STEPS, screenshot_each_step=True))
