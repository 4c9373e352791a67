// The program on the phone: the auditor's assignments (kept for offline use, due soonest first),
// claims of open ones (queued like audits and sent when online; someone else may have claimed
// first, which the app then says plainly), and audits the reviewer returned, reopened as drafts.
import { call, Refused, SignedOut, TryLater } from "./api.js";
import * as store from "./store.js";
import { h, localTime, notice, uuid } from "./ui.js";
import * as stopwatch from "./stopwatch.js";

/** Fetch my assignments and my returned audits (with their answers) for offline use. */
export async function refresh() {
  const [assignments, returned] = await Promise.all([call("GET", "/api/assignments"), call("GET", "/api/audits?status=returned&limit=50")]);
  const full = await Promise.all(returned.items.map((a) => call("GET", `/api/audits/${a.id}`)));
  await store.put("kv", { items: assignments, fetched_at: new Date().toISOString() }, "assignments");
  await store.put("kv", { items: full, fetched_at: new Date().toISOString() }, "returned");
}

const today = () => localTime().slice(0, 10);

/** An assignment's state as of the phone's own date (the list may be days old when offline). */
export function stateOf(a) {
  if (a.state === "done" || a.state === "cancelled") return a.state;
  if (today() > a.ends) return "overdue";
  if (today() >= a.starts) return "due";
  return a.state === "claimed" ? "claimed" : "planned";
}

/** Queue a claim; `sendClaims` sends it now if the phone is online. */
export async function claim(id) {
  const claims = (await store.get("kv", "claims")) ?? [];
  if (!claims.some((c) => c.id === id)) claims.push({ id, state: "waiting", at: new Date().toISOString() });
  await store.put("kv", claims, "claims");
}

/** Send waiting claims. A 409 means someone else was first: the claim is marked and said. */
export async function sendClaims(csrf, me) {
  const claims = (await store.get("kv", "claims")) ?? [];
  const list = await store.get("kv", "assignments");
  let changed = false;
  for (const c of claims.filter((c) => c.state === "waiting")) {
    try {
      const now = await call("POST", `/api/assignments/${c.id}/claim`, { csrf, expectId: c.id });
      c.state = "sent";
      const i = list?.items.findIndex((a) => a.id === c.id) ?? -1;
      if (i >= 0) list.items[i] = now;
    } catch (e) {
      if (e instanceof SignedOut) throw e;
      if (e instanceof TryLater) break;
      if (e instanceof Refused) {
        c.state = "refused";
        c.note = e.status === 409 ? "Another auditor claimed this visit first: it is theirs now." : e.message;
        const a = list?.items.find((x) => x.id === c.id);
        notice(`${a ? `Visit to ${a.location_name}` : "A visit"}: ${c.note}`, { bad: true, id: `claim-${c.id}` });
      }
    }
    changed = true;
  }
  if (changed) {
    await store.put("kv", claims.filter((c) => c.state !== "sent"), "claims");
    if (list) await store.put("kv", list, "assignments");
  }
  return changed;
}

/** The start screen's two lists: "Your visits" (yours, and those you claimed), drawn before starting
 *  a visit, and the open ones you may claim (the server lists only those of your regions), folded
 *  away below it, grouped by region, one short row each. Null before the first download. */
export async function visitsCards(me, lists, startVisit, unfolded = false) {
  const [list, claims] = await Promise.all([store.get("kv", "assignments"), store.get("kv", "claims")]);
  if (!list) return null;
  const pending = new Map((claims ?? []).map((c) => [c.id, c]));
  const place = new Map((lists?.locations ?? []).map((l) => [l.id, l]));
  const title = new Map((lists?.checklists ?? []).map((c) => [c.id, c.title]));
  const items = list.items.filter((a) => !["done", "cancelled"].includes(stateOf(a))).sort((x, y) => x.ends.localeCompare(y.ends) || x.starts.localeCompare(y.starts));
  const isMine = (a) => a.auditor === me.name || pending.get(a.id)?.state === "waiting";
  const row = (a, compact) => {
    const state = stateOf(a), claim = pending.get(a.id);
    const lost = claim?.state === "refused";
    const actions = [];
    if (!a.auditor && !claim) actions.push(h("button", { type: "button", onclick: async () => { await claim_(a.id); } }, "Claim"));
    if ((isMine(a) || (!a.auditor && !compact)) && !lost && place.get(a.location)) {  // an open one: claimed first, then started from "Your visits"
      actions.push(h("button", { type: "button", class: "primary", onclick: () => startVisit(place.get(a.location), a.touchpoints, a.id) }, "Start"));
    }
    const when = a.starts === a.ends ? [day(a.starts)] : [day(a.starts), " to ", day(a.ends)];
    const what = [`${a.touchpoints.map((t) => title.get(t) ?? t).join(", ")} · `, ...when];
    const status = lost ? claim.note : claim?.state === "waiting" ? "Your claim is sent when the phone is online." : compact ? null : a.auditor === me.name ? "Yours" : null;
    return h("li", { class: `assignment ${state}`, "data-id": a.id },
      h("div", { class: "grow" }, h("strong", {}, a.location_name), compact ? h("br") : " ", h("span", { class: `badge ${state}` }, state), compact ? " " : h("br"),
        h("span", { class: "muted" }, what),
        status ? h("div", { class: lost ? "problem" : "muted" }, status) : null,
        a.note ? h("div", { class: "muted" }, `Note: ${a.note}`) : null),
      h("div", { class: "row" }, ...actions));
  };
  const mine = items.filter(isMine), open = items.filter((a) => !isMine(a));
  const yours = h("section", { class: "card", id: "visits", "aria-labelledby": "visits-title" }, h("h3", { id: "visits-title" }, "Your visits"),
    mine.length ? h("ul", { class: "plain" }, mine.map((a) => row(a, false)))
      : h("p", { class: "muted" }, open.length ? "None planned for you: claim an open one below." : "No planned visits for you right now."));
  if (!open.length) return { yours, open: null };
  const regions = new Map();
  for (const a of open) regions.set(a.region, [...(regions.get(a.region) ?? []), a]);
  const own = new Set(me.regions ?? []);
  const order = [...regions.keys()].sort((x, y) => Number(own.has(y)) - Number(own.has(x)) || String(x).localeCompare(String(y)));
  const grouped = order.length > 1;
  const regionName = new Map((lists?.regions ?? []).map((r) => [r.id, r.name]));  // lists kept by an older app have none: the id
  const folded = h("details", { open: unfolded || open.length <= 3 },  // drawn again after a claim: still open if it was
    h("summary", {}, `Open visits you may claim: ${open.length}${grouped ? ` in ${order.length} regions` : ""}`),
    h("p", { class: "muted" }, "The first auditor to claim one takes it."),
    order.flatMap((r) => [grouped ? h("h4", {}, regionName.get(r) ?? `Region ${r}`) : null, h("ul", { class: "plain compact" }, regions.get(r).map((a) => row(a, true)))]));
  return { yours, open: h("section", { class: "card", id: "open-visits", "aria-label": "Open visits" }, folded) };
}

/** A day as "2026-12-07", kept on one line (a long word elsewhere may break anywhere, a date not). */
const day = (iso) => h("span", { class: "nowrap" }, iso);

async function claim_(id) {
  await claim(id);
  dispatchEvent(new Event("claim"));
}

/** Audits the reviewer sent back, each with the comments and any corrections. */
export async function returnedCard(lists) {
  const returned = await store.get("kv", "returned");
  const drafts = new Set((await store.all("drafts")).flatMap((d) => d.audits.map((a) => a.id)));
  const outbox = new Set((await store.all("outbox")).map((e) => e.id));
  const items = (returned?.items ?? []).filter((a) => !drafts.has(a.id) && !outbox.has(a.id));
  if (!items.length) return null;
  const place = new Map((lists?.locations ?? []).map((l) => [l.id, l.name]));
  const title = new Map((lists?.checklists ?? []).map((c) => [c.id, c.title]));
  return h("section", { class: "card", id: "returned-list", "aria-labelledby": "returned-title" }, h("h3", { id: "returned-title" }, "Returned to you"),
    h("ul", { class: "plain" }, items.map((a) => h("li", {},
      h("strong", {}, `${title.get(a.checklist) ?? a.checklist} at ${place.get(a.location) ?? a.location}`),
      h("p", {}, `“${a.review_note ?? ""}”`),
      a.corrections.length ? h("p", { class: "muted" }, `${a.corrections.length} answer(s) corrected by the reviewer`) : null,
      h("button", { type: "button", class: "primary", onclick: () => fix(a, lists) }, "Fix and resend")))));
}

/** A returned audit as a draft under its own id and next revision, with its answers as the server holds them. */
async function fix(a, lists) {
  const c = lists.checklists.find((x) => x.id === a.checklist && x.brand === lists.locations.find((l) => l.id === a.location)?.brand) ?? lists.checklists.find((x) => x.id === a.checklist);
  const now = new Date().toISOString();
  const answers = {};
  for (const [id, ans] of Object.entries(a.answers)) answers[id] = { value: ans.value, comment: ans.comment ?? "", photos: [...(ans.photos ?? [])] };
  const draft = {
    id: a.visit ?? uuid(), location: a.location, location_name: lists.locations.find((l) => l.id === a.location)?.name ?? a.location,
    created_at: now, updated_at: now, assignment: a.assignment, step: 0,
    audits: [{ id: a.id, checklist: a.checklist, version: a.version, title: c?.title ?? a.checklist, mode: c?.mode, definition: c?.definition,
      started_at: a.started_at, answers, revision: a.revision + 1, stopwatch: c?.mode === "phone" ? stopwatch.fresh() : undefined }],
    returned: [{ title: c?.title ?? a.checklist, note: a.review_note ?? "", corrections: a.corrections }],
  };
  draft.step = draft.audits[0].definition.sections.length;  // straight to "Check and finish", the comments on top
  await store.put("drafts", draft);
  location.hash = `#/visit/${draft.id}`;
}
