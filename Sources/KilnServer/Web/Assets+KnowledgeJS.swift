// The Knowledge pages' script: creating a base, uploading files one at a time with a progress bar each (bytes sent,
// then indexing), adding a Datanet version, removing documents, and the search that asks BM25, dense and hybrid at
// once and shows their rankings side by side.

extension Assets {
    /// The knowledge part of `/static/kiln.js`.
    static let knowledgeJS = #"""
        "use strict";
        (function () {
          const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
          const headers = { "X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/json" };
          const $ = function (id) { return document.getElementById(id); };
          function el(tag, className, text) {
            const node = document.createElement(tag);
            if (className) node.className = className;
            if (text !== undefined && text !== null) node.textContent = String(text);
            return node;
          }
          function show(box, message) { if (box) { box.textContent = message; box.hidden = !message; } }
          async function send(method, url, body) {
            const response = await fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body ? JSON.stringify(body) : undefined });
            const data = response.status === 204 ? {} : await response.json().catch(function () { return null; });
            if (!response.ok) throw new Error(data && data.error ? data.error.message : "The server answered " + response.status + ".");
            return data;
          }

          const create = $("kb-create");
          if (create) create.addEventListener("submit", async function (event) {
            event.preventDefault();
            show($("kb-create-error"), "");
            try {
              const base = await send("POST", "/api/knowledge", {
                name: $("kb-name").value, description: $("kb-description").value, is_public: $("kb-public").checked,
                max_tokens: Number($("kb-max-tokens").value), overlap_tokens: Number($("kb-overlap").value), k1: Number($("kb-k1").value),
                b: Number($("kb-b").value), m: Number($("kb-m").value), ef_search: Number($("kb-ef").value) });
              location.href = "/knowledge/" + base.id;
            } catch (error) { show($("kb-create-error"), error.message); }
          });

          const head = document.querySelector("[data-knowledge-base]");
          if (!head) return;
          const baseId = head.getAttribute("data-knowledge-base");

          function uploadOne(file, row) {
            return new Promise(function (resolve) {
              const bar = row.querySelector("progress"), state = row.querySelector(".upload-state");
              const request = new XMLHttpRequest();
              request.open("POST", "/api/knowledge/" + baseId + "/documents?name=" + encodeURIComponent(file.name));
              request.setRequestHeader("X-CSRF-Token", csrf);
              request.setRequestHeader("Accept", "application/json");
              request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
              request.upload.onprogress = function (event) {
                if (event.lengthComputable) { bar.max = event.total; bar.value = event.loaded; }
                state.textContent = Math.round(100 * event.loaded / Math.max(event.total, 1)) + "% sent";
              };
              request.upload.onload = function () { state.textContent = "Indexing…"; bar.removeAttribute("value"); };
              request.onload = function () {
                let data = null;
                try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
                if (request.status === 201) {
                  const document = data.documents[0];
                  bar.max = 1; bar.value = 1;
                  state.textContent = "Indexed: " + document.chunk_count + " chunks";
                  row.classList.add("done");
                  resolve(true);
                } else {
                  state.textContent = data && data.error ? data.error.message : "Failed (" + request.status + ")";
                  row.classList.add("failed");
                  resolve(false);
                }
              };
              request.onerror = function () { state.textContent = "The connection failed."; row.classList.add("failed"); resolve(false); };
              request.send(file);
            });
          }

          const upload = $("kb-upload");
          if (upload) upload.addEventListener("submit", async function (event) {
            event.preventDefault();
            const files = Array.from($("kb-files").files || []);
            show($("kb-upload-error"), files.length ? "" : "Choose at least one file.");
            if (!files.length) return;
            $("kb-upload-button").disabled = true;
            const list = $("kb-progress");
            list.textContent = "";
            let ok = true;
            for (const file of files) {
              const row = el("li", "upload");
              row.appendChild(el("span", "upload-name", file.name));
              row.appendChild(el("progress"));
              row.appendChild(el("span", "upload-state", "Waiting"));
              list.appendChild(row);
              ok = (await uploadOne(file, row)) && ok;
            }
            $("kb-upload-button").disabled = false;
            if (ok) location.reload();
          });

          const version = $("kb-version");
          if (version) version.addEventListener("submit", async function (event) {
            event.preventDefault();
            $("kb-version-button").disabled = true;
            try {
              await send("POST", "/api/knowledge/" + baseId + "/datanet-versions", { datanet: $("kb-datanet").value, version: Number($("kb-version-number").value) });
              location.reload();
            } catch (error) { show($("kb-upload-error"), error.message); }
            $("kb-version-button").disabled = false;
          });

          document.querySelectorAll("[data-delete-document]").forEach(function (button) {
            button.addEventListener("click", async function () {
              if (!confirm("Remove this document and its chunks?")) return;
              try { await send("DELETE", "/api/knowledge/" + baseId + "/documents/" + button.getAttribute("data-delete-document")); location.reload(); }
              catch (error) { alert(error.message); }
            });
          });
          const remove = $("kb-delete");
          if (remove) remove.addEventListener("click", async function () {
            if (!confirm("Delete this knowledge base, its documents and chunks?")) return;
            try { await send("DELETE", "/api/knowledge/" + baseId); location.href = "/knowledge"; } catch (error) { alert(error.message); }
          });

          function result(hit, mode) {
            const item = el("li", "result");
            const link = el("a", "result-title", [hit.document].concat(hit.heading_path).join(" › "));
            link.href = hit.url;
            item.appendChild(link);
            const scores = [];
            if (hit.bm25 !== undefined && hit.bm25 !== null) scores.push("BM25 " + hit.bm25.toFixed(3) + (hit.bm25_rank ? " (#" + hit.bm25_rank + ")" : ""));
            if (hit.dense !== undefined && hit.dense !== null) scores.push("cos " + hit.dense.toFixed(3) + (hit.dense_rank ? " (#" + hit.dense_rank + ")" : ""));
            if (mode === "hybrid") scores.unshift("RRF " + hit.score.toFixed(4));
            item.appendChild(el("p", "result-scores", scores.join(" · ")));
            item.appendChild(el("p", "result-text", hit.text.length > 280 ? hit.text.slice(0, 280) + "…" : hit.text));
            return item;
          }
          const search = $("kb-search");
          if (search) search.addEventListener("submit", async function (event) {
            event.preventDefault();
            const query = $("kb-query").value;
            await Promise.all(["bm25", "dense", "hybrid"].map(async function (mode) {
              const list = $("results-" + mode);
              list.textContent = "";
              list.appendChild(el("li", "muted", "Searching…"));
              try {
                const data = await send("POST", "/api/knowledge/" + baseId + "/search", { query: query, mode: mode, limit: 5 });
                list.textContent = "";
                if (!data.results.length) list.appendChild(el("li", "muted", "Nothing found."));
                data.results.forEach(function (hit) { list.appendChild(result(hit, mode)); });
              } catch (error) { list.textContent = ""; list.appendChild(el("li", "alert error", error.message)); }
            }));
          });
        })();
        """#
}
