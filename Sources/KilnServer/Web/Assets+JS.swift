// The site's script: plain JavaScript, no build step; every page works without it except the submit form.

extension Assets {
    /// `/static/kiln.js`.
    static let js = #"""
        "use strict";
        (function () {
          const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

          function el(tag, className, text) {
            const node = document.createElement(tag);
            if (className) node.className = className;
            if (text !== undefined && text !== null) node.textContent = String(text);
            return node;
          }

          // New Datanet: show only the fields that apply to the chosen kind.
          document.querySelectorAll("[data-kind-form]").forEach(function (form) {
            function sync() {
              const chosen = form.querySelector('input[name="kind"]:checked');
              const kind = chosen ? chosen.value : "text";
              form.querySelectorAll("[data-kind-only]").forEach(function (part) {
                part.hidden = part.getAttribute("data-kind-only") !== kind;
              });
            }
            form.querySelectorAll('input[name="kind"]').forEach(function (radio) { radio.addEventListener("change", sync); });
            sync();
          });

          // Chat items: add and remove message rows.
          document.querySelectorAll("[data-add-message]").forEach(function (button) {
            button.addEventListener("click", function () {
              const rows = document.getElementById("chat-rows");
              const last = rows && rows.lastElementChild;
              if (!last) return;
              const copy = last.cloneNode(true);
              copy.querySelector("textarea").value = "";
              const select = copy.querySelector("select");
              select.value = select.value === "user" ? "assistant" : "user";
              rows.appendChild(copy);
              copy.querySelector("textarea").focus();
            });
          });
          document.addEventListener("click", function (event) {
            const remove = event.target.closest("[data-remove-message]");
            if (!remove) return;
            const rows = document.getElementById("chat-rows");
            if (rows && rows.children.length > 1) remove.closest(".chat-row").remove();
          });

          // Drag and drop onto the file input's zone.
          document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
            const input = zone.querySelector('input[type="file"]');
            const list = zone.querySelector("[data-file-list]");
            function showFiles() {
              list.replaceChildren();
              Array.from(input.files).forEach(function (file) {
                list.appendChild(el("li", null, file.name + " · " + Math.max(1, Math.round(file.size / 1000)) + " KB"));
              });
            }
            ["dragenter", "dragover"].forEach(function (name) {
              zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
            });
            ["dragleave", "drop"].forEach(function (name) {
              zone.addEventListener(name, function () { zone.classList.remove("over"); });
            });
            zone.addEventListener("drop", function (event) {
              event.preventDefault();
              if (event.dataTransfer && event.dataTransfer.files.length) {
                input.files = event.dataTransfer.files;
                showFiles();
              }
            });
            input.addEventListener("change", showFiles);
          });

          // The submit form posts to the JSON API and shows every check's outcome.
          function itemBody(form) {
            const schema = form.dataset.schema;
            if (form.dataset.kind !== "text") {
              const data = new FormData();
              const files = form.querySelector('input[type="file"]').files;
              if (!files.length) throw new Error("Choose at least one file first.");
              Array.from(files).forEach(function (file) { data.append("file", file, file.name); });
              return data;
            }
            if (schema === "instruction") {
              const item = { instruction: form.elements.instruction.value, response: form.elements.response.value };
              if (form.elements.input.value.trim() !== "") item.input = form.elements.input.value;
              return JSON.stringify(item);
            }
            if (schema === "chat") {
              const messages = Array.from(form.querySelectorAll(".chat-row")).map(function (row) {
                return { role: row.querySelector("select").value, content: row.querySelector("textarea").value };
              });
              return JSON.stringify({ messages: messages });
            }
            return JSON.stringify({ text: form.elements.text.value });
          }

          function renderResult(item) {
            const box = el("div", "result " + item.status);
            box.dataset.status = item.status;
            box.dataset.id = item.id;
            const head = el("div", "result-head");
            head.appendChild(el("span", "badge " + item.status, item.status));
            head.appendChild(el("strong", null, "#" + item.id));
            const label = item.status === "pending" ? "Passed the checks; waiting for a curator."
              : item.status === "rejected" ? "Not accepted." : "Accepted.";
            head.appendChild(el("span", "muted", (item.file_name ? item.file_name + " — " : "") + label));
            box.appendChild(head);
            if (item.reason) box.appendChild(el("p", "reason", item.reason));
            const checks = el("ul", "checks");
            (item.checks || []).forEach(function (check) {
              const row = el("li", "check " + (check.ok ? "ok" : "fail"));
              row.appendChild(el("span", "mark", check.ok ? "✓" : "✗"));
              row.appendChild(el("span", "check-name", String(check.check).replace(/_/g, " ")));
              row.appendChild(el("span", "check-detail", check.detail));
              checks.appendChild(row);
            });
            box.appendChild(checks);
            return box;
          }

          function renderError(message) {
            const box = el("div", "result error");
            box.setAttribute("role", "alert");
            box.appendChild(el("strong", null, "Not sent: "));
            box.appendChild(document.createTextNode(message));
            return box;
          }

          document.querySelectorAll("form[data-submit]").forEach(function (form) {
            const results = document.getElementById("submit-results");
            const button = form.querySelector('button[type="submit"]');
            const busy = form.querySelector("[data-busy]");
            form.addEventListener("submit", async function (event) {
              event.preventDefault();
              let body;
              try { body = itemBody(form); } catch (error) { results.prepend(renderError(error.message)); return; }
              const headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
              if (typeof body === "string") headers["Content-Type"] = "application/json";
              button.disabled = true;
              busy.hidden = false;
              try {
                const response = await fetch("/api/datanets/" + encodeURIComponent(form.dataset.slug) + "/submissions",
                  { method: "POST", headers: headers, body: body, credentials: "same-origin" });
                let data = null;
                try { data = await response.json(); } catch (ignored) { data = null; }
                if (!response.ok) {
                  const message = data && data.error ? data.error.message : "The server answered " + response.status + ".";
                  results.prepend(renderError(message));
                  return;
                }
                const items = data.items ? data.items : [data];
                const group = el("div", "result-group");
                items.forEach(function (item) { group.appendChild(renderResult(item)); });
                results.prepend(group);
                // Keep rejected text so it can be fixed; clear what went through.
                if (items.every(function (item) { return item.status !== "rejected"; })) form.reset();
                const files = form.querySelector("[data-file-list]");
                if (files && items.every(function (item) { return item.status !== "rejected"; })) files.replaceChildren();
              } catch (error) {
                results.prepend(renderError("The server could not be reached; try again."));
              } finally {
                button.disabled = false;
                busy.hidden = true;
              }
            });
          });

          // Review: a rejection needs a reason the contributor will read.
          document.querySelectorAll("form[data-review]").forEach(function (form) {
            const reason = form.querySelector('input[name="reason"]');
            const message = form.querySelector("[data-review-error]");
            form.addEventListener("submit", function (event) {
              const decision = event.submitter ? event.submitter.value : "";
              if (decision === "reject" && reason.value.trim() === "") {
                event.preventDefault();
                message.textContent = "Write a reason before rejecting: the contributor sees it and can fix the item.";
                message.hidden = false;
                reason.setAttribute("aria-invalid", "true");
                reason.focus();
              }
            });
            reason.addEventListener("input", function () { message.hidden = true; reason.removeAttribute("aria-invalid"); });
          });
        })();
        """#
}
