// The opaprules playground: plain DOM, no framework, nothing loaded from
// elsewhere. Every value from the server is set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
};

const state = {
  serveRules: "",
  problems: [],
  validateSeq: 0,
  runSeq: 0,
  lastTestCase: "",
};

// ---- API ---------------------------------------------------------------

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  let data = null;
  try {
    data = await resp.json();
  } catch (e) {
    data = { error: `${resp.status} ${resp.statusText}` };
  }
  return { status: resp.status, ok: resp.ok, data };
}

// ---- The editor ---------------------------------------------------------

const rules = $("rules");
const gutter = $("gutter");

function lineCount(text) {
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

// renderGutter numbers the lines and marks those with problems.
function renderGutter() {
  const n = lineCount(rules.value);
  const marks = new Map();
  for (const p of state.problems) {
    if (marks.get(p.line) !== "err") marks.set(p.line, p.severity === "error" ? "err" : "warn");
  }
  const frag = document.createDocumentFragment();
  for (let i = 1; i <= n; i++) {
    const cls = marks.get(i);
    if (cls) frag.append(el("span", { class: cls }, String(i)));
    else frag.append(String(i));
    frag.append("\n");
  }
  gutter.replaceChildren(frag);
  gutter.scrollTop = rules.scrollTop;
}

rules.addEventListener("scroll", () => { gutter.scrollTop = rules.scrollTop; });

// Enter keeps the indentation of the line above, as YAML wants.
rules.addEventListener("keydown", (ev) => {
  if (ev.key !== "Enter" || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
  const start = rules.selectionStart;
  const lineStart = rules.value.lastIndexOf("\n", start - 1) + 1;
  const indent = /^[ ]*(- )?/.exec(rules.value.slice(lineStart, start))[0].replace("- ", "  ");
  if (!indent) return;
  ev.preventDefault();
  // insertText keeps the browser's undo history.
  if (!document.execCommand("insertText", false, "\n" + indent)) {
    rules.setRangeText("\n" + indent, start, rules.selectionEnd, "end");
    rules.dispatchEvent(new Event("input"));
  }
});

let validateTimer = 0;
rules.addEventListener("input", () => {
  markStale();
  renderGutter();
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 300);
});

// goTo puts the cursor at line:column and scrolls it into view.
function goTo(line, column) {
  const text = rules.value;
  let offset = 0;
  for (let i = 1; i < line && offset >= 0; i++) {
    offset = text.indexOf("\n", offset) + 1;
    if (offset === 0) { offset = text.length; break; }
  }
  const end = text.indexOf("\n", offset);
  const lineEnd = end < 0 ? text.length : end;
  const pos = Math.min(offset + Math.max(column - 1, 0), lineEnd);
  rules.focus();
  rules.setSelectionRange(pos, pos);
  const lh = parseFloat(getComputedStyle(rules).lineHeight) || 20;
  const top = (line - 1) * lh;
  if (top < rules.scrollTop || top > rules.scrollTop + rules.clientHeight - 2 * lh) {
    rules.scrollTop = Math.max(0, top - rules.clientHeight / 3);
  }
}

// ---- Validation ---------------------------------------------------------

async function validate() {
  const seq = ++state.validateSeq;
  const res = await api("POST", "/-/api/validate", { rules: rules.value });
  if (seq !== state.validateSeq) return; // a newer edit is being checked
  if (!res.ok) {
    showValidity(false, res.data.error || "cannot check the rules");
    showProblems([]);
    return;
  }
  showProblems(res.data.problems);
  const errors = res.data.problems.filter((p) => p.severity === "error").length;
  const warnings = res.data.problems.length - errors;
  if (res.data.valid) {
    showValidity(true, `✓ valid: ${plural(res.data.rules, "rule")}` + (warnings ? `, ${plural(warnings, "warning")}` : ""));
  } else {
    showValidity(false, `✗ ${plural(errors, "error")}` + (warnings ? `, ${plural(warnings, "warning")}` : ""));
  }
}

function showValidity(ok, text) {
  const v = $("validity");
  v.textContent = text;
  v.className = "validity " + (ok ? "ok" : "bad");
}

function showProblems(problems) {
  state.problems = problems || [];
  const list = $("problems");
  list.replaceChildren(...state.problems.map((p) => {
    const where = `${p.line}:${p.column}`;
    const label = (p.severity === "warning" ? "warning: " : "") + (p.rule ? `rule "${p.rule}": ` : "") + p.message;
    const b = el("button", { type: "button", title: `Go to line ${p.line}, column ${p.column}` },
      el("span", { class: "pos" }, where), el("span", { class: "msg" }, label));
    b.addEventListener("click", () => goTo(p.line, p.column));
    return el("li", { class: p.severity }, b);
  }));
  renderGutter();
}

// ---- Saving -------------------------------------------------------------

async function save() {
  const note = $("save-note");
  const res = await api("PUT", "/-/api/rules", { rules: rules.value });
  if (res.ok) {
    note.textContent = `Saved ${res.data.saved} (${plural(res.data.bytes, "byte")}) at ${new Date().toLocaleTimeString()}. serve keeps answering clients with the rules it started with until it is restarted.`;
    note.className = "save-note ok";
    state.serveRules = rules.value;
  } else {
    note.textContent = "Not saved: " + res.data.error;
    note.className = "save-note bad";
    if (res.data.problems) showProblems(res.data.problems);
  }
}
$("save").addEventListener("click", save);

// ---- The request --------------------------------------------------------

function formData() {
  return {
    key: $("key").value.trim(),
    method: $("method").value,
    headers: $("headers").value,
    access_point: $("access-point").value.trim(),
  };
}

// markStale says the answer shown is for other rules or another request.
function markStale() {
  if (!$("output").hidden) $("output").classList.add("stale");
}
for (const id of ["key", "method", "headers", "access-point"]) {
  $(id).addEventListener("input", markStale);
}

// The picker follows the key typed, and the key follows the picker.
$("key").addEventListener("input", () => {
  const key = $("key").value.split("?")[0];
  const select = $("object");
  select.value = [...select.options].some((o) => o.value === key) ? key : "";
});

$("object").addEventListener("change", () => {
  const key = $("object").value;
  if (!key) return;
  const current = $("key").value;
  const q = current.indexOf("?");
  $("key").value = key + (q >= 0 ? current.slice(q) : "");
  $("key").focus();
});

$("request-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  run();
});

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    run();
  }
});

async function run() {
  const seq = ++state.runSeq;
  const status = $("run-status");
  const form = formData();
  if (!form.key) {
    status.textContent = "Enter an object key in Request, such as photos/landscape.jpg?w=400.";
    status.className = "run-status bad";
    $("key").focus();
    return;
  }
  status.textContent = "Running…";
  status.className = "run-status";
  $("run").disabled = true;
  let res;
  try {
    res = await api("POST", "/-/api/run", { rules: rules.value, request: form });
  } catch (e) {
    res = { ok: false, data: { error: "serve did not answer: " + e.message } };
  } finally {
    $("run").disabled = false;
  }
  if (seq !== state.runSeq) return;
  if (!res.ok) {
    status.textContent = res.data.error || "the run failed";
    status.className = "run-status bad";
    if (res.data.problems) {
      showProblems(res.data.problems);
      showValidity(false, "✗ the rules have errors");
    }
    return;
  }
  const d = res.data;
  status.textContent = `${d.request.method} ${target(d.request)} answered ${d.status} ${d.status_text}.`;
  status.className = "run-status";
  showRun(d);
}

function target(r) {
  return r.key + (r.query ? "?" + r.query : "");
}

// ---- The answer ---------------------------------------------------------

function showRun(d) {
  $("output").hidden = false;
  $("output").classList.remove("stale");

  const st = $("status");
  st.textContent = `${d.status} ${d.status_text}`;
  st.className = "status s" + String(d.status)[0];
  const ct = header(d.headers, "Content-Type");
  const parts = [`${d.request.method} ${target(d.request)}`];
  if (d.request.access_point) parts.push(`access point ${d.request.access_point}`);
  if (ct) parts.push(ct);
  if (d.result) parts.push(bytes(d.result.bytes));
  $("summary").textContent = parts.join(" · ");
  $("etag").textContent = d.etag || "none";
  $("vary").textContent = d.vary.length ? d.vary.join(", ") : "none";
  $("stages").textContent = d.stages.length
    ? d.stages.map((s) => `${s.name} ${ms(s.ms)}`).join(" · ")
    : "—";

  showSide("original", d.original, null, d);
  showSide("result", d.result, d.error, d);
  showTrace(d.trace);
  showPlan(d.plan);

  const tbody = $("response-headers").tBodies[0];
  tbody.replaceChildren(...d.headers.map((h) => el("tr", null, el("th", { scope: "row" }, h.name), el("td", null, h.value))));
  if (!d.headers.length) tbody.append(el("tr", null, el("td", null, "none")));

  state.lastTestCase = d.test_case;
  $("test-case").textContent = d.test_case;
}

// showSide fills the Original or the Result column: a picture, text, the
// error a client gets, or why there is nothing to show.
function showSide(which, body, error, d) {
  const view = $(which + "-view");
  const meta = $(which + "-meta");
  view.className = "view";
  view.replaceChildren();
  meta.textContent = "";
  const alt = which === "original" ? "Original" : "Result";

  if (error) {
    view.className = "view error";
    meta.textContent = `the OSS error a client gets: ${error.code}`;
    view.append(el("pre", { "aria-label": "Error response" }, error.xml || `${error.code}: ${error.message}`));
    return;
  }
  if (!body) {
    let why = "nothing";
    if (which === "original") why = "no object under this key in the origin";
    else if (d.request.method === "HEAD") why = "a HEAD answer has no body";
    else if (d.status >= 300 && d.status < 400) why = `a redirect to ${header(d.headers, "Location") || "…"}`;
    view.append(el("p", { class: "empty" }, why));
    return;
  }
  const facts = [];
  if (body.width) facts.push(`${body.width}×${body.height} px`);
  if (body.frames > 1) facts.push(`${body.frames} frames`);
  facts.push(bytes(body.bytes));
  facts.push(body.content_type);
  if (body.orientation > 1) facts.push(`EXIF orientation ${body.orientation}`);
  meta.textContent = facts.join(" · ");

  if (body.content_type.startsWith("image/") && body.url) {
    const img = el("img", { alt, src: body.url, decoding: "async" });
    img.addEventListener("error", () => {
      view.append(el("p", { class: "note" }, `This browser cannot show ${body.content_type}.`));
    });
    img.addEventListener("load", () => {
      const shown = img.clientWidth / img.naturalWidth;
      if (shown > 0 && shown < 0.995) {
        view.append(el("p", { class: "note" }, `Shown at ${Math.round(shown * 100)}% to fit.`));
      }
    });
    view.append(img);
    return;
  }
  if (body.text !== undefined && body.text !== null) {
    const other = which === "result" && d.original ? d.original.text : null;
    view.append(textView(body.text, other, alt));
    if (body.text_truncated) view.append(el("p", { class: "note" }, "The first 64 KiB."));
    return;
  }
  const p = el("p", { class: "empty" }, body.note || `${body.content_type}: not shown here`);
  view.append(p);
  if (body.url) view.append(el("p", { class: "note" }, el("a", { href: body.url, download: "" }, "Download it")));
}

// textView shows text; given the original, it marks what changed, such as
// the values a redaction masked.
function textView(text, original, label) {
  const pre = el("pre", { "aria-label": label, tabindex: "0" });
  if (original === null || original === undefined) {
    pre.textContent = text;
    return pre;
  }
  const a = original.split("\n");
  const b = text.split("\n");
  b.forEach((line, i) => {
    const old = i < a.length ? a[i] : null;
    if (old === line) pre.append(line);
    else if (old !== null && old.length === line.length) pre.append(...markChars(old, line));
    else pre.append(el("mark", null, line));
    if (i < b.length - 1) pre.append("\n");
  });
  return pre;
}

function markChars(old, line) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    const same = old[i] === line[i];
    let j = i;
    while (j < line.length && (old[j] === line[j]) === same) j++;
    const piece = line.slice(i, j);
    out.push(same ? piece : el("mark", null, piece));
    i = j;
  }
  return out;
}

const skipReasons = {
  access_point: "this access point is not in the rule's access_points",
};

function showTrace(trace) {
  $("trace").replaceChildren(...trace.map((r) => {
    let cls, verdict, why = null;
    if (r.matched) {
      cls = "matched"; verdict = "matched";
    } else if (r.skipped === "error") {
      cls = "failed"; verdict = "skipped";
      why = el("span", { class: "why" }, "its condition failed (on_error: skip): ", el("code", null, r.error));
    } else if (r.skipped) {
      cls = "skipped"; verdict = "skipped";
      why = el("span", { class: "why" }, skipReasons[r.skipped] || r.skipped);
    } else if (r.error) {
      cls = "failed"; verdict = "failed";
      why = el("span", { class: "why" }, el("code", null, r.error));
    } else {
      cls = "not-matched"; verdict = "not matched";
      why = el("span", { class: "why" }, "false: ", el("code", null, r.failed_condition || "when"));
    }
    return el("li", { class: cls }, el("span", { class: "name" }, r.name), " ", el("span", { class: "verdict" }, verdict), why ? " " : null, why);
  }));
}

const unset = new Set(['""', "null", "0", "false", "[]", "{}"]);

function showPlan(plan) {
  $("plan").replaceChildren(...plan.map((s) => {
    // Parameters left at their zero value are dimmed: the set ones stand out.
    const rows = s.params.map((p) => el("tr", { class: unset.has(p.value) ? "unset" : "" },
      el("th", { scope: "row" }, p.name), el("td", null, p.value)));
    return el("li", null,
      el("span", { class: "action" }, s.action), " ", el("span", { class: "muted" }, `from rule ${s.rule}`),
      rows.length ? el("table", { class: "kv" }, el("tbody", null, ...rows)) : null);
  }));
}

// ---- Copy as test case ---------------------------------------------------

$("copy-test").addEventListener("click", async () => {
  const status = $("run-status");
  const text = state.lastTestCase;
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Test case copied: paste it under tests: in rules_test.yaml.";
  } catch (e) {
    // Without clipboard access, select it for the user to copy.
    const range = document.createRange();
    range.selectNodeContents($("test-case"));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    $("test-case").focus();
    status.textContent = "The test case is selected: copy it with Ctrl+C.";
  }
  status.className = "run-status";
});

// ---- Helpers -------------------------------------------------------------

// withCode sets command-line flags in a message as code, so that they
// read as such and never break at their hyphens.
function withCode(text) {
  return text.split(/(--[a-z-]+(?: [A-Z]+)?)/).map((part, i) => (i % 2 ? el("code", null, part) : part));
}

function header(list, name) {
  const h = list.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return h ? h.value : "";
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function bytes(n) {
  if (n < 1024) return plural(n, "byte");
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function ms(v) {
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

// ---- Start ---------------------------------------------------------------

async function start() {
  const [info, objects] = await Promise.all([api("GET", "/-/api/rules"), api("GET", "/-/api/objects")]);
  if (info.ok) {
    const d = info.data;
    state.serveRules = d.text;
    rules.value = d.text;
    $("rules-name").textContent = d.name;
    $("access-point").value = d.access_point || "";
    $("save").disabled = !d.writable;
    $("save-note").replaceChildren(...withCode(d.save_note));
    $("where").replaceChildren("Objects come from ", el("code", null, (d.origin || "the origin").replace(/^\((.*)\)$/, "$1")),
      "; the rules from ", el("code", null, d.name), ".");
  }
  renderGutter();
  validate();
  if (objects.ok) {
    const keys = objects.data.objects.map((o) => o.key);
    const select = $("object");
    const groups = new Map();
    for (const o of objects.data.objects) {
      const dir = o.key.includes("/") ? o.key.slice(0, o.key.lastIndexOf("/") + 1) : "/";
      if (!groups.has(dir)) groups.set(dir, el("optgroup", { label: dir }));
      groups.get(dir).append(el("option", { value: o.key }, `${o.key} (${bytes(o.bytes)})`));
    }
    select.append(...groups.values());
    if (objects.data.truncated) select.append(el("option", { disabled: "" }, "… more not listed"));
    $("keys").replaceChildren(...keys.map((k) => el("option", { value: k })));
    if (!$("key").value) {
      const sample = keys.find((k) => k === "photos/landscape.jpg") ||
        keys.find((k) => /\.(jpe?g|png|webp|gif)$/i.test(k)) || keys[0];
      if (sample) $("key").value = /\.(jpe?g|png|webp)$/i.test(sample) ? sample + "?w=400" : sample;
    }
    $("key").dispatchEvent(new Event("input"));
  }
}

start();
