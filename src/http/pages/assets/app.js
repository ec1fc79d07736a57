// hoso pages: small helpers, no framework, no build step. Every page works without this
// script where it can; with it, uploads get drag and drop and per-file progress, and OCR
// jobs are followed until their text appears.
"use strict";
const hoso = {
  csrf() { return document.body.dataset.csrf || ""; },
  lang() { return document.body.dataset.lang || "vi"; },
  t(vi, en) { return hoso.lang() === "en" ? en : vi; },
  // fetch with the session's CSRF token on state-changing requests.
  async call(url, options = {}) {
    const headers = Object.assign({ "x-csrf-token": hoso.csrf() }, options.headers || {});
    const response = await fetch(url, Object.assign({}, options, { headers, credentials: "same-origin" }));
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, ok: response.ok, body };
  },
  errorText(body) {
    if (!body || !body.error) return hoso.t("Lỗi không xác định", "Unknown error");
    return (hoso.lang() === "en" ? body.error.message_en : body.error.message) + " [" + body.error.code + "]";
  },
  // One file, with progress (XMLHttpRequest: fetch has no upload progress).
  upload(url, formData, onProgress) {
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("x-csrf-token", hoso.csrf());
      request.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      request.onload = () => {
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (_) { body = null; }
        resolve({ status: request.status, ok: request.status >= 200 && request.status < 300, body });
      };
      request.onerror = () => resolve({ status: 0, ok: false, body: null });
      request.send(formData);
    });
  },
  sleep(ms) { return new Promise((r) => setTimeout(r, ms)); },
};
window.hoso = hoso;
// Pages register their wiring here: hoso.on("page-name", fn) runs fn when <main data-page> matches.
hoso.handlers = {};
hoso.on = (name, fn) => { hoso.handlers[name] = fn; };
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-page]").forEach((el) => {
    const fn = hoso.handlers[el.dataset.page];
    if (fn) fn(el);
  });
  document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
});

/* --- clerk --- */
// The clerk's pages: procedure picker, drag-and-drop uploads with a progress bar per file and
// the OCR job followed until its text appears, metadata saved with the version it was read at.
(() => {
  // Folded text (no accents, đ → d) so that "khai sinh" finds "Đăng ký khai sinh".
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d").toLowerCase();
  const percent = (fraction) => Math.max(0, Math.min(100, Math.round(fraction * 100))) + "%";
  const jsonOptions = (method, body) => ({
    method, headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });

  hoso.on("clerk-dashboard", (root) => {
    const search = root.querySelector("#procedure-search");
    const select = root.querySelector("#procedure");
    if (!search || !select) return;
    let asked = "";
    const addFromApi = async (needle) => {
      // The page lists the first procedures of the catalogue; a larger one is searched by the API.
      asked = needle;
      const r = await hoso.call("/api/v1/procedures?q=" + encodeURIComponent(needle));
      if (!r.ok || asked !== needle) return;
      const found = Array.isArray(r.body) ? r.body : (r.body && r.body.procedures) || [];
      for (const p of found) {
        if (Array.from(select.options).some((o) => o.value === p.code)) continue;
        const option = new Option(`${p.code} — ${p.name} (${p.processing_days} ${hoso.t("ngày làm việc", "working days")})`, p.code);
        select.add(option);
      }
      filter();
    };
    const filter = () => {
      const needle = fold(search.value.trim());
      let first = null;
      for (const option of select.options) {
        if (!option.value) continue;
        const match = !needle || fold(option.textContent).includes(needle);
        option.hidden = !match;
        if (match && !first) first = option;
      }
      const chosen = select.selectedOptions[0];
      if (needle && first && (!select.value || (chosen && chosen.hidden))) select.value = first.value;
      return first;
    };
    search.addEventListener("input", () => {
      const first = filter();
      const needle = search.value.trim();
      if (!first && needle.length >= 2) addFromApi(needle);
    });
  });

  // One uploaded file's row in #upload-list.
  function uploadRow(list, file) {
    const li = document.createElement("li");
    li.className = "upload-item";
    li.innerHTML = '<div class="upload-head"><span class="name"></span> <span class="size muted"></span> '
      + '<span class="state"></span> <a class="open hidden"></a></div>'
      + '<div class="progress upload-progress"><span></span></div>'
      + '<div class="progress ocr-progress hidden"><span></span></div>'
      + '<pre class="ocr ocr-result hidden"></pre>';
    li.querySelector(".name").textContent = file.name;
    li.querySelector(".size").textContent = "(" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
    list.appendChild(li);
    return li;
  }

  function setState(li, text, kind) {
    const state = li.querySelector(".state");
    state.textContent = text;
    state.className = "state " + (kind || "");
    if (kind === "bad") li.classList.add("failed");
  }

  function jobError(job) {
    const text = hoso.lang() === "en" ? job.error_message_en : job.error_message;
    return (text || hoso.t("Nhận dạng thất bại", "OCR failed")) + (job.error_code ? " [" + job.error_code + "]" : "");
  }

  // Follows an OCR job (GET /api/v1/jobs/{id}) until it ends; the text is shown when done.
  async function followJob(job, li) {
    const wrap = li.querySelector(".ocr-progress");
    const bar = wrap.querySelector("span");
    wrap.classList.remove("hidden");
    li.dataset.jobId = job.job_id;
    for (;;) {
      const r = await hoso.call("/api/v1/jobs/" + encodeURIComponent(job.job_id));
      if (!r.ok) { setState(li, hoso.errorText(r.body), "bad"); return; }
      const j = (r.body && r.body.job) || r.body;
      if (j.progress_total) bar.style.width = percent(j.progress_done / j.progress_total);
      if (j.state === "done") {
        bar.style.width = "100%";
        setState(li, hoso.t("đã nhận dạng xong", "text recognized"), "ok");
        li.classList.add("ocr-done");
        const result = j.result || {};
        const t = await hoso.call(`/api/v1/documents/${result.document_id}/versions/${result.version}/text`);
        const pre = li.querySelector(".ocr-result");
        pre.textContent = t.ok ? (t.body.text || "") : hoso.errorText(t.body);
        pre.classList.remove("hidden");
        return;
      }
      if (j.state === "failed") { setState(li, jobError(j), "bad"); return; }
      const pages = j.progress_total ? ` ${j.progress_done}/${j.progress_total} ${hoso.t("trang", "pages")}` : "";
      setState(li, (j.state === "queued" ? hoso.t("đang chờ nhận dạng…", "waiting for OCR…")
        : hoso.t("đang nhận dạng chữ…", "recognizing text…")) + pages, "");
      await hoso.sleep(1000);
    }
  }

  hoso.on("clerk-dossier", (root) => {
    const zone = root.querySelector("#dropzone");
    const input = root.querySelector("#file-input");
    const list = root.querySelector("#upload-list");
    if (!zone || !input || !list) return;
    zone.classList.add("ready");
    const code = zone.dataset.dossier;
    const following = [];

    async function uploadOne(file) {
      const li = uploadRow(list, file);
      const bar = li.querySelector(".upload-progress > span");
      const form = new FormData();
      form.append("dossier", code);
      form.append("role", root.querySelector("#upload-role").value);
      form.append("ocr", root.querySelector("#upload-ocr").checked ? "true" : "false");
      form.append("file", file, file.name);
      setState(li, hoso.t("đang tải lên…", "uploading…"), "");
      const r = await hoso.upload("/api/v1/documents", form, (f) => { bar.style.width = percent(f); });
      if (!r.ok) { setState(li, hoso.errorText(r.body), "bad"); return; }
      bar.style.width = "100%";
      const body = r.body || {};
      if (body.failed && body.failed.length && !(body.documents || []).length) {
        setState(li, hoso.errorText({ error: body.failed[0].error }), "bad");
        return;
      }
      const doc = (body.documents || [])[0];
      if (!doc) { setState(li, hoso.t("Không rõ kết quả", "Unknown outcome"), "bad"); return; }
      li.dataset.documentId = doc.id;
      const open = li.querySelector("a.open");
      open.href = "/clerk/documents/" + doc.id;
      open.textContent = hoso.t("Mở tài liệu", "Open");
      open.classList.remove("hidden");
      setState(li, doc.duplicate ? hoso.t("đã có trong hồ sơ, không lưu trùng", "already in the dossier, not stored twice")
        : hoso.t("đã lưu", "stored"), "ok");
      const job = (body.jobs || []).find((j) => j.document_id === doc.id) || (body.jobs || [])[0];
      if (job) following.push(followJob(job, li));
      else if (doc.ocr_skipped) setState(li, hoso.t("đã lưu; không nhận dạng: ", "stored; no OCR: ") + doc.ocr_skipped, "ok");
    }

    async function send(files) {
      if (!files.length) return;
      // One request per file, one after the other (a progress bar each); OCR jobs run meanwhile.
      for (const file of files) await uploadOne(file);
      await Promise.all(following);
      root.querySelector("#upload-done").classList.remove("hidden");
    }

    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.remove("over");
    }));
    zone.addEventListener("drop", (e) => send(Array.from(e.dataTransfer.files || [])));
    input.addEventListener("change", () => {
      const files = Array.from(input.files || []);
      input.value = "";
      send(files);
    });
  });

  hoso.on("clerk-document", (root) => {
    const id = root.dataset.documentId;
    const form = root.querySelector("#metadata-form");
    const message = root.querySelector("#metadata-message");
    const say = (text, kind) => { message.textContent = text; message.className = kind; };
    if (form) form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const metadata = {};
      for (const el of form.elements) {
        if (!el.name || el.name === "reason") continue;
        const value = el.value.trim();
        if (value === "") metadata[el.name] = null;
        else if (el.name === "page_count" && /^\d+$/.test(value)) metadata[el.name] = Number(value);
        else metadata[el.name] = value;
      }
      const body = {
        expected_version: Number(form.dataset.version),
        metadata,
        reason: form.elements.reason.value.trim() || hoso.t("Sửa thông tin văn bản", "Metadata corrected"),
      };
      const save = form.querySelector("#metadata-save");
      save.disabled = true;
      say(hoso.t("Đang lưu…", "Saving…"), "muted");
      const r = await hoso.call(`/api/v1/documents/${id}/metadata`, jsonOptions("PATCH", body));
      save.disabled = false;
      if (r.ok) {
        const v = r.body && (r.body.version !== undefined ? r.body.version : (r.body.stored || {}).version);
        if (v !== undefined) {
          form.dataset.version = v;
          root.dataset.version = v;
          const current = root.querySelector("#current-version");
          if (current) current.textContent = v;
        }
        say(hoso.t("Đã lưu thông tin (phiên bản ", "Saved (version ") + v + ")", "ok");
      } else if (r.status === 409) {
        say(hoso.t("Tài liệu vừa có phiên bản mới, hãy tải lại trang rồi sửa lại.",
          "The document has just got a new version: reload the page and edit again."), "bad");
      } else {
        say(hoso.errorText(r.body), "bad");
      }
    });

    const start = root.querySelector("#start-ocr");
    if (start) start.addEventListener("click", async () => {
      const note = root.querySelector("#ocr-message");
      const wrap = root.querySelector("#ocr-progress");
      start.disabled = true;
      const r = await hoso.call(`/api/v1/documents/${id}/ocr`, { method: "POST" });
      if (!r.ok) { note.textContent = hoso.errorText(r.body); note.className = "bad"; start.disabled = false; return; }
      const job = (r.body && r.body.job) || r.body;
      wrap.classList.remove("hidden");
      for (;;) {
        const s = await hoso.call("/api/v1/jobs/" + encodeURIComponent(job.job_id));
        const j = s.ok ? ((s.body && s.body.job) || s.body) : null;
        if (!j) { note.textContent = hoso.errorText(s.body); note.className = "bad"; return; }
        if (j.progress_total) wrap.querySelector("span").style.width = percent(j.progress_done / j.progress_total);
        if (j.state === "done") { window.location.reload(); return; }
        if (j.state === "failed") { note.textContent = jobError(j); note.className = "bad"; return; }
        note.textContent = hoso.t("Đang nhận dạng chữ…", "Recognizing text…");
        note.className = "muted";
        await hoso.sleep(1000);
      }
    });
  });
})();

/* --- official --- */
// The official's pages: pick documents in the queue, sign them with one password (asked once
// per batch, sent once, never kept), and see where the visible signature will go.
(() => {
  // POST /api/v1/sign; the password field is emptied as soon as the request is built.
  async function sign(form, documents) {
    const reason = form.elements.reason.value.trim();
    const anchor = form.elements.anchor.value.trim();
    const appearance = { kind: form.elements.appearance.value };
    if (reason) appearance.reason = reason;
    if (anchor && appearance.kind === "official") appearance.anchor = anchor;
    const body = JSON.stringify({
      key_id: Number(form.elements.key_id.value),
      password: form.elements.password.value,
      documents,
      appearance,
    });
    form.elements.password.value = "";
    return hoso.call("/api/v1/sign", { method: "POST", headers: { "content-type": "application/json" }, body });
  }

  // Choosing another key proposes its certificate's title as the anchor.
  function followKeyTitle(form) {
    if (!form || !form.elements.key_id) return;
    form.elements.key_id.addEventListener("change", () => {
      const option = form.elements.key_id.selectedOptions[0];
      if (option && option.dataset.anchor) form.elements.anchor.value = option.dataset.anchor;
    });
  }

  // The verification of the signed result, in words.
  const indications = {
    "TOTAL-PASSED": ["chữ ký hợp lệ", "signature valid"],
    "INDETERMINATE": ["chưa xác định được hiệu lực chữ ký", "validity not determined"],
    "TOTAL-FAILED": ["chữ ký không hợp lệ", "signature not valid"],
  };

  function resultText(result) {
    if (result.ok) {
      const words = indications[result.indication];
      return hoso.t("đã ký", "signed") + (result.version ? " (" + hoso.t("phiên bản ", "version ") + result.version + ")" : "")
        + (result.indication ? " · " + (words ? hoso.t(words[0], words[1]) : result.indication) : "");
    }
    return hoso.errorText({ error: result.error });
  }

  // Shows the outcome of a signing request in `form` (status line, one line per document);
  // returns the per-document results.
  function showResults(form, response, total) {
    const status = form.querySelector("#sign-status");
    const list = form.querySelector("#sign-results");
    list.textContent = "";
    if (!response.ok) {
      status.textContent = hoso.errorText(response.body);
      status.className = "bad";
      return [];
    }
    const results = (response.body && response.body.results) || [];
    for (const result of results) {
      const li = document.createElement("li");
      li.className = result.ok ? "ok" : "bad";
      li.dataset.documentId = result.document_id;
      li.textContent = "#" + result.document_id + ": " + resultText(result);
      list.appendChild(li);
    }
    const done = results.filter((r) => r.ok).length;
    status.textContent = `${done}/${total} ` + hoso.t("văn bản đã ký", "documents signed");
    status.className = done === total ? "ok" : "bad";
    if (done) {
      const link = document.createElement("a");
      link.href = "/official/signed";
      link.id = "see-signed";
      link.textContent = " " + hoso.t("Xem các văn bản đã ký", "See what I signed");
      status.appendChild(link);
    }
    return results;
  }

  hoso.on("official-queue", (root) => {
    const picks = () => Array.from(root.querySelectorAll("#queue input.pick:checked"));
    const count = root.querySelector("#selected-count");
    const update = () => {
      if (!count) return;
      const n = picks().length;
      count.textContent = n ? `${n} ` + hoso.t("văn bản đã chọn", "selected") : "";
    };
    const all = root.querySelector("#select-all");
    if (all) all.addEventListener("change", () => {
      root.querySelectorAll("#queue input.pick:not(:disabled)").forEach((c) => { c.checked = all.checked; });
      update();
    });
    root.querySelectorAll("#queue input.pick").forEach((c) => c.addEventListener("change", update));
    const panel = root.querySelector("#sign-panel");
    const open = root.querySelector("#sign-selected");
    if (open) open.addEventListener("click", () => {
      if (!picks().length) {
        count.textContent = hoso.t("Hãy chọn ít nhất một văn bản.", "Select at least one document.");
        return;
      }
      panel.classList.remove("hidden");
      const password = root.querySelector("#password");
      if (password) password.focus();
    });
    const form = root.querySelector("#sign-form");
    followKeyTitle(form);
    if (form) form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = picks();
      const status = form.querySelector("#sign-status");
      if (!chosen.length) {
        status.textContent = hoso.t("Hãy chọn ít nhất một văn bản.", "Select at least one document.");
        status.className = "bad";
        return;
      }
      const documents = chosen.map((c) => ({ document_id: Number(c.value), expected_version: Number(c.dataset.version) }));
      const submit = form.querySelector("#sign-submit");
      submit.disabled = true;
      status.textContent = hoso.t(`Đang ký ${documents.length} văn bản…`, `Signing ${documents.length} document(s)…`);
      status.className = "muted";
      const response = await sign(form, documents);
      submit.disabled = false;
      for (const result of showResults(form, response, documents.length)) {
        const row = root.querySelector(`#queue tr[data-document-id="${result.document_id}"]`);
        if (!row) continue;
        const cell = row.querySelector("td.result");
        cell.textContent = resultText(result);
        cell.className = "result " + (result.ok ? "ok" : "bad");
        if (result.ok) {
          row.classList.add("done");
          const box = row.querySelector("input.pick");
          box.checked = false;
          box.disabled = true;
        }
      }
      update();
    });
  });

  hoso.on("official-document", (root) => {
    const id = Number(root.dataset.documentId);
    const form = root.querySelector("#sign-form");
    const pct = (fraction) => (Math.max(0, Math.min(1, fraction)) * 100).toFixed(2) + "%";
    // The box where the visible signature goes: PDF points (from the bottom left) to
    // percentages of the page preview (from the top left).
    async function place() {
      root.querySelectorAll(".sigbox").forEach((b) => b.classList.add("hidden"));
      if (!form) return;
      const key = form.elements.key_id && form.elements.key_id.value;
      const kind = form.elements.appearance.value;
      if (!key || kind === "none") return;
      const query = new URLSearchParams({ document_id: String(id), key_id: key, appearance: kind });
      const anchor = form.elements.anchor.value.trim();
      if (anchor && kind === "official") query.set("anchor", anchor);
      const r = await hoso.call("/api/v1/sign/placement?" + query.toString());
      const note = root.querySelector("#placement-note");
      if (!r.ok) { note.textContent = hoso.errorText(r.body); note.className = "bad"; return; }
      note.textContent = hoso.t("Khung đỏ cho biết vị trí chữ ký số sẽ hiển thị trên văn bản.",
        "The red box shows where the visible signature will go.");
      note.className = "muted";
      const p = r.body && (r.body.placement !== undefined ? r.body.placement : r.body);
      if (!p || !p.rect) return;
      const [x0, y0, x1, y1] = p.rect;
      const w = p.page_width;
      const h = p.page_height;
      const box = root.querySelector(`.page-preview[data-page-index="${p.page}"] .sigbox`);
      if (!box || !w || !h) return;
      box.style.left = pct(x0 / w);
      box.style.top = pct((h - y1) / h);
      box.style.width = pct((x1 - x0) / w);
      box.style.height = pct((y1 - y0) / h);
      box.title = hoso.t("Vị trí chữ ký số", "Where the signature goes");
      box.classList.remove("hidden");
    }
    followKeyTitle(form);
    if (form) {
      form.elements.key_id.addEventListener("change", place);
      form.elements.appearance.addEventListener("change", place);
      form.elements.anchor.addEventListener("change", place);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const submit = form.querySelector("#sign-submit");
        const status = form.querySelector("#sign-status");
        submit.disabled = true;
        status.textContent = hoso.t("Đang ký…", "Signing…");
        status.className = "muted";
        const response = await sign(form, [{ document_id: id, expected_version: Number(root.dataset.version) }]);
        const results = showResults(form, response, 1);
        // Signed: the document is done; a failure may be retried.
        submit.disabled = results.some((r) => r.ok);
      });
    }
    place();
  });
})();

/* --- archive --- */
// The archivist's document page: "Kiểm tra lại" verifies the stored version again through
// the API (the new report is stored), then the page reloads to show it.
(() => {
  hoso.on("archive-document", (root) => {
    const button = root.querySelector("#reverify");
    const status = root.querySelector("#reverify-status");
    if (!button || !status) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.className = "muted";
      status.textContent = hoso.t("Đang kiểm tra…", "Checking…");
      const r = await hoso.call(button.dataset.url, { method: "POST" });
      if (r.ok) {
        status.className = "ok";
        status.textContent = hoso.t("Đã kiểm tra lại; đang tải lại trang…", "Checked again; reloading…");
        window.location.reload();
      } else {
        status.className = "bad";
        status.textContent = hoso.errorText(r.body);
        button.disabled = false;
      }
    });
  });
})();

/* --- verify --- */
// Public verification: drop a PDF (and optionally its detached signature) on #verify-drop,
// upload it to POST /api/v1/verify with a progress bar, and draw the report in
// #verify-result the way the server draws it without JavaScript (public.rs report_panel).
(() => {
  // An element with attributes and children (strings become text, never HTML).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const cls = (indication) => indication === "TOTAL-PASSED" ? "ok" : indication === "TOTAL-FAILED" ? "bad" : "warn";
  const verdict = (indication) => indication === "TOTAL-PASSED"
    ? hoso.t("Văn bản xác thực, không bị sửa đổi sau khi ký", "The document is authentic and unchanged since it was signed")
    : indication === "TOTAL-FAILED"
      ? hoso.t("Văn bản đã bị sửa đổi sau khi ký hoặc chữ ký không hợp lệ", "The document was changed after signing or a signature is not valid")
      : hoso.t("Chưa xác định được", "Cannot be determined");
  const word = (indication) => indication === "TOTAL-PASSED" ? hoso.t("Hợp lệ", "Valid")
    : indication === "TOTAL-FAILED" ? hoso.t("Không hợp lệ", "Not valid") : hoso.t("Chưa xác định được", "Cannot be determined");
  // dd/mm/yyyy hh:mm in Vietnam time (UTC+7), as the server writes it.
  function when(text) {
    const t = Date.parse(text || "");
    if (Number.isNaN(t)) return null;
    const d = new Date(t + 7 * 3600 * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  }
  function reasons(list) {
    const rank = { error: 0, warning: 1 };
    const sorted = (list || []).slice().sort((a, b) => (rank[a.severity] ?? 2) - (rank[b.severity] ?? 2));
    if (!sorted.length) return null;
    return el("ul", { class: "reasons" }, ...sorted.map((m) =>
      el("li", { class: m.severity || "info", "data-code": m.code }, hoso.lang() === "en" ? m.en : m.vi)));
  }
  function signature(s) {
    const signer = s.signer || {};
    const name = signer.common_name || signer.subject || hoso.t("(không rõ người ký)", "(unknown signer)");
    const facts = el("ul", { class: "facts" });
    const stamped = when(s.timestamp_time);
    const claimed = when(s.signing_time);
    if (stamped) facts.append(el("li", {}, hoso.t("Thời điểm ký", "Signed at") + ": " + stamped + " ",
      el("span", { class: "muted" }, hoso.t("(có dấu thời gian chứng minh)", "(proven by a timestamp)"))));
    else if (claimed) facts.append(el("li", {}, hoso.t("Thời điểm ký", "Signed at") + ": " + claimed + " ",
      el("span", { class: "muted" }, hoso.t("(do người ký khai báo)", "(as the signer declared)"))));
    if (s.level) facts.append(el("li", {}, hoso.t("Mức chữ ký", "Signature level") + ": " + s.level));
    if (signer.issuer) facts.append(el("li", {}, hoso.t("Đơn vị cấp chứng thư", "Certificate issued by") + ": " + signer.issuer));
    if (s.reason) facts.append(el("li", {}, hoso.t("Lý do ký", "Reason") + ": " + s.reason));
    const timestamp = s.kind === "document-timestamp";
    const changes = ((s.modifications && s.modifications.changes) || [])
      .filter((c) => c.allowed === "no" || c.allowed === "warn").slice(0, 5);
    return el("li", { class: "sig", "data-indication": s.indication, "data-field": s.field },
      el("span", { class: "sig-status " + cls(s.indication) }, word(s.indication)), " ",
      el("strong", { class: "signer" }, timestamp ? hoso.t("Dấu thời gian tài liệu", "Document timestamp") : name),
      timestamp && (s.timestamp_authority || signer.common_name) ? " — " + (s.timestamp_authority || signer.common_name) : null,
      !timestamp && signer.organization ? el("span", { class: "muted" }, " · " + signer.organization) : null,
      facts, reasons(s.messages),
      changes.length ? el("ul", { class: "reasons changes" }, ...changes.map((c) =>
        el("li", { class: c.allowed === "no" ? "error" : "warning" }, hoso.lang() === "en" ? c.detail : c.detail_vi))) : null);
  }
  hoso.renderReport = (report) => {
    const fragment = document.createDocumentFragment();
    fragment.append(el("div", { class: "verdict " + cls(report.indication), "data-indication": report.indication },
      el("strong", {}, verdict(report.indication))));
    const checked = when(report.validation_time);
    fragment.append(el("p", { class: "muted report-file" },
      hoso.t("Tệp", "File") + ": " + (report.file || ""),
      checked ? " · " + hoso.t("kiểm tra lúc", "checked at") + " " + checked : null,
      el("br"), "SHA-256: ", el("code", {}, report.sha256 || "")));
    const general = reasons(report.messages);
    if (general) fragment.append(general);
    const signatures = report.signatures || [];
    fragment.append(signatures.length
      ? el("ol", { class: "sig-list" }, ...signatures.map(signature))
      : el("p", { class: "muted no-signature" }, hoso.t("Không có chữ ký số nào trong tệp.", "The file has no digital signature.")));
    return fragment;
  };

  hoso.on("verify", (root) => {
    const form = root.querySelector("#verify-form");
    const drop = root.querySelector("#verify-drop");
    const input = root.querySelector("#verify-file");
    const detached = root.querySelector("#verify-signature");
    const result = root.querySelector("#verify-result");
    const progress = root.querySelector("#verify-progress");
    if (!form || !drop || !input || !result) return;
    const isSignature = (f) => /\.(p7s|sig|p7m)$/i.test(f.name);
    const put = (target, file) => {
      const transfer = new DataTransfer();
      transfer.items.add(file);
      target.files = transfer.files;
    };
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const files = Array.from(e.dataTransfer.files || []);
      const signature = files.find(isSignature);
      const pdf = files.find((f) => !isSignature(f));
      if (pdf) put(input, pdf);
      if (signature && detached) {
        put(detached, signature);
        const details = root.querySelector("#verify-detached");
        if (details) details.open = true;
      }
      if (pdf) form.requestSubmit();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      result.replaceChildren();
      if (!input.files.length) {
        result.append(el("p", { class: "error-box" }, hoso.t("Hãy chọn tệp PDF cần kiểm tra.", "Choose the PDF to check.")));
        return;
      }
      // Only the parts chosen: an empty "signature" part would be read as a (broken) signature.
      const data = new FormData();
      data.append("file", input.files[0]);
      if (detached && detached.files.length) data.append("signature", detached.files[0]);
      const submit = form.querySelector("#verify-submit");
      submit.disabled = true;
      progress.hidden = false;
      const bar = progress.querySelector("span");
      bar.style.width = "0";
      result.append(el("p", { class: "muted", id: "verify-wait" }, hoso.t("Đang kiểm tra…", "Checking…")));
      const r = await hoso.upload("/api/v1/verify", data, (f) => { bar.style.width = Math.round(f * 100) + "%"; });
      progress.hidden = true;
      submit.disabled = false;
      result.replaceChildren();
      if (r.ok && r.body) result.append(hoso.renderReport(r.body));
      else result.append(el("p", { class: "error-box", role: "alert" }, hoso.errorText(r.body)));
      result.scrollIntoView({ behavior: "smooth", block: "start" });
    });
  });
})();

/* --- admin --- */
// Administration: every form[data-api] and button[data-api] calls the admin API (JSON, or
// multipart for files); the page reloads to show the change, except a new token (its secret
// is shown once) and a catalogue import (its report is shown).
(() => {
  // The form's fields as the API's JSON: checkboxes of one name become a list, numbers
  // numbers, empty optional fields are left out. A field marked data-path fills {name} in
  // the URL instead.
  function jsonOf(form, url) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.name === "_csrf" || field.type === "submit") continue;
      if (field.hasAttribute("data-path")) {
        url = url.replace("{" + field.name + "}", encodeURIComponent(field.value));
        continue;
      }
      if (field.type === "checkbox") {
        body[field.name] = body[field.name] || [];
        if (field.checked) body[field.name].push(field.value);
      } else if (field.value === "" && !field.required) {
        continue;
      } else if (field.type === "number") {
        body[field.name] = Number(field.value);
      } else {
        body[field.name] = field.value;
      }
    }
    return { url, body };
  }
  // The form's parts without the empty file parts browsers send for unchosen files.
  function partsOf(form) {
    const data = new FormData();
    for (const [name, value] of new FormData(form).entries()) {
      if (name === "_csrf") continue;
      if (value instanceof File && !value.name && value.size === 0) continue;
      data.append(name, value);
    }
    return data;
  }
  function say(node, text, kind) {
    if (!node) return;
    node.textContent = text;
    node.className = "form-status " + (kind || "");
  }
  function catalogueReport(target, report) {
    target.replaceChildren();
    const p = document.createElement("p");
    p.className = "notice";
    p.textContent = hoso.t(
      `Đã nhập ${report.rows} dòng: ${report.inserted} thủ tục mới, ${report.updated} cập nhật, ${report.unchanged} không đổi.`,
      `Imported ${report.rows} rows: ${report.inserted} new, ${report.updated} updated, ${report.unchanged} unchanged.`);
    target.append(p);
  }

  hoso.on("admin", (root) => {
    root.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const status = form.querySelector(".form-status");
        const submit = form.querySelector("button[type=submit]");
        say(status, hoso.t("Đang gửi…", "Sending…"), "muted");
        if (submit) submit.disabled = true;
        let r;
        if (form.enctype === "multipart/form-data") {
          const progress = form.querySelector(".progress");
          const bar = progress && progress.querySelector("span");
          if (progress) progress.hidden = false;
          r = await hoso.upload(form.dataset.api, partsOf(form), (f) => { if (bar) bar.style.width = Math.round(f * 100) + "%"; });
          if (progress) progress.hidden = true;
        } else {
          const { url, body } = jsonOf(form, form.dataset.api);
          r = await hoso.call(url, {
            method: form.dataset.method || "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
        }
        if (submit) submit.disabled = false;
        if (!r.ok) {
          say(status, hoso.errorText(r.body), "bad");
          return;
        }
        if (form.dataset.after === "token") {
          const box = root.querySelector("#token-secret");
          root.querySelector("#token-value").textContent = r.body.token;
          box.hidden = false;
          say(status, hoso.t("Đã tạo mã.", "Token created."), "ok");
          form.reset();
        } else if (form.dataset.after === "catalogue") {
          catalogueReport(root.querySelector("#catalogue-report"), r.body);
          say(status, hoso.t("Đã nhập danh mục.", "Catalogue imported."), "ok");
        } else {
          say(status, hoso.t("Đã lưu; đang tải lại…", "Saved; reloading…"), "ok");
          window.location.reload();
        }
      });
    });
    root.querySelectorAll("button[data-api]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
        button.disabled = true;
        const options = { method: button.dataset.method || "POST" };
        if (button.dataset.body) {
          options.headers = { "content-type": "application/json" };
          options.body = button.dataset.body;
        }
        const r = await hoso.call(button.dataset.api, options);
        if (r.ok) {
          window.location.reload();
          return;
        }
        button.disabled = false;
        let note = button.parentElement.querySelector(".form-status");
        if (!note) {
          note = document.createElement("span");
          button.parentElement.append(note);
        }
        say(note, hoso.errorText(r.body), "bad");
      });
    });
  });
})();
