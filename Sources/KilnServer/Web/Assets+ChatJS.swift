// The Chat page's script: conversations kept on the node per user (`/api/conversations`), answers streamed from
// `/v1/chat/completions` (one or two models side by side), a stop button, tokens/s per answer, and ratings and
// corrections submitted to a Datanet as ordinary items.

extension Assets {
    /// The chat part of `/static/kiln.js`.
    static let chatJS = #"""
        "use strict";
        (function () {
          const root = document.querySelector("[data-chat]");
          if (!root) return;
          const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
          const $ = function (id) { return document.getElementById(id); };
          function el(tag, className, text) {
            const node = document.createElement(tag);
            if (className) node.className = className;
            if (text !== undefined && text !== null) node.textContent = String(text);
            return node;
          }
          const json = { "X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/json" };
          let saved = [];
          let conversation = { id: null, title: "", turns: [] };
          let controllers = [];

          // Saves the conversation on the node (the page's DOM references left out), then refreshes the list.
          async function persist() {
            if (!conversation.turns.length) return;
            conversation.title = conversation.turns[0].user.slice(0, 60) || "Untitled";
            const turns = JSON.parse(JSON.stringify(conversation.turns, function (key, value) { return /[nN]ode$/.test(key) ? undefined : value; }));
            const url = "/api/conversations" + (conversation.id ? "/" + conversation.id : "");
            try {
              const response = await fetch(url, { method: conversation.id ? "PUT" : "POST", credentials: "same-origin", headers: json,
                body: JSON.stringify({ title: conversation.title, turns: turns }) });
              const data = await response.json().catch(function () { return null; });
              if (response.ok && data) conversation.id = data.id;
            } catch (ignored) { /* offline: the conversation stays on the page */ }
            await listConversations();
          }
          async function listConversations() {
            try {
              const response = await fetch("/api/conversations", { credentials: "same-origin", headers: { "Accept": "application/json" } });
              if (response.ok) saved = (await response.json()).items;
            } catch (ignored) { /* keep the last list */ }
            const list = $("conversation-list");
            list.replaceChildren();
            saved.forEach(function (c) {
              const item = el("li");
              const link = el("button", "link" + (c.id === conversation.id ? " current" : ""), c.title || "Untitled");
              link.type = "button";
              link.dataset.conversation = c.id;
              link.addEventListener("click", async function () {
                const response = await fetch("/api/conversations/" + c.id, { credentials: "same-origin", headers: { "Accept": "application/json" } });
                if (!response.ok) return;
                const data = await response.json();
                conversation = { id: data.id, title: data.title, turns: data.turns.map(function (turn) {
                  turn.replies.forEach(function (reply) { reply.done = true; });
                  return turn;
                }) };
                render();
                listConversations();
              });
              item.appendChild(link);
              list.appendChild(item);
            });
          }
          function models() {
            const chosen = [$("chat-model").value];
            if ($("chat-compare").checked) chosen.push($("chat-model-b").value);
            return chosen;
          }
          // The history one model sees: every earlier exchange with its own answer.
          function history(upto, column) {
            const messages = [];
            const system = $("chat-system").value.trim();
            if (system) messages.push({ role: "system", content: system });
            conversation.turns.slice(0, upto + 1).forEach(function (turn, index) {
              messages.push({ role: "user", content: turn.user });
              const reply = turn.replies[column] || turn.replies[0];
              if (index < upto && reply) messages.push({ role: "assistant", content: reply.text });
            });
            return messages;
          }

          function render() {
            const transcript = $("transcript");
            transcript.replaceChildren();
            if (!conversation.turns.length) {
              transcript.appendChild(el("p", "muted chat-empty", "Ask something to start. Each answer shows its speed; rate it or correct it to teach the next run."));
              return;
            }
            conversation.turns.forEach(function (turn, index) { transcript.appendChild(turnView(turn, index)); });
            transcript.scrollTop = transcript.scrollHeight;
          }
          function turnView(turn, index) {
            const box = el("div", "turn-group");
            const user = el("div", "bubble user");
            user.appendChild(el("pre", null, turn.user));
            box.appendChild(user);
            const replies = el("div", "replies" + (turn.replies.length > 1 ? " compare" : ""));
            turn.replies.forEach(function (reply, column) { replies.appendChild(replyView(turn, index, reply, column)); });
            box.appendChild(replies);
            return box;
          }
          function replyView(turn, index, reply, column) {
            const box = el("div", "bubble assistant");
            box.dataset.turn = index; box.dataset.column = column;
            box.appendChild(el("p", "reply-model", reply.model));
            const text = el("pre", "reply-text", reply.text);
            box.appendChild(text);
            reply.node = text;
            const sources = el("ol", "citations");
            reply.citationsNode = sources;
            citationsView(reply);
            box.appendChild(sources);
            const meta = el("p", "reply-meta", reply.meta || (reply.done ? "" : "…"));
            reply.metaNode = meta;
            box.appendChild(meta);
            const actions = el("div", "reply-actions");
            const up = el("button", "button small ghost", "✓ Good"), down = el("button", "button small ghost", "✗ Wrong"),
              fix = el("button", "button small", "Correct this answer");
            up.type = down.type = fix.type = "button";
            up.title = "Good answer: submit it as an example"; down.title = "Bad answer: write a better one";
            up.setAttribute("data-rate", "up"); down.setAttribute("data-rate", "down"); fix.setAttribute("data-correct", "");
            up.addEventListener("click", function () { submit(turn, index, column, reply.text, box, "Submitted as a good example"); });
            down.addEventListener("click", function () { editor(turn, index, column, reply, box); });
            fix.addEventListener("click", function () { editor(turn, index, column, reply, box); });
            [up, down, fix].forEach(function (b) { actions.appendChild(b); });
            actions.hidden = !reply.done;
            reply.actionsNode = actions;
            box.appendChild(actions);
            if (reply.status) box.appendChild(statusView(reply.status));
            return box;
          }
          function citationsView(reply) {
            const list = reply.citationsNode;
            list.textContent = "";
            list.hidden = !(reply.citations && reply.citations.length);
            (reply.citations || []).forEach(function (c) {
              const item = el("li", "citation");
              const link = el("a", null, "[" + c.index + "] " + [c.document].concat(c.heading_path || []).join(" › "));
              link.href = c.url; link.target = "_blank"; link.rel = "noopener"; link.title = c.text;
              link.setAttribute("data-citation", c.chunk_id);
              item.appendChild(link);
              if (c.contributor) {
                item.appendChild(document.createTextNode(" · contributed by "));
                const who = el("a", "contributor", c.contributor);
                who.href = c.item_url || "#";
                item.appendChild(who);
              }
              list.appendChild(item);
            });
          }
          function statusView(status) {
            const line = el("p", "feedback-status " + status.kind);
            line.appendChild(document.createTextNode(status.text + " "));
            if (status.href) { const link = el("a", null, status.link); link.href = status.href; line.appendChild(link); }
            return line;
          }
          function editor(turn, index, column, reply, box) {
            if (box.querySelector(".correction")) return;
            const form = el("form", "correction stack");
            const label = el("label", null, "A better answer");
            const area = el("textarea");
            area.rows = 4; area.value = reply.text; area.required = true; area.id = "correction-" + index + "-" + column;
            label.htmlFor = area.id;
            const actions = el("div", "actions");
            const send = el("button", "button primary small", "Submit correction"), cancel = el("button", "button small ghost", "Cancel");
            cancel.type = "button";
            send.setAttribute("data-submit-correction", "");
            cancel.addEventListener("click", function () { form.remove(); });
            actions.appendChild(send); actions.appendChild(cancel);
            form.appendChild(label); form.appendChild(area); form.appendChild(actions);
            form.addEventListener("submit", function (event) {
              event.preventDefault();
              if (!area.value.trim()) { area.focus(); return; }
              submit(turn, index, column, area.value, box, "Correction submitted").then(function (ok) { if (ok) form.remove(); });
            });
            box.appendChild(form);
            area.focus();
          }
          async function submit(turn, index, column, answer, box, done) {
            const target = $("feedback-datanet");
            const old = box.querySelector(".feedback-status");
            if (old) old.remove();
            if (!target) { box.appendChild(statusView({ kind: "error", text: "There is no Datanet to send feedback to." })); return false; }
            const schema = target.selectedOptions[0].dataset.schema;
            let item;
            if (schema === "chat") {
              item = { messages: history(index, column).concat([{ role: "assistant", content: answer }]) };
            } else {
              item = { instruction: turn.user, response: answer };
            }
            const response = await fetch("/api/datanets/" + encodeURIComponent(target.value) + "/submissions", {
              method: "POST", credentials: "same-origin",
              headers: { "X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/json" }, body: JSON.stringify(item) });
            const data = await response.json().catch(function () { return null; });
            let status;
            if (!response.ok) {
              status = { kind: "error", text: data && data.error ? data.error.message : "Not sent (" + response.status + ")." };
            } else {
              const stored = data.items ? data.items[0] : data;
              status = stored.status === "rejected"
                ? { kind: "error", text: "The checks refused it: " + (stored.reason || "see the Datanet's rules") + "." }
                : { kind: "ok", text: done + " as item #" + stored.id + ", waiting for review in", link: target.selectedOptions[0].textContent,
                    href: "/datanets/" + encodeURIComponent(target.value) };
            }
            turn.replies[column].status = status;
            persist();
            box.appendChild(statusView(status));
            return response.ok;
          }

          async function stream(turn, index, column) {
            const reply = turn.replies[column];
            const controller = new AbortController();
            controllers.push(controller);
            const started = performance.now();
            let tokens = 0, usage = null;
            const body = { model: reply.model, messages: history(index, column), stream: true, stream_options: { include_usage: true },
              temperature: Number($("chat-temperature").value), top_p: Number($("chat-top-p").value), max_tokens: Number($("chat-max-tokens").value) };
            const knowledge = $("chat-knowledge") ? $("chat-knowledge").value : "";
            if (knowledge) body.knowledge = [Number(knowledge)];
            try {
              const response = await fetch("/v1/chat/completions", { method: "POST", credentials: "same-origin", signal: controller.signal,
                headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", "Accept": "text/event-stream" }, body: JSON.stringify(body) });
              if (!response.ok) {
                const data = await response.json().catch(function () { return null; });
                throw new Error(data && data.error ? data.error.message : "The server answered " + response.status + ".");
              }
              const reader = response.body.getReader(), decoder = new TextDecoder();
              let buffer = "";
              for (;;) {
                const part = await reader.read();
                if (part.done) break;
                buffer += decoder.decode(part.value, { stream: true });
                let cut;
                while ((cut = buffer.indexOf("\n\n")) >= 0) {
                  const event = buffer.slice(0, cut);
                  buffer = buffer.slice(cut + 2);
                  event.split("\n").forEach(function (line) {
                    if (!line.startsWith("data: ")) return;
                    const payload = line.slice(6);
                    if (payload === "[DONE]") return;
                    const chunk = JSON.parse(payload);
                    if (chunk.error) throw new Error(chunk.error.message);
                    if (chunk.usage) usage = chunk.usage;
                    if (chunk.citations) { reply.citations = chunk.citations; citationsView(reply); }
                    const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
                    if (delta && delta.content) {
                      tokens++;
                      reply.text += delta.content;
                      reply.node.textContent = reply.text;
                      $("transcript").scrollTop = $("transcript").scrollHeight;
                    }
                  });
                }
              }
              const count = usage ? usage.completion_tokens : tokens;
              const seconds = (performance.now() - started) / 1000;
              reply.meta = count + " tokens · " + (count / Math.max(seconds, 1e-3)).toFixed(1) + " tokens/s";
            } catch (error) {
              reply.meta = error.name === "AbortError" ? "Stopped." : "Error: " + error.message;
            }
            reply.done = true;
            reply.metaNode.textContent = reply.meta;
            reply.actionsNode.hidden = !reply.text;
          }

          $("chat-form").addEventListener("submit", async function (event) {
            event.preventDefault();
            const input = $("chat-input");
            const text = input.value.trim();
            if (!text) return;
            input.value = "";
            const turn = { user: text, replies: models().map(function (model) { return { model: model, text: "", done: false }; }) };
            conversation.turns.push(turn);
            render();
            $("chat-send").disabled = true; $("chat-stop").hidden = false;
            controllers = [];
            const index = conversation.turns.length - 1;
            await Promise.all(turn.replies.map(function (reply, column) { return stream(turn, index, column); }));
            $("chat-send").disabled = false; $("chat-stop").hidden = true;
            persist();
          });
          $("chat-input").addEventListener("keydown", function (event) {
            if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("chat-form").requestSubmit(); }
          });
          $("chat-stop").addEventListener("click", function () { controllers.forEach(function (c) { c.abort(); }); });
          $("chat-compare").addEventListener("change", function () { $("compare-box").hidden = !$("chat-compare").checked; });
          $("new-conversation").addEventListener("click", function () {
            conversation = { id: null, title: "", turns: [] };
            render(); listConversations();
          });
          listConversations();
          render();
        })();
        """#
}
