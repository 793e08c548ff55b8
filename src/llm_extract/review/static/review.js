/* llm-extract review: plain JavaScript, no build step, no dependencies (works offline).
 *
 * The text pane's textContent is exactly the stored document text (marks add elements, never
 * characters), so a selection becomes code-point offsets by counting the characters before it.
 * Offsets are code points (Python's), not UTF-16 units: [...s].length, not s.length.
 * Without a session token (the static report) the page is read-only: move and scroll only.
 */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.classList.contains("index")) return indexPage();
  if (document.body.classList.contains("document")) return documentPage();
  if (document.body.classList.contains("compare")) return comparePage();
});

function comparePage() {
  // Choosing an indicator shows it (the form's button does the same without a script).
  const pick = document.getElementById("indicator");
  if (pick) pick.addEventListener("change", () => pick.form.submit());
}

function indexPage() {
  const rows = [...document.querySelectorAll("#docs tr.doc")];
  let at = 0;
  const show = () => rows.forEach((r, i) => r.classList.toggle("cursor", i === at));
  if (rows.length) show();
  rows.forEach((r, i) => r.addEventListener("click", (e) => {
    if (e.target.closest("a")) return;
    at = i; location.href = r.dataset.href;
  }));
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !rows.length) return;
    if (e.key === "j") at = Math.min(at + 1, rows.length - 1);
    else if (e.key === "k") at = Math.max(at - 1, 0);
    else if (e.key === "Enter") { location.href = rows[at].dataset.href; return; }
    else return;
    show();
    rows[at].scrollIntoView({ block: "nearest" });
  });
}

function documentPage() {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`);
  const token = meta("review-token") ? meta("review-token").content : null;
  const docId = meta("doc-id").content;
  const textPane = document.getElementById("text");
  const itemsPane = document.getElementById("items");
  const editor = document.getElementById("editor");
  const status = document.getElementById("status");
  let items = JSON.parse(document.getElementById("items-data").textContent);
  let selected = null; // uid
  let editing = null; // {mode: "correct"|"add", kind, item?, span: [start, end], readings}

  const byUid = () => new Map(items.map((it) => [it.uid, it]));
  const order = () => [...itemsPane.querySelectorAll("li.item")].map((li) => li.dataset.uid);

  function say(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", !!isError);
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { status.textContent = ""; }, isError ? 8000 : 2500);
  }

  function select(uid, scrollText, scrollList) {
    selected = uid;
    document.querySelectorAll(".selected").forEach((el) => el.classList.remove("selected"));
    if (!uid) return;
    const marks = textPane.querySelectorAll(`mark[data-uid="${uid}"]`);
    marks.forEach((m) => m.classList.add("selected"));
    const li = itemsPane.querySelector(`li.item[data-uid="${uid}"]`);
    if (li) li.classList.add("selected");
    if (scrollText && marks.length) marks[0].scrollIntoView({ block: "center" });
    if (scrollList && li) li.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const uids = order();
    if (!uids.length) return;
    const at = uids.indexOf(selected);
    const next = at < 0 ? (step > 0 ? 0 : uids.length - 1) : Math.min(Math.max(at + step, 0), uids.length - 1);
    select(uids[next], true, true);
  }

  function nextUndecided() {
    const uids = order();
    const map = byUid();
    const start = Math.max(uids.indexOf(selected), -1);
    for (let k = 1; k <= uids.length; k++) {
      const uid = uids[(start + k) % uids.length];
      if (map.get(uid).state === "unreviewed") return select(uid, true, true);
    }
    say("every item of this document is decided");
  }

  // --- offsets --------------------------------------------------------------------------------
  function codePoints(s) { return [...s].length; }

  function offsetOf(node, offset) {
    const range = document.createRange();
    range.setStart(textPane, 0);
    range.setEnd(node, offset);
    return codePoints(range.toString());
  }

  function selectionSpan() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    if (!textPane.contains(r.startContainer) || !textPane.contains(r.endContainer)) return null;
    const start = offsetOf(r.startContainer, r.startOffset);
    const end = offsetOf(r.endContainer, r.endOffset);
    return end > start ? [start, end] : null;
  }

  // --- clicks ---------------------------------------------------------------------------------
  textPane.addEventListener("click", (e) => {
    const sel = window.getSelection();
    if (sel && !sel.isCollapsed) return; // selecting text, not picking an item
    const mark = e.target.closest("mark[data-uid]");
    if (mark) select(mark.dataset.uid, false, true);
  });
  itemsPane.addEventListener("click", (e) => {
    const li = e.target.closest("li.item");
    if (!li) return;
    select(li.dataset.uid, true, false);
    const act = e.target.closest("button[data-act]");
    if (act) act.dataset.act === "edit" ? openEditor("correct") : decideSimple(act.dataset.act);
  });
  document.querySelectorAll("#sections a[data-sec]").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    const anchor = document.getElementById(`sec-${a.dataset.sec}`);
    if (anchor) anchor.scrollIntoView({ block: "start" });
  }));
  const help = document.getElementById("help");
  const toggle = document.getElementById("help-toggle");
  if (toggle && help) toggle.addEventListener("click", () => { help.hidden = !help.hidden; });

  // --- writes ---------------------------------------------------------------------------------
  async function post(path, body) {
    if (!token) { say("read-only page", true); return null; }
    let response;
    try {
      response = await fetch(`/api/doc/${docId}/${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Review-Token": token },
        body: JSON.stringify(body),
      });
    } catch (err) {
      say(`the review server did not answer (${err}); is it still running?`, true);
      return null;
    }
    const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) { say(data.error || `HTTP ${response.status}`, true); return null; }
    textPane.innerHTML = data.text_html;
    itemsPane.innerHTML = data.list_html;
    items = data.items;
    return data;
  }

  async function decideSimple(decision) {
    const item = byUid().get(selected);
    if (!item) { say("no item selected (j/k or click one)", true); return; }
    const uids = order();
    const at = uids.indexOf(selected);
    if (await post("decide", { decision, key: item.key })) {
      say(`${decision}ed`);
      // On to the next item, as a labelling queue does.
      const following = order();
      select(following[Math.min(at + 1, following.length - 1)], true, true);
    }
  }

  async function acceptRest() {
    const undecided = items.filter((it) => it.state === "unreviewed").length;
    if (!undecided) { say("nothing left to accept"); return; }
    if (!window.confirm(`Accept the ${undecided} undecided items of this document?`)) return;
    if (await post("accept-rest", {})) { say(`accepted ${undecided} items`); select(selected, false, true); }
  }

  // --- editor ---------------------------------------------------------------------------------
  async function readingsFor(kind, span) {
    const response = await fetch(`/api/doc/${docId}/parse?kind=${kind}&start=${span[0]}&end=${span[1]}`);
    const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) { say(data.error, true); return null; }
    return data;
  }

  function fillReadings(readings, current) {
    const select_ = editor.elements.reading;
    select_.innerHTML = "";
    readings.forEach((r, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = r.label;
      if (current && r.value === current.value && r.unit === current.unit && r.approx === current.approx) option.selected = true;
      select_.appendChild(option);
    });
    if (!readings.length) {
      const option = document.createElement("option");
      option.textContent = "no number with a measure word in the selection";
      option.value = "";
      select_.appendChild(option);
    }
  }

  async function openEditor(mode, kind) {
    if (!token) return;
    let span, item = null;
    if (mode === "correct") {
      item = byUid().get(selected);
      if (!item) { say("no item selected", true); return; }
      kind = item.kind;
      span = [item.current.char_start, item.current.char_end];
    } else {
      span = selectionSpan();
      if (!span) { say("select the characters of the item in the text first", true); return; }
    }
    const data = await readingsFor(kind, span);
    if (!data) return;
    editing = { mode, kind, item, span: [data.char_start, data.char_end], readings: data.readings };
    editor.className = kind;
    document.getElementById("editor-title").textContent =
      mode === "add" ? `Add a ${kind}` : `Correct this ${kind}`;
    document.getElementById("editor-quote").textContent = data.quote;
    const f = editor.elements;
    const current = item ? item.current : null;
    f.area.value = current && current.area ? current.area : "";
    f.indicator.value = current && current.indicator ? current.indicator : "";
    if (kind === "metric") {
      f.name.value = current ? current.name : data.name;
      f.metric_category.value = current ? current.category : data.category;
      fillReadings(data.readings, current);
    } else {
      f.summary.value = current ? current.summary : data.summary;
      f.problem_category.value = current ? current.category : data.category;
    }
    editor.hidden = false;
    (kind === "metric" ? f.name : f.summary).focus();
  }

  async function spanFromSelection() {
    if (!editing) return;
    const span = selectionSpan();
    if (!span) { say("select the new characters in the text first", true); return; }
    const data = await readingsFor(editing.kind, span);
    if (!data) return;
    editing.span = [data.char_start, data.char_end];
    editing.readings = data.readings;
    document.getElementById("editor-quote").textContent = data.quote;
    if (editing.kind === "metric") fillReadings(data.readings, editing.item ? editing.item.current : null);
  }

  function closeEditor() {
    editing = null;
    editor.hidden = true;
    if (document.activeElement && editor.contains(document.activeElement)) document.activeElement.blur();
  }

  async function saveEditor(e) {
    if (e) e.preventDefault();
    if (!editing) return;
    const f = editor.elements;
    const change = {};
    const cur = editing.item ? editing.item.current : {};
    if (editing.kind === "metric") {
      if (f.name.value.trim() !== cur.name) change.name = f.name.value.trim();
      if (f.metric_category.value !== cur.category) change.category = f.metric_category.value;
      const indicator = f.indicator.value || null;
      if (indicator !== (cur.indicator || null)) change.indicator = indicator;
      const reading = editing.readings[Number(f.reading.value)];
      if (reading && (reading.value !== cur.value || reading.unit !== cur.unit || reading.approx !== cur.approx)) {
        change.value = reading.value; change.unit = reading.unit; change.approx = reading.approx;
      }
    } else {
      if (f.summary.value.trim() !== cur.summary) change.summary = f.summary.value.trim();
      if (f.problem_category.value !== cur.category) change.category = f.problem_category.value;
    }
    if (f.area.value && f.area.value !== cur.area) change.area = f.area.value;
    if (editing.span[0] !== cur.char_start || editing.span[1] !== cur.char_end) {
      change.char_start = editing.span[0]; change.char_end = editing.span[1];
    }
    const body = editing.mode === "add"
      ? { decision: "add", kind: editing.kind, change }
      : { decision: "correct", key: editing.item.key, change };
    const before = new Set(items.map((it) => it.uid));
    const keep = editing.item ? editing.item.uid : null;
    if (await post("decide", body)) {
      closeEditor();
      const fresh = items.find((it) => !before.has(it.uid));
      say(body.decision === "add" ? "added" : "corrected");
      select(fresh ? fresh.uid : keep, true, true);
    }
  }

  if (token) {
    // An indicator belongs to one area: choosing it chooses its area (the server checks both).
    editor.elements.indicator.addEventListener("change", () => {
      const option = editor.elements.indicator.selectedOptions[0];
      if (option && option.dataset.area) editor.elements.area.value = option.dataset.area;
    });
    editor.addEventListener("submit", saveEditor);
    document.getElementById("editor-cancel").addEventListener("click", closeEditor);
    document.getElementById("editor-span").addEventListener("click", spanFromSelection);
  }

  // --- keys -----------------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.closest && e.target.closest("input, select, textarea");
    if (e.key === "Escape") { closeEditor(); if (help) help.hidden = true; return; }
    if (typing) return; // Enter in a field submits the form
    const keys = {
      j: () => move(1), k: () => move(-1), n: nextUndecided,
      "?": () => { if (help) help.hidden = !help.hidden; },
    };
    if (token) Object.assign(keys, {
      a: () => decideSimple("accept"), r: () => decideSimple("reject"), e: () => openEditor("correct"),
      m: () => openEditor("add", "metric"), p: () => openEditor("add", "problem"), s: spanFromSelection,
      A: acceptRest, g: () => { location.href = "/"; },
      Enter: () => { if (editing) saveEditor(); },
    });
    const action = keys[e.key];
    if (action) { e.preventDefault(); action(); }
  });

  // A link from the compare page names its item: #item=UID selects it and scrolls to its quote.
  const wanted = decodeURIComponent(location.hash.replace(/^#item=/, ""));
  if (location.hash.startsWith("#item=") && byUid().has(wanted)) { select(wanted, true, true); return; }
  const first = order()[0];
  if (first) select(first, false, false);
}
