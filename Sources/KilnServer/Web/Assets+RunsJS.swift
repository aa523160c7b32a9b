// The ModelFactory's scripts for the New run form (defaults per base, module checkboxes, checks before sending, the
// estimate) and the run page (Server-Sent Events, an SVG loss chart, cancel and resume, the evaluation).

extension Assets {
    /// The runs part of `/static/kiln.js`.
    static let runsJS = #"""
        "use strict";
        (function () {
          const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
          const headers = { "X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/json" };
          function el(tag, className, text) {
            const node = document.createElement(tag);
            if (className) node.className = className;
            if (text !== undefined && text !== null) node.textContent = String(text);
            return node;
          }
          function duration(seconds) {
            if (!isFinite(seconds) || seconds < 0) return "–";
            if (seconds < 90) return Math.max(1, Math.round(seconds)) + " s";
            if (seconds < 5400) return Math.round(seconds / 60) + " min";
            return (seconds / 3600).toFixed(1) + " h";
          }
          function bytes(value) {
            if (!isFinite(value) || value <= 0) return "–";
            const units = ["B", "KB", "MB", "GB", "TB"];
            let unit = 0;
            while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
            return (value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)) + " " + units[unit];
          }
          function count(value) { return Number(value).toLocaleString("en-GB"); }
          async function post(url, body) {
            const response = await fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body || {}), credentials: "same-origin" });
            let data = null;
            try { data = await response.json(); } catch (ignored) { data = null; }
            return { ok: response.ok, status: response.status, data: data };
          }

          // ---- New run ------------------------------------------------------------------------------------------
          document.querySelectorAll("form[data-run-form]").forEach(function (form) {
            const base = form.elements.base, data = form.elements.data;
            const box = form.querySelector("[data-modules-box]");
            const formError = document.getElementById("run-form-error");
            const numbers = Array.from(form.querySelectorAll('input[type="number"]'));

            function moduleBox(name, label, checked) {
              const wrap = el("label", "check-box");
              const input = el("input");
              input.type = "checkbox"; input.name = "target_modules"; input.value = name; input.checked = checked;
              input.id = "module-" + name;
              wrap.appendChild(input);
              wrap.appendChild(document.createTextNode(" " + label));
              return wrap;
            }
            function applyBase() {
              const option = base.selectedOptions[0];
              const defaults = JSON.parse(option.dataset.defaults || "{}");
              Object.keys(defaults).forEach(function (key) {
                const field = form.elements[key];
                if (!field) return;
                if (field.type === "checkbox") field.checked = !!defaults[key]; else field.value = defaults[key];
              });
              box.replaceChildren(moduleBox("all-linear", "all linear layers", true));
              (option.dataset.modules || "").split(",").filter(Boolean).forEach(function (name) { box.appendChild(moduleBox(name, name, false)); });
            }
            box.addEventListener("change", function (event) {
              const all = box.querySelector('input[value="all-linear"]');
              if (event.target === all && all.checked) {
                box.querySelectorAll("input").forEach(function (input) { if (input !== all) input.checked = false; });
              } else if (event.target !== all && event.target.checked) {
                all.checked = false;
              }
            });
            function showSplit() {
              const option = data.selectedOptions[0];
              document.getElementById("data-split").textContent = count(option.dataset.train) + " training items; " +
                count(option.dataset.validation) + " held out for validation (the Datanet's rules set the share).";
            }

            function body() {
              const parts = data.value.split("@");
              const out = { datanet: parts[0], version: Number(parts[1]), base: base.value, lr_scheduler: form.elements.lr_scheduler.value,
                use_rslora: form.elements.use_rslora.checked, private: form.elements.private.checked };
              numbers.forEach(function (input) { if (input.value.trim() !== "") out[input.name] = Number(input.value); });
              if (form.elements.qlora.checked) out.qlora = "nf4";
              out.target_modules = Array.from(box.querySelectorAll("input:checked")).map(function (input) { return input.value; });
              return out;
            }
            function problems() {
              const found = [];
              numbers.forEach(function (input) {
                const text = input.value.trim();
                if (text === "") { if (input.required) found.push([input.name, "Required."]); return; }
                const value = Number(text), min = Number(input.min), max = Number(input.max);
                if (!isFinite(value)) found.push([input.name, "Must be a number."]);
                else if (input.step === "1" && !Number.isInteger(value)) found.push([input.name, "Must be a whole number."]);
                else if (value < min || value > max) found.push([input.name, "Must be from " + input.min + " to " + input.max + "."]);
              });
              const alpha = form.elements.lora_alpha;
              if (alpha.value.trim() !== "" && Number(alpha.value) <= 0) found.push(["lora_alpha", "Must be above 0."]);
              if (!box.querySelector("input:checked")) found.push(["target_modules", "Choose at least one module."]);
              return found;
            }
            function showProblems(found) {
              form.querySelectorAll("[data-error-for]").forEach(function (node) { node.hidden = true; });
              form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
              found.forEach(function (problem) {
                const slot = form.querySelector('[data-error-for="' + problem[0] + '"]');
                const input = form.elements[problem[0]];
                if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
                if (slot) { slot.textContent = problem[1]; slot.hidden = false; }
              });
              if (found.length) {
                const names = found.map(function (problem) { return problem[0].replace(/_/g, " "); });
                formError.textContent = "Check " + names.join(", ") + ": " + found[0][1];
                formError.hidden = false;
              } else {
                formError.hidden = true;
              }
            }

            let timer = null, asked = 0;
            async function estimate() {
              const note = document.getElementById("estimate-note");
              if (problems().length) { note.textContent = "Figures appear once the form is valid."; return; }
              const ticket = ++asked;
              note.textContent = "Estimating…";
              const answer = await post("/api/runs/estimate", body());
              if (ticket !== asked) return;
              if (!answer.ok) { note.textContent = answer.data && answer.data.error ? answer.data.error.message : "No estimate."; return; }
              const e = answer.data;
              document.querySelector('[data-est="steps"]').textContent = count(e.steps);
              document.querySelector('[data-est="tokens"]').textContent = count(e.tokens);
              document.querySelector('[data-est="time"]').textContent = duration(e.seconds);
              document.querySelector('[data-est="memory"]').textContent = bytes(e.memory_bytes);
              note.textContent = "At " + Math.round(e.tokens_per_second) + " tokens/s, " +
                (e.speed_source === "earlier_runs" ? "measured by earlier runs of this base here" : "from this node's engine speed") +
                "; " + count(e.trainable_parameters) + " trainable parameters.";
            }
            function later() { clearTimeout(timer); timer = setTimeout(estimate, 400); }

            base.addEventListener("change", function () { applyBase(); later(); });
            data.addEventListener("change", function () { showSplit(); later(); });
            form.addEventListener("input", later);
            form.addEventListener("change", later);
            form.addEventListener("submit", async function (event) {
              event.preventDefault();
              const found = problems();
              showProblems(found);
              if (found.length) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
              const button = form.querySelector('button[type="submit"]'), busy = form.querySelector("[data-busy]");
              button.disabled = true; busy.hidden = false;
              try {
                const answer = await post("/api/runs", body());
                if (answer.ok) { window.location.assign("/runs/" + answer.data.id); return; }
                const message = answer.data && answer.data.error ? answer.data.error.message : "The server answered " + answer.status + ".";
                const field = /Field "([a-z_]+)"/.exec(message);
                showProblems(field ? [[field[1], message]] : []);
                formError.textContent = message;
                formError.hidden = false;
              } catch (error) {
                formError.textContent = "The server could not be reached; try again.";
                formError.hidden = false;
              } finally {
                button.disabled = false; busy.hidden = true;
              }
            });
            applyBase();
            showSplit();
            later();
          });

          // ---- One run ------------------------------------------------------------------------------------------
          const run = document.getElementById("run");
          if (!run) return;
          const id = run.dataset.run;
          let train = [], evals = [], source = null, evaluated = false;
          const log = document.getElementById("run-log");

          function setLive(key, text) {
            const node = document.querySelector('[data-live="' + key + '"]');
            if (node) node.textContent = text;
          }
          function draw() {
            const svg = document.getElementById("loss-chart");
            const ns = "http://www.w3.org/2000/svg";
            svg.replaceChildren();
            const all = train.concat(evals);
            if (!all.length) {
              const text = document.createElementNS(ns, "text");
              text.setAttribute("x", 320); text.setAttribute("y", 130); text.setAttribute("text-anchor", "middle"); text.setAttribute("class", "axis");
              text.textContent = "The chart starts with the first logged step.";
              svg.appendChild(text);
              return;
            }
            const left = 52, right = 628, top = 12, bottom = 230;
            const maxStep = Math.max(1, Math.max.apply(null, all.map(function (p) { return p[0]; })));
            let low = Math.min.apply(null, all.map(function (p) { return p[1]; })), high = Math.max.apply(null, all.map(function (p) { return p[1]; }));
            if (high - low < 1e-6) { high += 0.5; low -= 0.5; }
            const x = function (step) { return left + (right - left) * step / maxStep; };
            const y = function (loss) { return bottom - (bottom - top) * (loss - low) / (high - low); };
            for (let i = 0; i <= 4; i++) {
              const value = low + (high - low) * i / 4;
              const line = document.createElementNS(ns, "line");
              line.setAttribute("x1", left); line.setAttribute("x2", right); line.setAttribute("y1", y(value)); line.setAttribute("y2", y(value));
              line.setAttribute("class", "grid-line");
              svg.appendChild(line);
              const label = document.createElementNS(ns, "text");
              label.setAttribute("x", left - 6); label.setAttribute("y", y(value) + 4); label.setAttribute("text-anchor", "end"); label.setAttribute("class", "axis");
              label.textContent = value.toFixed(2);
              svg.appendChild(label);
            }
            [[0, "start"], [maxStep, "end"]].forEach(function (tick) {
              const label = document.createElementNS(ns, "text");
              label.setAttribute("x", x(tick[0])); label.setAttribute("y", bottom + 20); label.setAttribute("text-anchor", tick[1]); label.setAttribute("class", "axis");
              label.textContent = "step " + tick[0];
              svg.appendChild(label);
            });
            [[train, "series train"], [evals, "series eval"]].forEach(function (series) {
              if (!series[0].length) return;
              const path = document.createElementNS(ns, "polyline");
              path.setAttribute("points", series[0].map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); }).join(" "));
              path.setAttribute("class", series[1]);
              svg.appendChild(path);
              series[0].forEach(function (p) {
                if (series[0].length > 60) return;
                const dot = document.createElementNS(ns, "circle");
                dot.setAttribute("cx", x(p[0]).toFixed(1)); dot.setAttribute("cy", y(p[1]).toFixed(1)); dot.setAttribute("r", 2.5);
                dot.setAttribute("class", series[1]);
                svg.appendChild(dot);
              });
            });
            svg.dataset.points = String(train.length);
            svg.dataset.evalPoints = String(evals.length);
          }
          function progress(p) {
            if (!p) return;
            if (p.step !== undefined && p.total_steps) {
              const share = Math.min(100, 100 * p.step / p.total_steps);
              const bar = document.getElementById("progress-bar");
              bar.setAttribute("aria-valuenow", share.toFixed(0));
              bar.firstElementChild.style.width = share + "%";
              setLive("step", p.step + " / " + p.total_steps);
            }
            if (p.loss !== undefined) setLive("loss", Number(p.loss).toFixed(4));
            if (p.learning_rate !== undefined) setLive("learning_rate", Number(p.learning_rate).toExponential(2));
            if (p.tokens_per_second !== undefined) setLive("tokens_per_second", Math.round(p.tokens_per_second));
            if (p.eta_seconds !== undefined) setLive("eta_seconds", duration(p.eta_seconds));
            if (p.rss_bytes !== undefined) setLive("rss_bytes", bytes(p.rss_bytes));
            if (p.epoch !== undefined) setLive("epoch", p.epoch);
          }
          function setState(state, error) {
            run.dataset.state = state;
            document.querySelectorAll("[data-state-badge]").forEach(function (badge) { badge.textContent = state; badge.className = "badge run-" + state; });
            const cancel = document.getElementById("cancel-run"), resume = document.getElementById("resume-run");
            if (cancel) cancel.hidden = !(state === "queued" || state === "running");
            if (resume) resume.hidden = !(state === "interrupted" || state === "failed" || state === "cancelled");
            const line = document.getElementById("state-line");
            line.textContent = error ? error : state === "interrupted" ? "The node stopped during this run. Resume continues from its last checkpoint."
              : state === "queued" ? "Waiting for the training worker…" : "";
            document.getElementById("finished-actions").hidden = state !== "succeeded";
            if (state === "succeeded") {
              const bar = document.getElementById("progress-bar");
              bar.firstElementChild.style.width = "100%";
              bar.setAttribute("aria-valuenow", "100");
              setLive("eta_seconds", "done");
              evaluate();
            }
          }
          function follow() {
            if (source) source.close();
            train = []; evals = []; log.textContent = "";
            source = new EventSource("/api/runs/" + encodeURIComponent(id) + "/events");
            source.addEventListener("metrics", function (event) {
              const m = JSON.parse(event.data);
              if (m.eval_loss !== undefined) {
                evals.push([m.step, m.eval_loss]);
                setLive("eval_loss", Number(m.eval_loss).toFixed(4));
                log.textContent += "step " + m.step + "  validation loss " + Number(m.eval_loss).toFixed(4) + "\n";
              } else if (m.loss !== undefined) {
                train.push([m.step, m.loss]);
                log.textContent += "step " + m.step + "  loss " + Number(m.loss).toFixed(4) + "  lr " + Number(m.learning_rate).toExponential(2) +
                  "  grad norm " + Number(m.grad_norm).toFixed(3) + "\n";
              }
              log.scrollTop = log.scrollHeight;
              draw();
            });
            source.addEventListener("state", function (event) {
              const s = JSON.parse(event.data);
              progress(s.progress);
              setState(s.state, s.error);
            });
            source.addEventListener("end", function () { source.close(); });
          }
          async function evaluate() {
            if (evaluated) return;
            evaluated = true;
            const section = document.getElementById("evaluation");
            section.hidden = false;
            const samples = document.getElementById("eval-samples");
            let response;
            try { response = await fetch("/api/runs/" + encodeURIComponent(id) + "/evaluation", { headers: { "Accept": "application/json" } }); }
            catch (error) { samples.textContent = "The evaluation could not be loaded."; return; }
            const data = await response.json().catch(function () { return null; });
            if (!response.ok || !data) { samples.textContent = data && data.error ? data.error.message : "The evaluation could not be loaded."; return; }
            const figures = document.getElementById("eval-figures");
            figures.replaceChildren();
            [["base validation loss", data.base_validation_loss], ["tuned validation loss", data.tuned_validation_loss],
             ["base perplexity", data.base_perplexity], ["tuned perplexity", data.tuned_perplexity]].forEach(function (pair) {
              const item = el("div");
              item.appendChild(el("dt", null, pair[0]));
              item.appendChild(el("dd", null, pair[1] === null || pair[1] === undefined ? "–" : Number(pair[1]).toFixed(3)));
              figures.appendChild(item);
            });
            samples.replaceChildren();
            if (data.split === "train") samples.appendChild(el("p", "hint", "This version has no validation items, so these prompts come from the training data."));
            data.samples.forEach(function (sample, index) {
              const card = el("div", "sample");
              card.dataset.sample = index;
              card.appendChild(el("p", "sample-prompt", sample.prompt));
              const grid = el("div", "sample-grid");
              [["Base", sample.base, "base"], ["Tuned", sample.tuned, "tuned"], ["Reference", sample.reference, "reference"]].forEach(function (part) {
                const column = el("div", "sample-answer " + part[2]);
                column.appendChild(el("p", "label", part[0]));
                column.appendChild(el("pre", null, part[1]));
                grid.appendChild(column);
              });
              card.appendChild(grid);
              samples.appendChild(card);
            });
          }
          document.querySelectorAll("[data-run-action]").forEach(function (button) {
            button.addEventListener("click", async function () {
              button.disabled = true;
              const answer = await post("/api/runs/" + encodeURIComponent(id) + "/" + button.dataset.runAction);
              button.disabled = false;
              if (!answer.ok) {
                document.getElementById("state-line").textContent = answer.data && answer.data.error ? answer.data.error.message : "Not done.";
                return;
              }
              setState(answer.data.state);
              follow();
            });
          });
          draw();
          setState(run.dataset.state);
          follow();
        })();
        """#
}
