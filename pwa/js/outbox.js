// The outbox: finished audits wait here until the server has them. Each audit, then each of its
// photos, goes on its own request with the id made on the phone, so a retry is always harmless.
// An entry leaves only after the server answered 200/201 in JSON naming what was sent.
import { call, Refused, SignedOut, TryLater } from "./api.js";
import * as store from "./store.js";

const channel = "BroadcastChannel" in self ? new BroadcastChannel("touchpoint") : null;
export function changed() {
  dispatchEvent(new Event("outbox"));
  channel?.postMessage("outbox");
}
channel?.addEventListener("message", (e) => { if (e.data === "outbox") dispatchEvent(new Event("outbox")); });

export async function entries() {
  return (await store.all("outbox")).sort((a, b) => a.created_at.localeCompare(b.created_at));
}

/** How many wait and the oldest's finish time. */
export async function status() {
  const waiting = await entries();
  return { count: waiting.length, oldest: waiting[0]?.created_at ?? null };
}

/** After n failed tries: 5 s, 10 s, 20 s … up to 10 min, with jitter so phones do not retry in step. */
export const backoff = (attempts) => Math.min(600_000, 5000 * 2 ** Math.max(0, attempts - 1)) * (0.75 + Math.random() / 2);

/** Send what is due (everything when `force`). One tab sends at a time. Returns what happened. */
export async function send({ force = false } = {}) {
  if (!navigator.locks) return run(force);
  return navigator.locks.request("touchpoint-outbox", { ifAvailable: true }, (lock) => (lock ? run(force) : { busy: true }));
}

async function run(force) {
  const me = await store.get("kv", "me");
  if (!me || (await store.get("kv", "signin_needed"))) return { signedOut: true };
  const outcome = { sent: 0, signedOut: false, note: null };
  for (const entry of await entries()) {
    if (entry.state !== "waiting" || entry.auditor !== me.name) continue;
    if (!force && entry.next_at > Date.now()) continue;
    try {
      await deliver(entry, me.csrf_token);
      await store.remove("outbox", entry.id);
      outcome.sent += 1;
    } catch (error) {
      if (error instanceof SignedOut) {
        await store.put("kv", true, "signin_needed");
        outcome.signedOut = true;
        break;
      }
      if (error instanceof Refused) {
        // a campaign's audit sent before its start or after its end: kept, said why, never sent again on its own
        entry.state = error.details?.code === "campaign_closed" ? "closed" : error.status === 409 ? "conflict" : "refused";
        entry.note = error.details?.problems?.length ? error.details.problems.map((p) => said(p, entry)).join("; ") : error.message;
      } else {
        entry.attempts = (entry.attempts ?? 0) + 1;
        entry.next_at = Date.now() + backoff(entry.attempts);
        entry.note = error instanceof TryLater ? error.message : String(error);
      }
      await store.put("outbox", entry);
      outcome.note = entry.note;
      if (!(error instanceof Refused)) break;  // the network is down: the others would fail the same way
    } finally {
      changed();
    }
  }
  return outcome;
}

/** One of the server's problems, named as the auditor saw the item: its question, not its id. */
function said(problem, entry) {
  const item = entry.draft?.definition.sections.flatMap((s) => s.items).find((i) => i.id === problem.item);
  const what = item?.text ?? problem.item ?? problem.field;
  return what ? `${what} — ${problem.message}` : problem.message;
}

async function deliver(entry, csrf) {
  if (entry.test) {  // a test of a brand's draft: scored with the draft, never counted; its photos stay on the phone
    await call("POST", `/api/drafts/${encodeURIComponent(entry.test)}/test-audits`, { json: entry.body, csrf, expectId: entry.id });
    for (const id of entry.photos) await store.remove("photos", id);
    return;
  }
  if (!entry.accepted) {
    await call("POST", "/api/audits", { json: entry.body, csrf, expectId: entry.id });
    entry.accepted = true;
    await store.put("outbox", entry);
  }
  while (entry.photos.length) {
    const id = entry.photos[0];
    const photo = await store.get("photos", id);
    if (photo) await call("PUT", `/api/audits/${entry.id}/photos/${id}`, { blob: photo.blob, csrf, expectId: id });
    entry.photos.shift();
    await store.together(["outbox", "photos"], (s) => { s.outbox.put(entry); s.photos.delete(id); });
  }
}

/** Everything unsent in one JSON file, photos inline: the last resort when nothing gets through. */
export async function exportFile() {
  const audits = [];
  for (const entry of await entries()) {
    const photos = [];
    for (const id of entry.photos) {
      const photo = await store.get("photos", id);
      if (photo) photos.push({ id, type: photo.blob.type, data_url: await dataUrl(photo.blob) });
    }
    audits.push({ audit: entry.body, auditor: entry.auditor, sent: Boolean(entry.accepted), state: entry.state, note: entry.note ?? null, photos });
  }
  const text = JSON.stringify({ touchpoint_export: 1, exported_at: new Date().toISOString(), audits }, null, 1);
  return new Blob([text], { type: "application/json" });
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
