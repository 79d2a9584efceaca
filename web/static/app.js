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
//   <a data-pane-go>, <form method="get" data-pane-go>
//                                     inside a pane: load the link (or the
//                                     search) into that pane only; it
//                                     becomes the pane's data-src.
//   <form data-bg data-go-home>       once sent, its pane goes back to its
//                                     data-home (a search or a review ends).
//   [data-form-error] in a form       shows the form's refusal there
//                                     rather than at the top of the page
//                                     (a data-bg form without one shows
//                                     it above its buttons too).
//   <form data-bg data-saved="Saved.">
//                                     says so beside its buttons once
//                                     sent, until it is changed again.
//   [data-show-on-load]               a refusal the server rendered far
//                                     down a page: scrolled into view
//                                     and focused when the page loads.
//   <select data-record-filter="id">  its option's data-record-type hides
//                                     the options of select #id of other
//                                     record types.
//   <select data-carrier-choice>      shows (and enables) only its form's
//                                     [data-carrier] of the chosen value.
//   [data-compose] with [data-compose-tab] buttons (aria-controls) and
//   [data-compose-panel] forms        one panel at a time, behind tabs; a
//                                     shortcut into a hidden one opens it.
//   #session-ended (its a[data-session-login])
//                                     shown once a request finds the
//                                     session ended; #live-state says
//                                     when the stream is reconnecting.
//
// A refusal is never silent: a pane whose refresh is refused says why in
// place and keeps what it showed (403 or 404: its controls go off, what
// was typed stays to be copied); a 401 anywhere shows #session-ended.

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
// moves counts each pane's moves to another address (goTo); fresh holds
// the move whose first load must not bring back what was typed before.
const moves = new WeakMap();
const fresh = new WeakMap();
// Loads of one pane may overlap and answer out of order: each is numbered,
// and an answer older than the one on screen is dropped, so that a slow
// stale page never replaces a newer one (a reply box disabled again).
const started = new WeakMap();
const shown = new WeakMap();

// refresh re-fetches a pane, keeping its scroll, drafts and focus.
async function refresh(pane) {
  const src = pane.dataset.src;
  if (!src) return;
  const move = moves.get(pane) || 0;
  const load = (started.get(pane) || 0) + 1;
  started.set(pane, load);
  if (session.ended) return;
  let res;
  try {
    // As a background request: an ended session answers 401, not the
    // sign-in page (going there would lose what is typed).
    res = await fetch(src, { credentials: "same-origin", headers: { "X-Parley-Background": "1" } });
  } catch {
    return; // the network: the stream says so, and refreshes all when back
  }
  if (res.status === 401 || (res.redirected && new URL(res.url).pathname === "/login")) {
    sessionEnded();
    return;
  }
  const html = await res.text();
  if ((moves.get(pane) || 0) !== move) return; // it moved meanwhile: that load is due
  if ((shown.get(pane) || 0) > load) return; // a newer load is already on screen
  shown.set(pane, load);
  if (!res.ok) {
    // The inbox says why in words; anything else (a proxy's page) is not shown.
    const words = (res.headers.get("Content-Type") || "").startsWith("text/plain");
    refused(pane, res.status, words ? html.trim() : "");
    return;
  }
  // A pane that moved to another address starts afresh: what was typed
  // belonged to the form it left.
  const afresh = fresh.get(pane) === move;
  fresh.delete(pane);
  const kept = keep(pane);
  swap(pane, html);
  composers(pane); // before restore: the focus may go to the note box
  if (afresh) {
    kept.values.clear();
    kept.open.clear();
  }
  restore(pane, kept);
  // A pane loaded afresh may ask for a field (a form opened for review).
  if (afresh) pane.querySelector("[autofocus]")?.focus();
  pane.dispatchEvent(new CustomEvent("parley:refreshed", { bubbles: true }));
}

// refused says in a pane why its refresh was refused. The pane keeps what
// it showed: a conversation taken away (403) or gone (404) keeps its
// drafts, to be copied, with its controls off, since anything they sent
// would be refused too. A later refresh that succeeds (it was given back)
// puts the pane back as it was, drafts included.
function refused(pane, status, message) {
  const gone = status === 403 || status === 404;
  let text = message || `This could not be refreshed: the server answered ${status}.`;
  if (gone && pane.dataset.liveConversation) {
    text = status === 403
      ? "This conversation was assigned to someone else; you can no longer see it."
      : "This conversation is no longer there.";
    if (pane.querySelector("textarea")) text += " What you typed is kept below: copy it if you need it.";
  }
  if (pane.tagName === "SPAN") { // a count in the menu: no room in it
    say(text);
    return;
  }
  let notice = pane.querySelector(":scope > [data-refused]");
  if (!notice) {
    notice = document.createElement("div");
    notice.className = "banner bad pane-refused";
    notice.setAttribute("role", "alert");
    notice.dataset.refused = "";
    const head = pane.querySelector(":scope > header");
    if (head) head.after(notice);
    else pane.prepend(notice);
  }
  if (notice.textContent !== text) notice.textContent = text;
  if (gone) lock(pane);
}

// lock turns a pane's controls off; text stays readable and selectable
// (read-only, not disabled), and the composer's tabs still switch.
function lock(pane) {
  pane.dataset.locked = "";
  pane.querySelectorAll("button, select, input, textarea").forEach((el) => {
    if (el.matches("[data-compose-tab]")) return;
    if (el instanceof HTMLTextAreaElement || (el instanceof HTMLInputElement && /^(text|search|email|tel|url|number)$/.test(el.type))) {
      el.readOnly = true;
    } else {
      el.disabled = true;
    }
  });
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
// bottom stays at its bottom), typed values, the focused field, and which
// <details id> are open.
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
  let focus = null;
  if (active && pane.contains(active)) {
    focus = active.id
      ? { id: active.id, start: active.selectionStart, end: active.selectionEnd }
      : focusMark(pane, active);
  } else if (refocus.has(pane) && (!active || active === body)) {
    focus = refocus.get(pane); // its form was sent: the button lost the focus as it was disabled
  }
  refocus.delete(pane);
  const open = new Map([...pane.querySelectorAll("details[id]")].map((d) => [d.id, d.open]));
  return { scrolls, values, focus, open };
}

// A control without an id (a list row, an action button) is found again
// after a refresh by what it is: its link, or its form and its words;
// gone (Pending, once pending), the control now where it was takes the
// focus, so that a keyboard user is never sent back to the top.
const focusable = "a[href], button:not(:disabled), input:not([type=hidden]):not(:disabled), select:not(:disabled), textarea:not(:disabled), summary";
const refocus = new WeakMap(); // pane → the mark of the control whose form is being sent

function focusSign(el) {
  if (el.tagName === "A") return "a " + el.getAttribute("href");
  const form = el.form || el.closest("form");
  return [el.tagName, form?.getAttribute("action") || "", el.name || "", el.value || "", el.textContent.trim()].join(" ");
}

function focusables(pane) {
  return [...pane.querySelectorAll(focusable)].filter((el) => el.getClientRects().length);
}

function focusMark(pane, el) {
  return { sign: focusSign(el), at: focusables(pane).indexOf(el) };
}

function refocusMark(pane, mark) {
  const all = focusables(pane);
  const el = all.find((x) => focusSign(x) === mark.sign) || (mark.at >= 0 ? all[Math.min(mark.at, all.length - 1)] : null);
  el?.focus({ preventScroll: true });
}

function restore(pane, kept) {
  for (const s of kept.scrolls) {
    const el = s.key === null ? pane : pane.querySelector(`[data-scroll="${CSS.escape(s.key)}"]`);
    if (!el) continue;
    el.scrollTop = s.atBottom && s.key !== null ? el.scrollHeight : s.top;
  }
  for (const [id, open] of kept.open) {
    const el = document.getElementById(id);
    if (el instanceof HTMLDetailsElement) el.open = open;
  }
  for (const [id, v] of kept.values) {
    const el = document.getElementById(id);
    if (!el || el.dataset.fresh !== undefined) continue;
    // A choice whose option went away (an archived tag) is not kept.
    if (el instanceof HTMLSelectElement && ![...el.options].some((o) => o.value === v)) continue;
    if (typeof v === "boolean") el.checked = v;
    else el.value = v;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  if (kept.focus?.sign !== undefined) {
    refocusMark(pane, kept.focus);
  } else if (kept.focus) {
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
  const paneOf = form.closest("[data-pane]");
  const active = document.activeElement;
  if (paneOf && active && !active.id && form.contains(active)) refocus.set(paneOf, focusMark(paneOf, active));
  const buttons = form.querySelectorAll("button, input[type=submit]");
  buttons.forEach((b) => { b.disabled = true; });
  let res;
  try {
    // A button's formaction (Close beside Resolve) sends it elsewhere.
    res = await fetch(ev.submitter?.hasAttribute("formaction") ? ev.submitter.formAction : form.action, {
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
  // A pane refused meanwhile keeps its controls off.
  if (!form.closest("[data-locked]")) buttons.forEach((b) => { b.disabled = false; });
  if (res.status === 401) { // what was typed stays in the form
    sessionEnded();
    return;
  }
  const slot = form.querySelector("[data-form-error]");
  if (!res.ok) {
    const msg = await res.text();
    // The refusal shows at the form: on a long page the top is far away.
    // A form with a place of its own says it there alone; any other also
    // at the top, which announces it.
    const at = slot || form.querySelector("[data-form-said]") || errorSlot(form);
    at.textContent = msg;
    at.hidden = false;
    saved(form, "");
    say(slot ? "" : msg);
    at.scrollIntoView({ block: "nearest" });
    return;
  }
  if (slot) slot.hidden = true;
  form.querySelectorAll("[data-form-said]").forEach((el) => { el.hidden = true; });
  say("");
  saved(form, form.dataset.saved || "");
  // The server names where a form leads (X-Parley-Next) instead of
  // redirecting; a redirect still counts (a proxy may add one).
  const next = res.headers.get("X-Parley-Next");
  const to = new URL(next || res.url, location.href);
  // A form that leads elsewhere (resolve and next, a new campaign) goes.
  if ((next || res.redirected) && to.pathname + to.search !== location.pathname + location.search) {
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
  const home = sent.closest("[data-home]");
  if (sent.dataset.goHome !== undefined && home) goTo(home, home.dataset.home);
  refreshAll();
});

// errorSlot makes a form's place for its refusal, above its buttons (the
// alert at the top announces it: this one does not again).
function errorSlot(form) {
  const slot = document.createElement("p");
  slot.className = "error form-error";
  slot.dataset.formSaid = "";
  const actions = [...form.querySelectorAll(".actions")].pop();
  if (actions && actions.parentElement) actions.before(slot);
  else form.append(slot);
  return slot;
}

// saved says a form was saved, beside its buttons ("" takes it away).
function saved(form, text) {
  let out = form.querySelector("[data-form-saved]");
  if (!out && !text) return;
  if (!out) {
    out = document.createElement("span");
    out.className = "form-saved";
    out.setAttribute("role", "status");
    out.dataset.formSaved = "";
    const actions = [...form.querySelectorAll(".actions")].pop() || form;
    actions.append(out);
  }
  out.textContent = text;
  out.hidden = !text;
  if (text) out.scrollIntoView({ block: "nearest" });
}

// A changed form is no longer what was saved, nor what was refused.
document.addEventListener("input", (ev) => {
  const form = ev.target.form;
  if (!form || form.dataset.bg === undefined || !ev.isTrusted) return;
  saved(form, "");
});

document.querySelectorAll("[data-show-on-load]").forEach((el, i) => {
  if (i > 0) return;
  if (!el.hasAttribute("tabindex")) el.tabIndex = -1;
  el.scrollIntoView({ block: "center" });
  el.focus({ preventScroll: true });
});

// ---- panes with their own address -----------------------------------

// goTo makes url the pane's address and loads it, afresh.
function goTo(pane, url) {
  const move = (moves.get(pane) || 0) + 1;
  moves.set(pane, move);
  fresh.set(pane, move);
  pane.dataset.src = url;
  schedule(pane);
}

// paneURL is a page's link as the address of pane alone.
function paneURL(pane, href) {
  const u = new URL(href, location.href);
  u.searchParams.set("pane", pane.dataset.pane);
  return u.pathname + u.search;
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-pane-go]");
  const pane = a?.closest("[data-pane]");
  if (!pane || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  goTo(pane, paneURL(pane, a.href));
});

document.addEventListener("submit", (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.paneGo === undefined) return;
  const pane = form.closest("[data-pane]");
  if (!pane || (form.method || "get").toLowerCase() !== "get") return;
  ev.preventDefault();
  const u = new URL(form.action, location.href);
  u.search = new URLSearchParams(new FormData(form, ev.submitter)).toString();
  goTo(pane, paneURL(pane, u.href));
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

// live is the stream's state: broken once it failed (the panes are
// fetched afresh when it is back), and the wait before opening it again
// when the browser gave up on it.
const live = { broken: false, wait: 1000, timer: 0 };

function listen() {
  const url = body.dataset.stream;
  if (!url || !window.EventSource || session.ended) return;
  clearTimeout(live.timer);
  const source = new EventSource(url, { withCredentials: true });
  source.addEventListener("open", () => {
    live.wait = 1000;
    streamState("");
    if (!live.broken) return;
    live.broken = false;
    refreshAll(); // whatever happened while it was away
  });
  // A stream cut (the server restarting) the browser opens again by
  // itself; one refused (the session ended, a proxy's error page) it
  // gives up: then the session is asked after, and the stream opened
  // again later if the session is fine.
  source.addEventListener("error", () => {
    if (source !== window.parleyStream || session.ended) return;
    live.broken = true;
    streamState("Reconnecting…");
    if (source.readyState === EventSource.CLOSED) streamRefused();
  });
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

async function streamRefused() {
  let status = 0;
  try {
    status = (await fetch("/v1/me", { credentials: "same-origin" })).status;
  } catch { /* the server is away: try again later */ }
  if (status === 401) {
    sessionEnded();
    return;
  }
  live.timer = setTimeout(listen, live.wait);
  live.wait = Math.min(live.wait * 2, 30000);
}

// streamState says beside the menu how the stream is ("" when live).
function streamState(text) {
  const el = document.getElementById("live-state");
  body.dataset.streamState = text ? (session.ended ? "ended" : "reconnecting") : "live";
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
}

// ---- an ended session -----------------------------------------------
// Signed out in another tab, or by an admin: the page stops being live
// and says so, with a link to sign in and come back here. What was typed
// stays on the page, and is kept for this tab (sessionStorage) so that
// it is put back when this page opens again after signing in.

const session = { ended: false };
const draftsKey = "parley:drafts";

function sessionEnded() {
  if (session.ended) return;
  session.ended = true;
  clearTimeout(live.timer);
  window.parleyStream?.close();
  streamState("Not live");
  const here = location.pathname + location.search;
  const notice = document.getElementById("session-ended");
  if (notice) {
    const link = notice.querySelector("a[data-session-login]");
    if (link) link.href = "/login?next=" + encodeURIComponent(here);
    notice.hidden = false;
  }
  keepDrafts();
}

function keepDrafts() {
  const values = {};
  document.querySelectorAll("textarea[id]").forEach((el) => {
    if (el.value.trim()) values[el.id] = el.value;
  });
  try {
    if (Object.keys(values).length) {
      sessionStorage.setItem(draftsKey, JSON.stringify({ me: body.dataset.me, path: location.pathname + location.search, values }));
    } else {
      sessionStorage.removeItem(draftsKey);
    }
  } catch { /* storage refused: the drafts are still on the page */ }
}

document.addEventListener("input", (ev) => {
  if (session.ended && ev.target instanceof HTMLTextAreaElement) keepDrafts();
});

// Back on the page after signing in: the drafts kept come back into
// their empty boxes; signed in elsewhere, or as someone else, they are
// dropped.
function restoreDrafts() {
  let kept;
  try {
    kept = JSON.parse(sessionStorage.getItem(draftsKey) || "null");
  } catch {
    return;
  }
  if (!kept || !body.dataset.me) return; // the sign-in page: not yet
  sessionStorage.removeItem(draftsKey);
  // Only the same person's, on the same page (a shared computer).
  if (kept.me !== body.dataset.me || kept.path !== location.pathname + location.search) return;
  for (const [id, value] of Object.entries(kept.values || {})) {
    const el = document.getElementById(id);
    if (!(el instanceof HTMLTextAreaElement) || el.value || el.disabled) continue;
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

// ---- leaving the page -------------------------------------------------

// A page the browser keeps for the back button would keep its stream open,
// and a few such pages use up the browser's connections to the server, so
// that the next page never loads: the stream closes when the page is left,
// and opens again, with the panes fetched afresh, if it comes back.
window.addEventListener("pagehide", () => {
  clearTimeout(live.timer);
  window.parleyStream?.close();
});
window.addEventListener("pageshow", (ev) => {
  if (!ev.persisted || session.ended) return;
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
  const panel = target?.closest("[data-compose-panel]");
  if (panel?.hidden) showPanel(panel);
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
  if (res.status === 401) sessionEnded();
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

// A select or checkbox marked data-autosubmit (assignee, priority, a
// list filter) sends its form.
document.addEventListener("change", (ev) => {
  const el = ev.target;
  const control = el instanceof HTMLSelectElement || (el instanceof HTMLInputElement && el.type === "checkbox");
  if (control && el.dataset.autosubmit !== undefined && el.form) el.form.requestSubmit();
});

// ---- outcomes: the records that fit the chosen type ------------------
// quote_* outcomes take quotes, invoice_* invoices, project_created a
// project, the others any record: the record select offers only those
// (the server refuses the others too).

function filterRecords(typeSelect) {
  const records = document.getElementById(typeSelect.dataset.recordFilter);
  if (!records) return;
  const want = typeSelect.selectedOptions[0]?.dataset.recordType || "";
  for (const opt of records.options) {
    if (!opt.value) continue;
    const off = want !== "" && opt.dataset.recordType !== want;
    opt.hidden = off;
    opt.disabled = off;
  }
  if (records.selectedOptions[0]?.disabled) records.value = "";
}

function filterAllRecords(root) {
  root.querySelectorAll("select[data-record-filter]").forEach(filterRecords);
}

for (const type of ["change", "input"]) {
  document.addEventListener(type, (ev) => {
    if (ev.target instanceof HTMLSelectElement && ev.target.dataset.recordFilter) filterRecords(ev.target);
  });
}
filterAllRecords(document);
document.addEventListener("parley:refreshed", (ev) => filterAllRecords(ev.target));

// ---- settings: a carrier's fields of the connect form ---------------
// <select data-carrier-choice> shows only the chosen carrier's
// [data-carrier="x"] elements of its form, and enables only its
// <fieldset data-carrier="x">: a disabled fieldset is not sent, and its
// required fields do not block. Its fields marked aria-required become
// required. Without the script everything shows and is sent, nothing
// blocks, and the server reads the chosen carrier's fields
// ([data-carrier-note] says so; the script hides it).

function showCarrier(select) {
  const form = select.form;
  if (!form) return;
  form.querySelectorAll("[data-carrier]").forEach((el) => {
    const on = el.dataset.carrier === select.value;
    el.hidden = !on;
    if (el instanceof HTMLFieldSetElement) el.disabled = !on;
  });
}

function carrierChoices(root) {
  root.querySelectorAll("select[data-carrier-choice]").forEach((select) => {
    select.form?.querySelectorAll("[data-carrier] [aria-required=true]").forEach((el) => { el.required = true; });
    select.form?.querySelectorAll("[data-carrier-note]").forEach((el) => { el.hidden = true; });
    showCarrier(select);
  });
}

document.addEventListener("change", (ev) => {
  if (ev.target instanceof HTMLSelectElement && ev.target.dataset.carrierChoice !== undefined) showCarrier(ev.target);
});
carrierChoices(document);

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

// ---- the composer: reply or note ------------------------------------
// The thread's reply and note forms share the space under the messages:
// one shows, the other is a tab away. Which one is remembered for the
// conversation, so a live refresh of the thread keeps it.

const composing = new Map(); // conversation → the id of the panel shown

function showPanel(panel, focus = false) {
  const compose = panel.closest("[data-compose]");
  if (!compose) return;
  compose.querySelectorAll("[data-compose-panel]").forEach((p) => { p.hidden = p !== panel; });
  compose.querySelectorAll("[data-compose-tab]").forEach((tab) => {
    const on = tab.getAttribute("aria-controls") === panel.id;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
  });
  const conv = panel.closest("[data-live-conversation]")?.dataset.liveConversation;
  if (conv) composing.set(conv, panel.id);
  if (focus) panel.querySelector("textarea:not(:disabled)")?.focus();
}

function composers(root) {
  const all = root.matches?.("[data-compose]") ? [root] : [...root.querySelectorAll("[data-compose]")];
  for (const compose of all) {
    const tabs = compose.querySelector("[role=tablist]");
    const panels = [...compose.querySelectorAll("[data-compose-panel]")];
    if (!tabs || panels.length < 2) continue;
    tabs.hidden = false;
    compose.classList.add("tabbed");
    const conv = compose.closest("[data-live-conversation]")?.dataset.liveConversation;
    const chosen = document.getElementById(composing.get(conv) || "");
    showPanel(panels.includes(chosen) ? chosen : panels[0]);
  }
}

document.addEventListener("click", (ev) => {
  const tab = ev.target.closest("[data-compose-tab]");
  const panel = tab && document.getElementById(tab.getAttribute("aria-controls"));
  if (panel) showPanel(panel, true);
});

// Left and right move between the tabs, as in any tab list.
document.addEventListener("keydown", (ev) => {
  const tab = ev.target.closest?.("[data-compose-tab]");
  if (!tab || (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight")) return;
  const tabs = [...tab.parentElement.querySelectorAll("[data-compose-tab]")];
  const next = tabs[(tabs.indexOf(tab) + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
  ev.preventDefault();
  next.focus();
  const panel = document.getElementById(next.getAttribute("aria-controls"));
  if (panel) showPanel(panel);
});

composers(document);

// ---- the list: the open conversation in view --------------------------
// The list loads at its top; the open conversation's row may be far down
// (opened from a link, or after j and k): it is scrolled into view, below
// the list's sticky head.

function currentRowInView() {
  const row = document.querySelector(".list [data-nav-item][aria-current]");
  const pane = row?.closest(".pane");
  if (!pane) return;
  const head = pane.querySelector(".list-head");
  const box = pane.getBoundingClientRect();
  const r = row.getBoundingClientRect();
  const top = box.top + (head ? head.offsetHeight : 0);
  if (r.top < top) pane.scrollTop -= top - r.top;
  else if (r.bottom > box.bottom) pane.scrollTop += r.bottom - box.bottom;
}

threadToBottom(); // a module runs once the page is parsed
currentRowInView();

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

restoreDrafts();
listen();

// ---- downloads with progress ------------------------------------------
// <a data-download data-format="csv" href download> inside a page with a
// #download-progress box: the script fetches the file itself, to show
// what has arrived (bytes, and rows for CSV and JSON) with a Cancel that
// aborts the request (the server then stops its query), and hands the
// finished file to the browser as a download. A refusal (more rows than
// an export may have) is shown in the server's words. Without the script
// the link downloads as it is. The box's data-state (running, done,
// cancelled, failed) and data-rows say how it went.

const download = { controller: null };

function humanBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// rowCounter counts rows as text arrives: CSV records (line ends outside
// quotes, less the header), or the objects of a JSON array. XLSX is
// compressed: only its bytes are shown.
function rowCounter(format) {
  if (format === "csv") {
    const c = { rows: -1, quoted: false };
    c.add = (text) => {
      for (const ch of text) {
        if (ch === '"') c.quoted = !c.quoted;
        else if (ch === "\n" && !c.quoted) c.rows++;
      }
    };
    return c;
  }
  if (format === "json") {
    const c = { rows: 0, depth: 0, inString: false, escaped: false };
    c.add = (text) => {
      for (const ch of text) {
        if (c.inString) {
          if (c.escaped) c.escaped = false;
          else if (ch === "\\") c.escaped = true;
          else if (ch === '"') c.inString = false;
        } else if (ch === '"') c.inString = true;
        else if (ch === "{" || ch === "[") {
          if (ch === "{" && c.depth === 1) c.rows++;
          c.depth++;
        } else if (ch === "}" || ch === "]") c.depth--;
      }
    };
    return c;
  }
  return null;
}

function progressText(bytes, counter) {
  const rows = counter ? `${Math.max(counter.rows, 0).toLocaleString()} rows, ` : "";
  return `${rows}${humanBytes(bytes)} received`;
}

function downloadName(disposition, format) {
  const m = /filename="([^"]+)"/.exec(disposition || "");
  return m ? m[1] : `export.${format}`;
}

async function startDownload(link, box) {
  const controller = new AbortController();
  download.controller = controller;
  const text = box.querySelector("[data-progress-text]");
  const cancel = box.querySelector("[data-download-cancel]");
  const bar = box.querySelector("progress");
  const format = link.dataset.format || "";
  const end = (state, message) => {
    box.dataset.state = state;
    box.classList.toggle("failed", state === "failed");
    text.textContent = message;
    cancel.hidden = true;
  };
  box.hidden = false;
  box.classList.remove("failed");
  box.dataset.state = "running";
  delete box.dataset.rows;
  bar.removeAttribute("value");
  cancel.hidden = false;
  text.textContent = `Preparing the ${link.textContent.trim()} download…`;
  try {
    const res = await fetch(link.href, { credentials: "same-origin", signal: controller.signal, headers: { "X-Parley-Background": "1" } });
    if (res.status === 401) {
      end("failed", "The download could not start: please sign in again.");
      sessionEnded();
      return;
    }
    if (!res.ok) {
      const why = (await res.text()).trim();
      end("failed", `The download was refused: ${why || `the server answered ${res.status}`}`);
      return;
    }
    if ((res.headers.get("Content-Type") || "").startsWith("text/html")) { // the session ended: the sign-in page
      end("failed", "The download could not start: please sign in again.");
      return;
    }
    const counter = rowCounter(format);
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    const chunks = [];
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      if (counter) counter.add(decoder.decode(value, { stream: true }));
      text.textContent = progressText(bytes, counter);
    }
    const name = downloadName(res.headers.get("Content-Disposition"), format);
    const url = URL.createObjectURL(new Blob(chunks, { type: res.headers.get("Content-Type") || "application/octet-stream" }));
    const save = document.createElement("a");
    save.href = url;
    save.download = name;
    save.hidden = true;
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    bar.max = 1;
    bar.value = 1;
    if (counter) box.dataset.rows = String(Math.max(counter.rows, 0));
    end("done", `Downloaded ${name}: ${progressText(bytes, counter).replace(" received", "")}.`);
  } catch {
    if (controller.signal.aborted) end("cancelled", "Download cancelled.");
    else end("failed", "The download was cut short. Please try again.");
  } finally {
    download.controller = null;
  }
}

document.addEventListener("click", (ev) => {
  const link = ev.target.closest("a[data-download]");
  if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  const box = document.getElementById("download-progress");
  if (!box) return;
  ev.preventDefault();
  if (download.controller) {
    say("A download is already under way: wait for it, or cancel it first.");
    return;
  }
  startDownload(link, box);
});

document.addEventListener("click", (ev) => {
  if (ev.target.closest("[data-download-cancel]") && download.controller) download.controller.abort();
});
