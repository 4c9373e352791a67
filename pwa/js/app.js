// Touchpoint for auditors: start-up, the screens (sign in, start, visit) and keeping in sync.
import { call, MANAGERS_SEND_NONE, Refused, SignedOut, sendsAudits } from "./api.js";
import * as actions from "./actions.js";
import * as campaign from "./campaign.js";
import { offered } from "./checklist.js";
import * as outbox from "./outbox.js";
import * as program from "./program.js";
import * as store from "./store.js";
import { age, clearNotice, h, notice, show } from "./ui.js";
import * as visit from "./visit.js";

let leave = () => {};  // ends the current screen (a visit releases its draft's lock)
let current = 0;  // the latest route(): a slower, older one must not draw over it

let shown = null;  // the address drawn now

async function route() {
  if (location.hash === shown && shown.startsWith("#/visit/")) return;  // already open here: keep its lock
  shown = location.hash;
  leave();
  const mine = ++current;
  const left = new Promise((resolve) => { leave = resolve; });
  const me = await store.get("kv", "me");
  const [, screen, id] = location.hash.split("/");
  if (screen === "campaign" || screen === "signed-in") return adopt(screen);  // a server page set the session (a join link, an invitation, a reset): learn who we are
  if (screen === "try" && id) return trying(decodeURIComponent(id), me, () => mine === current);  // a brand's draft, from its test QR
  if (!me || screen === "signin") return me?.role === "participant" ? campaign.ended(me, exportUnsent) : signIn(me);
  if (screen === "visit" && id) return visit.open(id, left, () => mine === current);
  return home(me, () => mine === current);
}

/* ---------- signing in ---------- */

function signIn(me) {
  const error = h("p", { class: "problem", role: "alert" });
  const name = h("input", { type: "text", id: "name", name: "username", autocomplete: "username", required: true, value: me?.name ?? "" });
  const password = h("input", { type: "password", id: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  show(h("form", {
    class: "card stack", onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        const who = await call("POST", "/api/login", { json: { name: name.value.trim(), password: password.value } });
        await store.put("kv", { name: who.name, role: who.role, regions: who.regions, csrf_token: who.csrf_token }, "me");
        await store.remove("kv", "signin_needed");
        clearNotice("signin");
        navigator.storage?.persist?.();
        const tried = await store.get("kv", "try");  // came to try a draft: back to it
        if (tried) {
          await store.remove("kv", "try");
          history.replaceState(null, "", `#/try/${encodeURIComponent(tried)}`);  // the address may be it already: no hashchange
          shown = null;
          route();
          return;
        }
        if (who.role !== "auditor" && who.role !== "staff") { location.assign("/manage/"); return; }  // managers and admins: their pages first
        location.hash = "#/";
        await refreshLists();
        sync(true);
      } catch (e) {
        error.textContent = e instanceof SignedOut ? "Wrong name or password." : e instanceof Refused ? e.message : `Could not reach the server: ${e.message}. Signing in needs a connection once.`;
      } finally {
        submit.disabled = false;
      }
    },
  }, h("h2", {}, "Sign in"), h("p", { class: "muted" }, "Once signed in, the app works without a connection."),
  h("label", { class: "field", for: "name" }, "Name"), name, h("label", { class: "field", for: "password" }, "Password"), password, error, submit,
  h("p", {}, h("a", { href: "/forgot", id: "forgot" }, "Forgot your password?"))));
  name.value ? password.focus() : name.focus();
}

/** A server page set the session (a campaign's join page, an invitation, a password reset or the
 * managers' sign-in): the app takes whoever it signed in as "me". */
async function adopt(screen) {
  try {
    const who = await call("GET", "/api/me");
    await store.put("kv", { name: who.name, role: who.role, regions: who.regions, csrf_token: who.csrf_token }, "me");
    await store.remove("kv", "signin_needed");
    clearNotice("signin");
    navigator.storage?.persist?.();
    history.replaceState(null, "", "#/");
    shown = null;
    await refreshLists();
    route();
    sync(true);
  } catch (e) {
    const joining = screen === "campaign";
    if (e instanceof SignedOut && !joining) { history.replaceState(null, "", "#/signin"); shown = null; route(); return; }
    notice(e instanceof SignedOut ? "The join did not go through: open the join link again."
      : `Could not reach the server: ${e.message}. ${joining ? "Joining" : "Signing in"} needs a connection once.`, { bad: true, id: "signin" });
  }
}

/** Brands, checklists (with their versions) and my locations, kept on the phone for offline use. */
async function refreshLists() {
  try {
    const me = await store.get("kv", "me");
    const [brands, checklists, locations, mine, regions] = await Promise.all(["/api/brands", "/api/checklists", "/api/locations",
      me?.role === "participant" ? "/api/campaign" : null, me?.role === "auditor" ? "/api/regions" : null].map((path) => path && call("GET", path)));
    const before = await store.get("kv", "lists");
    const first = !before;
    const places = (list) => (list ?? []).map((l) => l.id).join();
    await store.put("kv", { brands, checklists, locations, campaign: mine, regions, fetched_at: new Date().toISOString() }, "lists");
    if (me?.role === "auditor") {
      await program.refresh();
      await drawProgram(me);  // in place: a location already chosen on the start screen stays chosen
    }
    if (me?.role === "staff") { await actions.refresh(); await drawActions(me); }
    refreshSent();
    const start = location.hash === "" || location.hash === "#/";
    // the start screen was waiting for them, or shows locations added or deactivated since: drawn again unless one is chosen or being searched
    const untouched = !document.querySelector("#location input:checked") && !document.querySelector("#location-search")?.value;
    if (start && (first || (places(before.locations) !== places(locations) && untouched))) { shown = null; route(); }
  } catch (e) {
    if (e instanceof SignedOut) await signedOut();
  }
}

async function signedOut() {
  await store.put("kv", true, "signin_needed");
  const { count } = await outbox.status();
  if ((await store.get("kv", "me"))?.role === "participant") return campaign.stopped(count, exportUnsent);
  notice(count ? `Your session has ended. Sign in again to send the ${count} waiting ${count === 1 ? "audit" : "audits"}; they are kept on this phone.`
    : "Your session has ended. Sign in again to refresh your lists.", { id: "signin", actions: [h("a", { class: "button", href: "#/signin" }, "Sign in again")] });
}

/* ---------- trying a brand's draft (its test QR) ---------- */

/** The test mode: a brand's draft, as its editors try it before publishing. Test visits are answered
 *  as any visit; their audits go to the draft's test audits, scored for its editors, never counted. */
async function trying(brand, me, latest) {
  if (!me) {  // a session the managers' pages set, or none yet: sign in first, then back here
    try {
      const who = await call("GET", "/api/me");
      me = { name: who.name, role: who.role, regions: who.regions, csrf_token: who.csrf_token };
      await store.put("kv", me, "me");
    } catch (e) {
      await store.put("kv", brand, "try");
      notice("Sign in as an admin or a manager to try the draft.", { id: "signin" });
      return signIn(null);
    }
  }
  let found;
  try {
    found = await call("GET", `/api/drafts/${encodeURIComponent(brand)}`);
  } catch (e) {
    if (!latest()) return;
    return show(h("h2", { id: "step-title", tabindex: "-1" }, "Test mode"), h("div", { class: "card problem", id: "try-problem" },
      h("p", {}, e instanceof SignedOut ? "Sign in as an admin or a manager to try a draft."
        : e instanceof Refused ? `This draft cannot be tried here: ${e.message}` : `Could not reach the server: ${e.message}. Trying a draft needs a connection.`),
      h("a", { class: "button", href: "#/" }, "Back to start")));
  }
  if (!latest()) return;
  const boxes = found.checklists.map((c) => h("label", {}, h("input", { type: "checkbox", value: c.id }), c.title));
  const start = h("button", { type: "submit", class: "primary" }, "Start a test visit");
  show(h("h2", { id: "step-title", tabindex: "-1" }, `Test mode: the draft of ${brand}`),
    h("p", { class: "card notice", id: "test-mode" }, "Nothing you send here counts: test audits are scored with the draft and shown to its editors on the draft's page, never in any figure, and are deleted when the draft is published."),
    h("form", { class: "card stack", onsubmit: async (event) => {
      event.preventDefault();
      const picked = found.checklists.filter((c) => boxes.some((b) => b.querySelector("input").checked && b.querySelector("input").value === c.id));
      if (!picked.length) return notice("Choose at least one checklist to try.", { bad: true, id: "try" });
      const draft = await visit.start({ id: `test-${brand}`, name: `a test of the ${brand} draft` }, picked, null, brand);
      location.hash = `#/visit/${draft.id}`;
    } }, h("fieldset", { class: "item" }, h("legend", {}, "Checklists of the draft"), ...boxes), start),
    h("p", {}, h("a", { href: "#/" }, "Leave the test mode")));
}

/* ---------- the start screen ---------- */

async function home(me, latest) {
  const lists = await store.get("kv", "lists");
  const drafts = (await store.all("drafts")).sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  if (me.role === "participant") {  // a campaign's participant: its campaign, its calls, nothing else
    const box = h("section", { class: "card", id: "outbox", "aria-labelledby": "outbox-title" });
    const sent = h("section", { class: "card", id: "sent", "aria-labelledby": "sent-title" });
    const parts = [...campaign.card(lists, startVisit), ...inProgress(drafts), box, sent, await device(me, lists)];
    if (!latest()) return;
    show(...parts);
    await Promise.all([drawOutbox(box), drawSent(sent)]);
    return;
  }
  const parts = [h("h2", { id: "step-title", tabindex: "-1" }, `Hello, ${me.name}`)];
  if (me.role === "staff") {  // a shop's own team: its actions, and its page for the figures
    parts.push(await actions.card(me, () => drawActions(me)), h("p", { class: "card" }, h("a", { class: "button", href: "/manage/" }, "Your shop's page: figures and audits")), await device(me, lists));
    if (latest()) show(...parts);
    return;
  }
  if (me.role !== "auditor") parts.push(h("p", { class: "card" }, h("a", { class: "button", href: "/manage/" }, "Managers' pages: figures and reports")));
  if (!sendsAudits(me.role)) parts.push(h("p", { class: "card problem", id: "not-yours" }, MANAGERS_SEND_NONE));
  // What an auditor came for, in order: a visit in progress, the visits due to them, starting one;
  // then the open visits they may claim, folded away.
  parts.push(...inProgress(drafts));
  const plans = h("div", { id: "program" }), open = h("div", { id: "open" });
  await drawProgram(me, plans, open, lists);
  parts.push(plans);
  if (sendsAudits(me.role)) parts.push(lists ? newVisit(lists) : h("div", { class: "card" }, h("p", {}, "Your locations and checklists are not on this phone yet. Connect once and tap “Refresh lists”.")));
  parts.push(open);
  const box = h("section", { class: "card", id: "outbox", "aria-labelledby": "outbox-title" });
  const sent = h("section", { class: "card", id: "sent", "aria-labelledby": "sent-title" });
  parts.push(box, sent, await device(me, lists));
  if (!latest()) return;
  show(...parts);
  await Promise.all([drawOutbox(box), drawSent(sent)]);
}

/** The drafts not finished yet, to continue (none: nothing). */
function inProgress(drafts) {
  return drafts.length ? [h("section", { class: "card", "aria-labelledby": "drafts-title" }, h("h3", { id: "drafts-title" }, "In progress"),
    h("ul", { class: "plain" }, drafts.map((d) => h("li", { class: "row" },
      h("span", { class: "grow" }, h("strong", {}, d.location_name), h("br"), h("span", { class: "muted" }, `${d.audits.map((a) => a.title).join(", ")} · edited ${age(d.updated_at)}`)),
      h("a", { class: "button", href: `#/visit/${d.id}` }, "Continue")))))] : [];
}

/** The planned visits and returned audits on the start screen, drawn (again) in their own boxes. */
async function drawProgram(me, box = document.getElementById("program"), openBox = document.getElementById("open"), lists = null) {
  if (!box) return;
  lists ??= await store.get("kv", "lists");
  if (!lists) return;
  const visits = await program.visitsCards(me, lists, startVisit, Boolean(openBox?.querySelector("details")?.open));
  box.replaceChildren(...[visits?.yours, await program.returnedCard(lists)].filter(Boolean));
  openBox?.replaceChildren(...[visits?.open].filter(Boolean));
}

async function drawActions(me) {
  const box = document.getElementById("actions");
  if (box) box.replaceWith(await actions.card(me, () => drawActions(me)));
}

/** The auditor's own audits as the server holds them, newest first; kept on the phone for offline. */
async function refreshSent() {
  try {
    const page = await call("GET", "/api/audits?limit=20");
    await store.put("kv", { items: page.items, fetched_at: new Date().toISOString() }, "sent");
    const box = document.getElementById("sent");
    if (box) await drawSent(box);
  } catch (e) {
    if (e instanceof SignedOut) await signedOut();
  }
}

const STATUS = {
  submitted: "received", awaiting_photos: "received; its photos are still on the way", approved: "approved",
  returned: "returned to you: see above", rejected: "rejected",
};

/** Start a planned visit: its location and touchpoints chosen, the draft carrying the assignment's id. */
async function startVisit(where, touchpoints, assignment) {
  const lists = await store.get("kv", "lists");
  const picked = touchpoints.map((t) => lists.checklists.find((c) => c.id === t && c.brand === where.brand)).filter(Boolean);
  const draft = await visit.start(where, picked, assignment);
  location.hash = `#/visit/${draft.id}`;
}

async function drawSent(box) {
  const [sent, lists] = await Promise.all([store.get("kv", "sent"), store.get("kv", "lists")]);
  const place = new Map((lists?.locations ?? []).map((l) => [l.id, l.name]));
  const title = new Map((lists?.checklists ?? []).map((c) => [c.id, c.title]));
  const when = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;  // as the phone recorded it: its local time
  box.replaceChildren(h("h3", { id: "sent-title" }, "Sent audits"),
    !sent ? h("p", { class: "muted" }, "They show here once the phone has been online.")
      : !sent.items.length ? h("p", { class: "muted" }, "None yet.")
        : h("ul", { class: "plain" }, sent.items.map((a) => h("li", {},
          h("strong", {}, `${title.get(a.checklist) ?? a.checklist} at ${place.get(a.location) ?? a.location}`), h("br"),
          h("span", { class: "muted" }, `finished ${when(a.finished_at)} · ${STATUS[a.status] ?? a.status}`),
          a.corrections ? h("div", { class: "muted" }, `The reviewer corrected ${a.corrections} ${a.corrections === 1 ? "answer" : "answers"}.`) : null,
          a.status === "rejected" && a.review_note ? h("div", { class: "muted" }, `Why: ${a.review_note}`) : null))),
    sent ? h("p", { class: "muted" }, `Updated ${age(sent.fetched_at)}.`) : null);
}

const KIND_NAMES = { phone: "a phone line", website: "a website", chat: "a chat", email: "an e-mail address" };

const SHOWN = 8;  // locations listed at once: the search narrows a chain of hundreds to these

/** Great-circle kilometres between the phone and a location. */
function km(from, to) {
  const rad = Math.PI / 180, dLat = (to.lat - from.lat) * rad, dLng = (to.lng - from.lng) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(from.lat * rad) * Math.cos(to.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(a));
}

function newVisit(lists) {
  let position = null;  // the phone's, once it gave it: nearest first
  const search = h("input", { type: "search", id: "location-search", autocomplete: "off", enterkeyhint: "search", "aria-describedby": "location-count" });
  const places = h("div", { class: "choices column places", id: "location", role: "radiogroup", "aria-labelledby": "location-label" });
  const count = h("p", { class: "muted", id: "location-count", "aria-live": "polite" });
  const nearest = h("button", { type: "button", id: "nearest", hidden: !navigator.geolocation }, "Nearest first");
  const touchpoints = h("div", { class: "checks", id: "touchpoints" });
  const start = h("button", { type: "submit", class: "primary", disabled: true }, "Start visit");
  const chosen = () => lists.locations.find((l) => l.id === places.querySelector("input:checked")?.value);
  const draw = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const picked = chosen();
    const away = (l) => (position && l.lat != null ? km(position, l) : Infinity);
    const matching = lists.locations
      .filter((l) => words.every((w) => `${l.name} ${l.address} ${l.id}`.toLowerCase().includes(w)))
      .sort((a, b) => away(a) - away(b) || a.name.localeCompare(b.name));
    const shown = matching.slice(0, SHOWN);
    if (picked && !shown.includes(picked)) shown.unshift(picked);  // the choice stays in sight while searching on
    places.replaceChildren(...shown.map((l) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "location", value: l.id, checked: l === picked, onchange: choose }),
      h("span", {}, h("div", {}, h("strong", {}, l.name), l.address ? h("br") : null, l.address ? h("small", {}, l.address) : null),
        away(l) < Infinity ? h("small", {}, away(l) < 1 ? `${Math.round(away(l) * 1000)} m` : `${away(l).toFixed(1)} km`) : null))));
    count.textContent = !matching.length ? "No location matches: try part of its name or town."
      : matching.length > SHOWN ? `${SHOWN} of ${matching.length} shown${position ? ", nearest first" : ""}: type to find others.`
        : position ? "Nearest first." : "";
  };
  const choose = () => {
    const where = chosen();
    const brand = lists.brands.find((b) => b.id === where?.brand);
    const order = brand ? brand.touchpoints : [];
    const mine = where ? offered(where, lists.checklists.filter((c) => c.brand === where.brand)).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id)) : [];
    touchpoints.replaceChildren(...(mine.length || !where ? mine.map((c) => h("label", {}, h("input", { type: "checkbox", value: c.id, onchange: ready }), c.title))
      : [h("p", { class: "muted" }, `No checklist of this brand is for ${KIND_NAMES[where.kind] ?? "this kind of location"}: ask a manager for one.`)]));
    ready();
  };
  const ready = () => { start.disabled = !touchpoints.querySelector("input:checked"); };
  search.addEventListener("input", draw);
  nearest.addEventListener("click", () => {
    count.textContent = "Asking the phone where it is…";
    navigator.geolocation.getCurrentPosition(
      (found) => { position = { lat: found.coords.latitude, lng: found.coords.longitude }; draw(); },
      () => { count.textContent = "The phone did not give its position: search by name instead."; },
      { enableHighAccuracy: false, timeout: 15_000, maximumAge: 300_000 });
  });
  draw();
  return h("form", {
    class: "card stack", "aria-labelledby": "new-title", onsubmit: async (event) => {
      event.preventDefault();
      const where = chosen();
      const picked = [...touchpoints.querySelectorAll("input:checked")].map((i) => lists.checklists.find((c) => c.id === i.value && c.brand === where.brand));
      const draft = await visit.start(where, picked);
      location.hash = `#/visit/${draft.id}`;
    },
  }, h("h3", { id: "new-title" }, "Start a visit"),
  h("label", { class: "field", for: "location-search", id: "location-label" }, "Location"),
  h("div", { class: "row" }, h("span", { class: "grow" }, search), nearest), count, places,
  h("fieldset", { class: "item" }, h("legend", {}, "Touchpoints to audit"), touchpoints), start);
}

async function drawOutbox(box) {
  if (!box.isConnected) return;
  const entries = await outbox.entries();
  const me = await store.get("kv", "me");
  const parts = [h("h3", { id: "outbox-title" }, "Outbox")];
  if (!entries.length) parts.push(h("p", { id: "outbox-status" }, "Everything is sent."));
  else {
    parts.push(h("p", { id: "outbox-status" }, `${entries.length} ${entries.length === 1 ? "audit waits" : "audits wait"} to be sent; the oldest was finished ${age(entries[0].created_at)}.`));
    parts.push(h("ul", { class: "plain" }, entries.map((e) => h("li", {},
      h("strong", {}, `${e.draft?.title ?? e.body.checklist} at ${e.location_name ?? e.body.location}`), " ",
      h("span", { class: "muted" }, e.state === "waiting" ? (e.accepted ? `audit sent, ${e.photos.length} photo(s) to go` : "not sent yet")
        : e.state === "conflict" ? "the server holds a different audit with this id" : e.state === "closed" ? "not taken: kept on this phone (export it)" : "refused by the server"),
      e.auditor !== me?.name ? h("span", { class: "muted" }, ` (waits for ${e.auditor} to sign in)`) : null,
      e.note ? h("div", { class: e.state === "waiting" ? "muted" : "problem" }, e.note) : null,
      e.state === "refused" && e.draft && e.auditor === me?.name  // an older app kept no `draft`: export those
        ? h("button", { type: "button", class: "link", onclick: () => correct(e) }, "Correct it") : null))));
    parts.push(h("div", { class: "row" },
      h("button", { type: "button", class: "primary", id: "send-now", onclick: () => sync(true) }, "Send now"),
      h("button", { type: "button", id: "export", onclick: exportUnsent }, "Export unsent")));
  }
  box.replaceChildren(...parts);
}

async function correct(entry) {
  const id = await visit.reopen(entry);
  if (id) location.hash = `#/visit/${id}`;
  else notice("This visit is open in another tab: finish or leave it there, then correct the audit.", { bad: true, id: "correct" });
}

async function device(me, lists) {
  const persisted = await navigator.storage?.persisted?.();
  return h("section", { class: "card stack", "aria-labelledby": "phone-title" }, h("h3", { id: "phone-title" }, "This phone"),
    h("p", { class: "muted", id: "offline-ready" }, navigator.serviceWorker?.controller ? "The app is ready to work offline." : "Getting the app ready to work offline…"),
    h("p", { class: "muted" }, persisted ? "Storage is kept: the browser will not clear your drafts." : "The browser may clear stored data when space runs low; send audits soon."),
    h("p", { class: "muted" }, lists ? `Lists updated ${age(lists.fetched_at)}.` : "Lists not downloaded."),
    h("div", { class: "row" },
      h("button", { type: "button", onclick: async () => { await refreshLists(); shown = null; route(); } }, "Refresh lists"),
      h("button", { type: "button", onclick: () => signOut(me) }, me.role === "participant" ? "Leave the campaign" : "Sign out")));
}

async function exportUnsent() {
  const blob = await outbox.exportFile();
  const link = h("a", { href: URL.createObjectURL(blob), download: `touchpoint-unsent-${new Date().toISOString().slice(0, 16).replace(":", "")}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

async function signOut(me) {
  const waiting = (await outbox.entries()).filter((e) => e.auditor === me.name).length;
  if (waiting && !confirm(`${waiting} of your audits are not sent yet. They stay on this phone and are sent when you sign in again. Sign out?`)) return;
  try { await call("POST", "/api/logout", { csrf: me.csrf_token }); } catch { /* signed out on the phone all the same */ }
  await store.remove("kv", "me");
  location.hash = "#/signin";
}

/* ---------- keeping in sync ---------- */

let timer = 0;
async function sync(force = false) {
  clearTimeout(timer);
  const result = await outbox.send({ force });
  const me = await store.get("kv", "me");
  if (!result.signedOut && me?.role === "auditor" && navigator.onLine) {
    try {
      if (await program.sendClaims(me.csrf_token, me)) await drawProgram(me);
    } catch (e) { if (e instanceof SignedOut) result.signedOut = true; }
  }
  if (!result.signedOut && me?.role === "staff" && navigator.onLine) {
    try {
      if (await actions.send(me.csrf_token)) await drawActions(me);
    } catch (e) { if (e instanceof SignedOut) result.signedOut = true; }
  }
  if (result.signedOut && (await store.get("kv", "me"))) await signedOut();
  if (result.sent) { refreshSent(); if (me?.role === "auditor") program.refresh().catch(() => {}); }
  const next = (await outbox.entries()).filter((e) => e.state === "waiting").map((e) => e.next_at).sort((a, b) => a - b)[0];
  if (next !== undefined && !result.signedOut) timer = setTimeout(sync, Math.max(1000, next - Date.now()));
}

async function pill() {
  const { count, oldest } = await outbox.status();
  const button = document.getElementById("sync");
  button.hidden = false;
  button.textContent = count ? `${count} to send` : "All sent";
  button.title = count ? `oldest finished ${age(oldest)}` : "nothing waiting";
  button.onclick = () => { location.hash = "#/"; document.getElementById("outbox")?.scrollIntoView(); };
  const box = document.getElementById("outbox");
  if (box) drawOutbox(box);
}

/* ---------- the app's own updates ---------- */

async function worker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/sw.js");
  let taking = false;
  const offer = (waiting) => notice("A new version of Touchpoint is ready. Your drafts and the stopwatch are saved, so nothing is lost.", {
    id: "update", actions: [h("button", { type: "button", class: "primary", onclick: () => { taking = true; waiting.postMessage("take-new-version"); } }, "Use it now")],
  });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const installing = registration.installing;
    installing?.addEventListener("statechange", () => { if (installing.state === "installed" && navigator.serviceWorker.controller) offer(installing); });
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (taking) location.reload();
    else document.getElementById("offline-ready")?.replaceChildren("The app is ready to work offline.");
  });
}

/** The bar's offline badge: there while the phone has no network (what is done waits on it), a
 *  short "Back online" when it returns; a status region, so a screen reader says both. */
let back = 0;
function network() {
  const badge = document.getElementById("network");
  clearTimeout(back);
  badge.classList.toggle("back", navigator.onLine);
  if (!navigator.onLine) {
    badge.textContent = "Offline";
    badge.title = "No network: drafts and finished audits wait on this phone and are sent when it is back online.";
  } else if (badge.textContent) {
    badge.textContent = "Back online";
    badge.title = "";
    back = setTimeout(() => { badge.textContent = ""; }, 4000);
  }
}

addEventListener("offline", network);
addEventListener("online", network);
addEventListener("hashchange", route);
addEventListener("outbox", pill);
addEventListener("send-now", () => sync(true));
addEventListener("claim", async () => { await drawProgram(await store.get("kv", "me")); sync(true); });
addEventListener("online", () => { refreshLists(); sync(true); });
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") sync(); });

route();
pill();
network();
worker();
(async () => {
  if (await store.get("kv", "signin_needed")) await signedOut();
  else if (await store.get("kv", "me")) { if (navigator.onLine) refreshLists(); sync(true); }
})();
