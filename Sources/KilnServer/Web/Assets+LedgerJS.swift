// The ledger verifier in plain JavaScript: JCS, SHA-256, Ed25519 and the RFC 9162 audit path, all with WebCrypto.

extension Assets {
    /// `/static/kiln.js`: the site script followed by the ledger verifier.
    static let script = js + "\n" + ledgerJS + "\n" + runsJS + "\n" + chatJS + "\n" + knowledgeJS

    /// Checks an entry (or a receipt) in the browser, trusting nothing but WebCrypto and the node key it shows.
    ///
    /// Every step is shown with ✓/✗ and all steps run even after a failure, so a tampered field shows exactly
    /// which checks it breaks. Later steps use the hash the browser computed, never the one the server sent.
    static let ledgerJS = #"""
        "use strict";
        (function () {
          const panel = document.querySelector("[data-verify]");
          if (!panel) return;
          const button = document.getElementById("verify-button");
          const list = document.getElementById("verify-steps");
          const verdict = document.getElementById("verify-result");
          const encoder = new TextEncoder();

          // RFC 8785 (JCS) for the values the ledger holds: keys sorted by UTF-16 code units (JS's default sort),
          // strings and numbers as JSON.stringify writes them, which is what RFC 8785 §3.2.2 specifies.
          function jcs(value) {
            if (value === null) return "null";
            if (typeof value === "boolean") return value ? "true" : "false";
            if (typeof value === "number") {
              if (!Number.isFinite(value)) throw new Error("a number is not finite");
              return JSON.stringify(value);
            }
            if (typeof value === "string") return JSON.stringify(value);
            if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
            if (typeof value === "object") {
              return "{" + Object.keys(value).sort().map(function (key) { return JSON.stringify(key) + ":" + jcs(value[key]); }).join(",") + "}";
            }
            throw new Error("a value of type " + typeof value + " has no JSON form");
          }

          function hexToBytes(hex, length) {
            if (typeof hex !== "string" || !/^(?:[0-9a-f]{2})*$/.test(hex) || (length && hex.length !== length * 2)) {
              throw new Error("not " + (length ? length + " bytes of " : "") + "lowercase hex: " + String(hex).slice(0, 20));
            }
            const bytes = new Uint8Array(hex.length / 2);
            for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
            return bytes;
          }
          function toHex(bytes) {
            return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
          }
          function concat() {
            const parts = Array.from(arguments);
            const out = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
            let at = 0;
            parts.forEach(function (p) { out.set(p, at); at += p.length; });
            return out;
          }
          async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
          function short(hex) { return String(hex).slice(0, 12) + "…"; }

          async function ed25519(publicKey, signatureHex, message) {
            const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
            return crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(signatureHex, 64), message);
          }

          // RFC 9162 §2.1.3.2: the root an audit path leads to from leaf `index` in a tree of `size` leaves, or null.
          async function rootFromAuditPath(index, size, leaf, path) {
            if (!(index >= 0 && index < size)) return null;
            let fn = index, sn = size - 1, r = leaf;
            for (const hex of path) {
              const p = hexToBytes(hex, 32);
              if (sn === 0) return null;
              if (fn % 2 === 1 || fn === sn) {
                r = await sha256(concat(Uint8Array.of(1), p, r));
                if (fn % 2 === 0) {
                  while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
                }
              } else {
                r = await sha256(concat(Uint8Array.of(1), r, p));
              }
              fn = Math.floor(fn / 2);
              sn = Math.floor(sn / 2);
            }
            return sn === 0 ? r : null;
          }

          async function getJSON(url) {
            const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" });
            if (!response.ok) throw new Error(url + " answered " + response.status);
            return response.json();
          }

          // What to check: an entry with its proof in the latest head, or a receipt; always against the node's key.
          async function load() {
            const key = await getJSON("/api/ledger/key");
            if (panel.dataset.verify === "receipt") {
              const receipt = await getJSON(panel.dataset.receiptUrl);
              return { key: key, entry: receipt.entry, proof: receipt.inclusion, head: receipt.tree_head, receiptKey: receipt.public_key };
            }
            const seq = panel.dataset.seq;
            const entry = await getJSON("/api/ledger/entries/" + encodeURIComponent(seq));
            const head = await getJSON("/api/ledger/head");
            const proof = await getJSON("/api/ledger/proof/inclusion?seq=" + encodeURIComponent(seq) + "&tree_size=" + encodeURIComponent(head.tree_size));
            return { key: key, entry: entry, proof: proof, head: head, receiptKey: null };
          }

          function show(name, ok, detail) {
            const row = document.createElement("li");
            row.className = "check " + (ok ? "ok" : "fail");
            row.dataset.ok = ok ? "true" : "false";
            const mark = document.createElement("span");
            mark.className = "mark";
            mark.setAttribute("aria-hidden", "true");
            mark.textContent = ok ? "✓" : "✗";
            const label = document.createElement("span");
            label.className = "check-name";
            label.textContent = name;
            const text = document.createElement("span");
            text.className = "check-detail";
            text.textContent = detail;
            row.append(mark, label, text);
            list.appendChild(row);
            return ok;
          }

          // Runs one named check; an exception is a failure with its message, never an unhandled error.
          async function step(name, failures, body) {
            let ok = false, detail;
            try { [ok, detail] = await body(); } catch (error) { ok = false; detail = error && error.message ? error.message : String(error); }
            if (!show(name, ok, detail)) failures.push(name);
          }

          async function verify() {
            button.disabled = true;
            list.replaceChildren();
            verdict.hidden = true;
            const failures = [];
            let data;
            try {
              data = await load();
              show("Fetched", true, "entry " + data.entry.seq + ", its proof, the signed tree head of " + data.head.tree_size + " entries and the node key");
            } catch (error) {
              show("Fetched", false, error.message);
              failures.push("Fetched");
            }
            if (data) {
              const { key, entry, proof, head } = data;
              let publicKey = null, hash = null, leaf = null, root = null;
              await step("Node key", failures, async function () {
                if (key.algorithm !== "ed25519") return [false, "unexpected algorithm " + key.algorithm];
                publicKey = hexToBytes(key.public_key, 32);
                if (data.receiptKey !== null && data.receiptKey !== key.public_key) return [false, "the receipt names another key: " + short(data.receiptKey)];
                return [true, "Ed25519 " + short(key.public_key) + (data.receiptKey !== null ? ", the key the receipt names" : "")];
              });
              await step("Entry hash", failures, async function () {
                const canonical = jcs({ seq: entry.seq, time: entry.time, kind: entry.kind, payload: entry.payload, prev_hash: entry.prev_hash });
                hash = await sha256(encoder.encode(canonical));
                const ok = toHex(hash) === entry.hash;
                return [ok, "SHA-256 of the canonical JSON (" + canonical.length + " bytes) is " + short(toHex(hash)) + (ok ? ", as listed" : ", but the entry lists " + short(entry.hash))];
              });
              await step("Entry signature", failures, async function () {
                if (!publicKey || !hash) return [false, "needs the key and the hash"];
                const ok = await ed25519(publicKey, entry.signature, hash);
                return [ok, ok ? "Ed25519 by the node key over the 32 hash bytes" : "the signature does not match the hash the browser computed"];
              });
              await step("Leaf hash", failures, async function () {
                if (!hash) return [false, "needs the entry hash"];
                leaf = await sha256(concat(Uint8Array.of(0), hash));
                const ok = toHex(leaf) === proof.leaf_hash && proof.seq === entry.seq;
                return [ok, "SHA-256(0x00 ‖ hash) = " + short(toHex(leaf)) + (ok ? "" : ", but the proof is for " + short(proof.leaf_hash) + " at " + proof.seq)];
              });
              await step("Audit path", failures, async function () {
                if (!leaf) return [false, "needs the leaf hash"];
                root = await rootFromAuditPath(entry.seq, proof.tree_size, leaf, proof.audit_path || []);
                if (!root) return [false, "the path's length does not fit leaf " + entry.seq + " of " + proof.tree_size];
                const ok = toHex(root) === proof.root;
                return [ok, (proof.audit_path || []).length + " sibling hashes lead to " + short(toHex(root)) + (ok ? "" : ", not the proof's root " + short(proof.root))];
              });
              await step("Root is the signed root", failures, async function () {
                if (!root) return [false, "needs the root the audit path leads to"];
                const ok = toHex(root) === head.root && proof.tree_size === head.tree_size;
                return [ok, ok ? "equals the root of the signed tree head of " + head.tree_size + " entries" : "the signed tree head says " + short(head.root) + " for " + head.tree_size + " entries"];
              });
              await step("Tree head signature", failures, async function () {
                if (!publicKey) return [false, "needs the key"];
                const message = encoder.encode(jcs({ root: head.root, timestamp: head.timestamp, tree_size: head.tree_size }));
                const ok = await ed25519(publicKey, head.signature, message);
                return [ok, ok ? "Ed25519 by the node key over the canonical {root, timestamp, tree_size}" : "the signature does not match the tree head"];
              });
            }
            const ok = failures.length === 0;
            verdict.dataset.ok = ok ? "true" : "false";
            verdict.className = "verify-result " + (ok ? "ok" : "fail");
            verdict.textContent = ok ? "Verified in your browser" : "Verification failed: " + failures.join(", ").toLowerCase();
            verdict.hidden = false;
            button.disabled = false;
          }

          button.addEventListener("click", verify);
        })();
        """#
}
