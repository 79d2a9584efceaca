// Parley's web inbox script. The pages work without it; it adds three
// things: forms sent in the background, panes kept live from the event
// stream, and keyboard shortcuts. No framework, no build step.
//
// What a template can ask of it:
//   <form data-bg>                    send in the background, then refresh
//                                     the panes; data-reset clears it after
//                                     (give it an id: a refresh may swap it).
//   <section data-pane="list" data-src="/inbox?…&pane=list"
//            data-live="conversation message"
//            data-live-conversation="42">
//                                     re-fetch data-src when a stream event
//                                     whose type starts with one of the
//                                     words arrives (for that conversation
//                                     only, when given); keeps scroll, what
//                                     is typed and the focus.
//   data-shortcut="r"                 the key focuses a text box or clicks
//                                     anything else.
//   data-nav-item / aria-current      j and k move through such links.

const body = document.body;
const csrf = body.dataset.csrf || "";

// ---- alerts ---------------------------------------------------------

function say(message) {
  const alert = document.getElementById("alert");
  if (!alert) return;
  alert.textContent = message;
  alert.hidden = !message;
}

// ---- panes ----------------------------------------------------------

const pending = new Map();

// refresh re-fetches a pane, keeping its scroll, drafts and focus.
async function refresh(pane) {
  const src = pane.dataset.src;
  if (!src) return;
  let res;
  try {
    res = await fetch(src, { credentials: "same-origin" });
  } catch {
    return;
  }
  if (res.redirected && new URL(res.url).pathname === "/login") {
    location.assign(res.url);
    return;
  }
  if (!res.ok) return;
  const html = await res.text();
  const kept = keep(pane);
  swap(pane, html);
  restore(pane, kept);
  pane.dispatchEvent(new CustomEvent("parley:refreshed", { bubbles: true }));
}

// swap puts a fetched pane in place. A pane template renders its own
// element (<section data-pane="x" …>): its attributes (data-src, the
// conversation it follows) replace the old ones and its children the old
// children, so panes never nest inside themselves.
function swap(pane, html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  const root = tpl.content.firstElementChild;
  if (!root || tpl.content.children.length !== 1 || root.dataset.pane !== pane.dataset.pane) {
    pane.innerHTML = html;
    return;
  }
  for (const a of [...pane.attributes]) if (!root.hasAttribute(a.name)) pane.removeAttribute(a.name);
  for (const a of [...root.attributes]) pane.setAttribute(a.name, a.value);
  pane.replaceChildren(...root.childNodes);
}

// schedule coalesces the refreshes a burst of events asks for.
function schedule(pane) {
  if (pending.has(pane)) return;
  pending.set(pane, setTimeout(() => {
    pending.delete(pane);
    refresh(pane);
  }, 50));
}

function refreshAll() {
  document.querySelectorAll("[data-pane][data-src]").forEach(schedule);
}

// keep notes what a refresh must not lose: scroll positions (a list at its
// bottom stays at its bottom), typed values and the focused field.
function keep(pane) {
  const scrolls = [pane, ...pane.querySelectorAll("[data-scroll]")].map((el) => ({
    key: el === pane ? null : el.dataset.scroll,
    top: el.scrollTop,
    atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 4,
  }));
  const values = new Map();
  pane.querySelectorAll("textarea[id], input[id]:not([type=hidden]), select[id]").forEach((el) => {
    values.set(el.id, el.type === "checkbox" || el.type === "radio" ? el.checked : el.value);
  });
  const active = document.activeElement;
  const focus = active && pane.contains(active) && active.id
    ? { id: active.id, start: active.selectionStart, end: active.selectionEnd }
    : null;
  return { scrolls, values, focus };
}

function restore(pane, kept) {
  for (const s of kept.scrolls) {
    const el = s.key === null ? pane : pane.querySelector(`[data-scroll="${CSS.escape(s.key)}"]`);
    if (!el) continue;
    el.scrollTop = s.atBottom && s.key !== null ? el.scrollHeight : s.top;
  }
  for (const [id, v] of kept.values) {
    const el = document.getElementById(id);
    if (!el || el.dataset.fresh !== undefined) continue;
    if (typeof v === "boolean") el.checked = v;
    else el.value = v;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  if (kept.focus) {
    const el = document.getElementById(kept.focus.id);
    if (el) {
      el.focus();
      if (kept.focus.start != null && el.setSelectionRange) {
        try { el.setSelectionRange(kept.focus.start, kept.focus.end); } catch { /* not a text field */ }
      }
    }
  }
}

// ---- background forms ----------------------------------------------

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.bg === undefined) return;
  if ((form.method || "get").toLowerCase() !== "post") return;
  ev.preventDefault();
  const data = new URLSearchParams(new FormData(form, ev.submitter));
  const buttons = form.querySelectorAll("button, input[type=submit]");
  buttons.forEach((b) => { b.disabled = true; });
  let res;
  try {
    res = await fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Parley-Background": "1", "X-CSRF-Token": csrf },
    });
  } catch {
    buttons.forEach((b) => { b.disabled = false; });
    form.submit(); // the network failed: let the browser try plainly
    return;
  }
  buttons.forEach((b) => { b.disabled = false; });
  if (!res.ok) {
    say(await res.text());
    return;
  }
  say("");
  const to = new URL(res.url);
  // A form that leads elsewhere (resolve and next, a new campaign) goes.
  if (res.redirected && to.pathname + to.search !== location.pathname + location.search) {
    location.assign(to.pathname + to.search);
    return;
  }
  // A live refresh may have swapped the form while it was sent (a reply
  // announces itself on the stream): its successor, by id, is the one.
  const sent = form.isConnected || !form.id ? form : document.getElementById(form.id) || form;
  if (sent.dataset.reset !== undefined) {
    sent.reset();
    sent.querySelectorAll("textarea, input").forEach((el) => el.dispatchEvent(new Event("input", { bubbles: true })));
  }
  sent.dispatchEvent(new CustomEvent("parley:sent", { bubbles: true }));
  refreshAll();
});

// ---- the event stream ----------------------------------------------

function matches(pane, type, data) {
  const words = (pane.dataset.live || "").split(/\s+/).filter(Boolean);
  if (!words.some((w) => type === w || type.startsWith(w + "."))) return false;
  const only = pane.dataset.liveConversation;
  if (!only) return true;
  const conv = data.conversation_id ?? (type.startsWith("conversation.") ? data.id : undefined);
  return conv === undefined || String(conv) === only;
}

function listen() {
  const url = body.dataset.stream;
  if (!url || !window.EventSource) return;
  const source = new EventSource(url, { withCredentials: true });
  const types = ["conversation.created", "conversation.updated", "message.created", "message.updated",
    "note.created", "campaign.updated", "notification.created", "outcome.created", "outcome.deleted",
    "suggestion.created"];
  for (const type of types) {
    source.addEventListener(type, (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* keep {} */ }
      document.querySelectorAll("[data-pane][data-live]").forEach((pane) => {
        if (matches(pane, type, data)) schedule(pane);
      });
      document.dispatchEvent(new CustomEvent("parley:event", { detail: { type, data, id: ev.lastEventId } }));
    });
  }
  // Events were missed (past what the log keeps): refetch everything.
  source.addEventListener("reset", refreshAll);
  window.parleyStream = source;
}

// ---- leaving the page -------------------------------------------------

// A page the browser keeps for the back button would keep its stream open,
// and a few such pages use up the browser's connections to the server, so
// that the next page never loads: the stream closes when the page is left,
// and opens again, with the panes fetched afresh, if it comes back.
window.addEventListener("pagehide", () => window.parleyStream?.close());
window.addEventListener("pageshow", (ev) => {
  if (!ev.persisted) return;
  listen();
  refreshAll();
});

// ---- keyboard -------------------------------------------------------

function typing(el) {
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function move(step) {
  const items = [...document.querySelectorAll("[data-nav-item]")];
  if (!items.length) return;
  const at = items.findIndex((a) => a.getAttribute("aria-current") === "true" || a.getAttribute("aria-current") === "page");
  const next = items[Math.min(items.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
  if (next && next !== items[at]) location.assign(next.href);
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "Escape" && typing(document.activeElement)) {
    document.activeElement.blur();
    return;
  }
  if (typing(document.activeElement)) return;
  const help = document.getElementById("shortcuts");
  if (ev.key === "j" || ev.key === "k") {
    ev.preventDefault();
    move(ev.key === "j" ? 1 : -1);
    return;
  }
  if (ev.key === "?" && help) {
    ev.preventDefault();
    if (help.open) help.close(); else help.showModal();
    return;
  }
  const target = document.querySelector(`[data-shortcut="${CSS.escape(ev.key)}"]`);
  if (!target || target.closest("[hidden]")) return;
  ev.preventDefault();
  if (typing(target)) {
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  } else {
    target.click();
  }
});

document.addEventListener("click", (ev) => {
  const toggle = ev.target.closest("[data-shortcut='?']");
  if (!toggle) return;
  const help = document.getElementById("shortcuts");
  if (help && !help.open) help.showModal();
});

// ---- the thread: reply box, counter, selects -----------------------

// A thread opens at its newest text.
function threadToBottom() {
  document.querySelectorAll(".thread [data-scroll]").forEach((el) => { el.scrollTop = el.scrollHeight; });
}

// The reply box's counter: segments, encoding and characters of the draft,
// from the server's own segmenter (POST /v1/messages/preview), debounced.
const preview = { timer: 0, body: null, text: "", seq: 0 };

function showCount(text) {
  const out = document.getElementById("reply-counter");
  if (out && out.textContent !== text) out.textContent = text;
}

async function countReply(body) {
  const seq = ++preview.seq;
  let res;
  try {
    res = await fetch("/v1/messages/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ body }),
    });
  } catch {
    return;
  }
  if (!res.ok || seq !== preview.seq) return;
  const p = await res.json();
  const enc = p.encoding === "UCS-2" ? "UCS-2 (Unicode)" : p.encoding;
  preview.body = body;
  preview.text = `${p.segments} ${p.segments === 1 ? "segment" : "segments"} · ${enc} · ${p.characters} characters`;
  showCount(preview.text);
}

document.addEventListener("input", (ev) => {
  if (!(ev.target instanceof HTMLTextAreaElement) || ev.target.id !== "reply-body") return;
  const body = ev.target.value;
  clearTimeout(preview.timer);
  if (body === "") {
    preview.seq++;
    preview.body = "";
    showCount("");
    return;
  }
  if (body === preview.body) { // a refreshed pane: the count is known
    showCount(preview.text);
    return;
  }
  preview.timer = setTimeout(() => countReply(body), 200);
});

// A select marked data-autosubmit (assignee, priority) sends its form.
document.addEventListener("change", (ev) => {
  const el = ev.target;
  if (el instanceof HTMLSelectElement && el.dataset.autosubmit !== undefined && el.form) el.form.requestSubmit();
});

// ---- local times ----------------------------------------------------
// A form's datetime-local field is read in the browser's time zone: the
// script names it in the form (without script the server reads UTC, and
// the label says so) and sets the field's earliest value to now, here.

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function localTimes(root) {
  root.querySelectorAll("input[data-browser-zone]").forEach((el) => { el.value = zone; });
  root.querySelectorAll("[data-zone-name]").forEach((el) => { el.textContent = `(${zone})`; });
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  root.querySelectorAll("input[type=datetime-local][data-min-now]").forEach((el) => { el.min = local; });
}

localTimes(document);
document.addEventListener("parley:refreshed", (ev) => localTimes(ev.target));

threadToBottom(); // a module runs once the page is parsed

// ---- campaigns: panes kept live by their campaigns' texts -----------
// <section data-pane data-src data-live-campaign="42 43">: also re-fetched
// when a text of one of those campaigns changes (a receipt moves its
// counts after the campaign itself has stopped changing).
document.addEventListener("parley:event", (ev) => {
  const { type, data } = ev.detail;
  if (!type.startsWith("message.") || data.campaign_id == null) return;
  const id = String(data.campaign_id);
  document.querySelectorAll("[data-pane][data-live-campaign]").forEach((pane) => {
    if (pane.dataset.liveCampaign.split(/\s+/).includes(id)) schedule(pane);
  });
});

listen();
