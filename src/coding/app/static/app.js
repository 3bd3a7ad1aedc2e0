// The coding app's page: one unit at a time, the codebook beside it, every
// decision sent to the server when it is made. No libraries, no build step.
"use strict";

const token = document.querySelector('meta[name="coding-token"]').content;
const state = { desk: null, codebook: null, view: null, index: 0, chosen: new Set(), digits: "", timer: null };
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const headers = { "X-Token": token };
  if (state.desk) headers["X-Desk"] = state.desk.desk;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) {
    const error = new Error(data.error || `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function say(text) { $("message").textContent = text || ""; }

function show(section) {
  for (const id of ["start", "work", "done"]) $(id).hidden = id !== section;
}

const itemKey = (variable, code) => `${variable}/${code}`;

// -- the codebook ------------------------------------------------------------
function renderCodebook() {
  const box = $("codes");
  for (const variable of state.codebook.variables) {
    const group = el("div", { class: "variable", role: "group", "aria-labelledby": `var-${variable.id}` });
    group.style.setProperty("--colour", variable.colour);
    group.append(el("h3", { id: `var-${variable.id}`, text: variable.label }));
    if (variable.definition) group.append(el("p", { class: "definition", text: variable.definition }));
    for (const code of variable.codes) group.append(renderCode(code));
    box.append(group);
  }
}

function renderCode(code) {
  const id = `code-${code.key}`;
  const box = el("input", { type: "checkbox", id, "data-key": itemKey(code.variable, code.code) });
  box.addEventListener("change", () => toggle(itemKey(code.variable, code.code), box.checked));
  const label = el("label", { for: id }, el("span", { class: "key", "aria-hidden": "true", text: code.key }),
                   `${code.label} (key ${code.key})`);
  const details = el("details", {}, el("summary", { text: "Definition, include, exclude, examples" }));
  for (const [name, text] of [["Definition", code.definition], ["Include", code.include], ["Exclude", code.exclude]]) {
    if (text) details.append(el("p", {}, el("strong", { text: `${name}: ` }), text));
  }
  if (code.examples.length) {
    const list = el("ul", {});
    for (const example of code.examples) list.append(el("li", { text: example }));
    details.append(el("p", {}, el("strong", { text: "Examples:" })), list);
  }
  return el("div", { class: "code", id: `row-${code.key}` }, box, label,
            el("span", { class: "proposed", id: `proposed-${code.key}` }), details);
}

const allCodes = () => state.codebook.variables.flatMap((v) => v.codes);

function toggle(key, on) {
  if (on === undefined) on = !state.chosen.has(key);
  if (on) state.chosen.add(key); else state.chosen.delete(key);
  paintChoices();
}

function paintChoices() {
  for (const code of allCodes()) {
    const key = itemKey(code.variable, code.code);
    const box = $(`code-${code.key}`);
    box.checked = state.chosen.has(key);
    $(`row-${code.key}`).classList.toggle("on", box.checked);
  }
}

// -- a unit ------------------------------------------------------------------
function paragraphs(box, texts) {
  box.replaceChildren(...texts.map((t) => el("p", { text: t })));
}

function highlighted(text, spans) {
  const parts = [];
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at || s.end <= s.start) continue;
    parts.push(text.slice(at, s.start), el("mark", { title: s.pattern, text: text.slice(s.start, s.end) }));
    at = s.end;
  }
  parts.push(text.slice(at));
  return parts;
}

function renderUnit(view) {
  state.view = view;
  state.index = view.index;
  state.chosen = new Set(view.mine.map(([v, c]) => itemKey(v, c)));
  const doc = view.document;
  $("unit-title").textContent = `Unit ${view.index + 1} of ${view.planned}: ${doc.title || doc.id}`;
  const meta = [["Document", doc.id], ["Type", doc.doc_type], ["Date", doc.date], ["Speaker", doc.speaker],
                ["Paragraph", String(view.ordinal)], ["Decided", view.decided ? "yes (you may change it)" : "not yet"]];
  $("document-meta").replaceChildren(...meta.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  paragraphs($("context-before"), view.before);
  paragraphs($("context-after"), view.after);
  const evidence = (view.machine || []).flatMap((p) => p.evidence);
  $("unit-text").replaceChildren(...highlighted(view.text, evidence));
  renderProposal(view);
  renderOthers(view);
  $("reason-row").hidden = state.desk.mode !== "adjudicate";
  $("reason").value = view.reason || "";
  $("back-button").disabled = view.index === 0;
  paintChoices();
  progress(view);
  say("");
  $("unit-text").focus();
}

function codeLabel(variable, code) {
  const found = allCodes().find((c) => c.variable === variable && c.code === code);
  return found ? `${found.key}. ${found.label}` : `${variable}/${code}`;
}

function renderProposal(view) {
  for (const code of allCodes()) $(`proposed-${code.key}`).textContent = "";
  if (!view.machine) { $("proposal").hidden = true; return; }
  const list = el("ul", {});
  for (const p of view.machine) {
    const probability = p.probability === null ? "" : `, probability ${p.probability.toFixed(2)}`;
    const terms = p.evidence.map((e) => e.term).join(", ");
    list.append(el("li", { text: `${codeLabel(p.variable, p.code)}${probability}${terms ? ` (evidence: ${terms})` : ""}` }));
    const code = allCodes().find((c) => c.variable === p.variable && c.code === p.code);
    if (code) $(`proposed-${code.key}`).textContent = `proposed${probability}`;
  }
  if (!view.machine.length) list.append(el("li", { text: "no code proposed" }));
  $("proposal").replaceChildren(el("h3", { text: `The machine coder (${state.desk.machine || "machine"}) proposes` }), list);
  $("proposal").hidden = false;
}

function renderOthers(view) {
  if (!view.others) { $("others").hidden = true; return; }
  const columns = Object.entries(view.others).map(([coder, pairs]) => {
    const list = el("ul", {});
    for (const [v, c] of pairs) list.append(el("li", { text: codeLabel(v, c) }));
    if (!pairs.length) list.append(el("li", { text: "nothing coded" }));
    return el("div", { class: "other" }, el("h3", { text: coder }), list);
  });
  $("others").replaceChildren(...columns);
  $("others").hidden = false;
}

function progress(p) {
  const status = p.status ? ` · ${p.status}` : "";
  $("progress").textContent = `${p.coded} coded of ${p.planned} planned${status}`;
}

async function load(index) {
  try {
    renderUnit(await call("GET", `/api/unit?index=${index}`));
  } catch (error) {
    say(error.message);
  }
}

async function save() {
  const view = state.view;
  if (!view) return;
  const items = [...state.chosen].map((k) => { const i = k.indexOf("/"); return [k.slice(0, i), k.slice(i + 1)]; });
  try {
    const p = await call("POST", "/api/decision", { unit_id: view.unit_id, items, text_hash: view.text_hash,
                                                    coder: state.desk.coder, reason: $("reason").value });
    progress(p);
    if (view.index + 1 < p.planned) await load(view.index + 1);
    else if (p.next < p.planned) await load(p.next);
    else await finish();
  } catch (error) {
    if (error.status === 409) {
      await load(view.index);
      say(`${error.message}`);
    } else {
      say(error.message);
      if (error.status === 400 && state.desk.mode === "adjudicate") $("reason").focus();
    }
  }
}

function back() { if (state.view && state.view.index > 0) load(state.view.index - 1); }

// -- done --------------------------------------------------------------------
async function finish() {
  const s = await call("GET", "/api/summary");
  const box = $("summary");
  const modes = Object.entries(s.modes).map(([m, n]) => `${n} ${m}`).join(", ") || "none";
  box.replaceChildren(
    el("p", { text: `${s.person}, coding as ${s.coder}: ${s.coded} of ${s.planned} planned units decided ` +
                    `(decisions: ${modes}); ${s.units} units seen and ${s.codings} codings in the store.` }),
    el("p", { text: `Store: ${s.store}` }));
  if (s.report) box.append(el("p", {}, el("a", { href: "/report/report.html", text: "Open the report" })));
  if (s.others.length) {
    box.append(el("h3", { text: "Agreement with another coder" }));
    for (const other of s.others) {
      const button = el("button", { type: "button", text: `Agreement of ${s.coder} with ${other}` });
      button.addEventListener("click", () => agreement(other));
      box.append(button, " ");
    }
  }
  show("done");
  $("done-title").focus();
}

async function agreement(other) {
  const box = $("agreement");
  try {
    const a = await call("GET", `/api/agreement?with=${encodeURIComponent(other)}`);
    const table = el("table", {}, el("caption", { text: `${a.coders.join(" vs ")}, variable level` }),
                     el("tr", {}, ...["item", "units", "agreement", "alpha", "reading"].map((h) => el("th", { scope: "col", text: h }))));
    const fmt = (x) => (x === null ? "-" : x.toFixed(3));
    for (const r of a.rows) {
      table.append(el("tr", {}, ...[r.item, String(r.n_units), fmt(r.percent_agreement), fmt(r.alpha), r.reading]
        .map((t) => el("td", { text: t }))));
    }
    box.replaceChildren(table, el("p", { text: "The same table, with its files, from the command line:" }),
                        el("code", { class: "command", text: a.command }));
  } catch (error) {
    box.replaceChildren(el("p", { text: error.message }));
  }
}

// -- keys --------------------------------------------------------------------
function typingIn(target) {
  return target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
                    (target.tagName === "INPUT" && target.type !== "checkbox"));
}

function digit(d) {
  state.digits += d;
  clearTimeout(state.timer);
  const n = allCodes().length;
  const apply = () => {
    const key = Number(state.digits);
    state.digits = "";
    const code = allCodes().find((c) => c.key === key);
    if (code) toggle(itemKey(code.variable, code.code));
  };
  // a code number that cannot grow into another is applied at once
  if (Number(state.digits) * 10 > n) apply(); else state.timer = setTimeout(apply, 600);
}

function onKey(event) {
  if ($("help").open || $("work").hidden) {
    if (event.key === "?" && !typingIn(event.target)) { event.preventDefault(); openHelp(); }
    return;
  }
  if (event.target.id === "reason" && event.key === "Enter" && !event.shiftKey) {
    event.preventDefault(); save(); return;
  }
  if (typingIn(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "?") { event.preventDefault(); openHelp(); }
  else if (/^[0-9]$/.test(event.key)) { event.preventDefault(); digit(event.key); }
  else if (event.key === "Enter" && event.target.tagName !== "BUTTON") { event.preventDefault(); save(); }
  else if (event.key === "Backspace") { event.preventDefault(); back(); }
}

function openHelp() { $("help").showModal(); $("help-close").focus(); }

// -- start -------------------------------------------------------------------
async function start(event) {
  event.preventDefault();
  const form = new FormData($("start-form"));
  const body = Object.fromEntries(form.entries());
  try {
    state.desk = null;
    state.desk = await call("POST", "/api/desk", body);
    $("who").textContent = `${state.desk.person} · ${state.desk.mode} · coding as ${state.desk.coder}`;
    progress(state.desk);
    show("work");
    if (state.desk.next < state.desk.planned) await load(state.desk.next);
    else await finish();
  } catch (error) {
    $("known").textContent = error.message;
  }
}

async function init() {
  document.addEventListener("keydown", onKey);
  $("help-button").addEventListener("click", openHelp);
  $("help-close").addEventListener("click", () => $("help").close());
  $("save-button").addEventListener("click", save);
  $("back-button").addEventListener("click", back);
  $("done-button").addEventListener("click", finish);
  $("continue-button").addEventListener("click", () => { show("work"); load(state.index); });
  $("start-form").addEventListener("submit", start);
  $("mode").addEventListener("change", () => { $("coders-row").hidden = $("mode").value !== "adjudicate"; });
  const setup = await call("GET", "/api/setup");
  state.setup = setup;
  state.codebook = setup.codebook;
  for (const name of ["mode", "order", "n", "seed"]) $(name).value = setup[name];
  $("person").value = setup.coder;
  $("coders").value = setup.coders.join(",");
  $("coders-row").hidden = setup.mode !== "adjudicate";
  if (setup.known.length) $("known").textContent = `Coders in the store: ${setup.known.join(", ")}`;
  renderCodebook();
  $("start-fields").disabled = false;
  (setup.coder ? $("start-button") : $("person")).focus();
}

init().catch((error) => { $("known").textContent = error.message; });
