// Follow-up actions on the phone, for a shop's staff: their location's open actions (kept for
// offline reading), each closed with what was done and, if they like, a photo from the camera.
// A close made offline waits on the phone (photo included) and is sent when it is online.
import { call, Refused, SignedOut, TryLater } from "./api.js";
import * as store from "./store.js";
import { shrink } from "./photos.js";
import { h } from "./ui.js";

const today = () => new Date().toISOString().slice(0, 10);

export async function refresh() {
  const items = await call("GET", "/api/actions?state=open&limit=200");
  await store.put("kv", { items, fetched_at: new Date().toISOString() }, "actions");
}

/** Send the closes waiting on the phone; true when any was settled. */
export async function send(csrf) {
  const waiting = (await store.get("kv", "closes")) ?? {};
  let settled = false;
  for (const [id, close] of Object.entries(waiting)) {
    if (close.refused) continue;
    const form = new FormData();
    form.append("note", close.note);
    if (close.photo) form.append("photo", close.photo, "done.jpg");
    try {
      await call("POST", `/api/actions/${id}/close`, { form, csrf });
      delete waiting[id];
    } catch (e) {
      if (e instanceof SignedOut) throw e;
      if (e instanceof TryLater) break;
      if (e instanceof Refused) close.refused = e.message;  // kept and said: closed already, or no longer theirs
    }
    settled = true;
  }
  await store.put("kv", waiting, "closes");
  if (settled) await refresh().catch(() => {});
  return settled;
}

/** The card on a staff member's start screen. `redraw` draws it again after a change. */
export async function card(me, redraw) {
  const list = await store.get("kv", "actions");
  const waiting = (await store.get("kv", "closes")) ?? {};
  const lists = await store.get("kv", "lists");
  const items = (list?.items ?? []).filter((a) => a.state === "open" || a.state === "overdue");
  const rows = items.map((a) => {
    const late = a.due < today();
    const queued = waiting[a.id];
    // in the words staff read: the checklist's title and the failed items' questions, never their ids
    const checklist = (lists?.checklists ?? []).find((c) => c.id === a.checklist);
    const question = new Map((checklist?.definition.sections ?? []).flatMap((s) => s.items.map((i) => [i.id, i.text])));
    const what = [...a.reasons.critical_failed.map((id) => `Failed, and it matters most: ${question.get(id) ?? id}`),
      a.reasons.score !== null && a.reasons.score < a.reasons.threshold ? `Score ${a.reasons.score.toFixed(1)}, under the ${a.reasons.threshold} that keeps the promise.` : ""].filter(Boolean);
    const head = h("div", {}, h("p", {}, h("strong", {}, checklist?.title ?? a.checklist), h("br"), h("span", { class: late ? "problem" : "muted" }, late ? `overdue since ${a.due}` : `due ${a.due}`)),
      what.length ? h("ul", { class: "reasons" }, what.map((line) => h("li", {}, line))) : null);
    if (queued) {
      return h("li", { class: "card action", id: `action-${a.id}` }, head,
        h("p", { class: queued.refused ? "problem" : "muted", role: "status" }, queued.refused ? `Not closed: ${queued.refused}` : "Closed on this phone; it is sent when the phone is online."));
    }
    const note = h("textarea", { id: `note-${a.id}`, rows: 3, maxlength: 4000, required: true });
    const photo = h("input", { type: "file", id: `photo-${a.id}`, accept: "image/*", capture: "environment" });
    const problem = h("p", { class: "problem", role: "alert" });
    return h("li", { class: "card action", id: `action-${a.id}` }, head, h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      if (!note.value.trim()) { problem.textContent = "Say what was done."; return; }
      let blob = null;
      try { if (photo.files[0]) blob = (await shrink(photo.files[0])).blob; } catch (e) { problem.textContent = e.message; return; }
      const all = (await store.get("kv", "closes")) ?? {};
      all[a.id] = { note: note.value.trim(), photo: blob, at: new Date().toISOString() };
      await store.put("kv", all, "closes");
      if (navigator.onLine) { try { await send(me.csrf_token); } catch { /* signed out: kept, said by the app */ } }
      await redraw();
    } }, h("label", { class: "field", for: `note-${a.id}` }, "What was done"), note,
    h("label", { class: "field", for: `photo-${a.id}` }, "A photo of it (optional)"), photo, problem,
    h("button", { type: "submit", class: "primary" }, "Close the action")));
  });
  return h("section", { class: "card", id: "actions", "aria-labelledby": "actions-title" }, h("h3", { id: "actions-title" }, "Actions to put right"),
    list ? (rows.length ? h("ul", { class: "plain" }, rows) : h("p", {}, "Nothing open: every letdown found has been put right."))
      : h("p", { class: "muted" }, "They show here once the phone has been online."));
}
