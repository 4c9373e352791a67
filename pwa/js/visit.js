// Walking a visit: one or more touchpoint audits of one location, answered section by section.
// The draft is saved to IndexedDB on every change. A Web Lock makes the draft one tab's at a
// time, so two tabs can never turn one draft into two different audits with the same id.
// The score is never shown here: it would bias the answers.
import { MANAGERS_SEND_NONE, sendsAudits } from "./api.js";
import { applicable, body, photoIds, problems, progress, stopwatchTargets } from "./checklist.js";
import { itemView } from "./form.js";
import { changed } from "./outbox.js";
import { shrink } from "./photos.js";
import * as stopwatch from "./stopwatch.js";
import * as store from "./store.js";
import { h, localTime, notice, show, uuid } from "./ui.js";

/** A new draft for `location` with one audit per checklist, each pinned to its checklist's version;
 *  `assignment`: the planned visit it is made for; `test`: the brand whose draft it tries (its audits
 *  go to the draft's test audits, never counted). */
export async function start(location, checklists, assignment = null, test = undefined) {
  const now = new Date().toISOString(), started = localTime();
  const draft = {
    id: uuid(), location: location.id, location_name: location.name, created_at: now, updated_at: now, step: 0, assignment, test,
    audits: checklists.map((c) => ({
      id: uuid(), checklist: c.id, version: c.version, title: c.title, mode: c.mode, definition: c.definition,
      started_at: started, answers: {}, stopwatch: c.mode === "phone" ? stopwatch.fresh() : undefined,
    })),
  };
  await store.put("drafts", draft);
  return draft;
}

/** A refused audit back into a draft, answers and photos as they were sent, to correct and finish
 *  again. It keeps its id (the server stored nothing) and joins its visit's draft if there is one,
 *  under that draft's lock: null if another tab has the draft open. */
export async function reopen(entry) {
  if (!navigator.locks) return reopened(entry);
  return navigator.locks.request(`touchpoint-draft-${entry.body.visit}`, { ifAvailable: true }, (lock) => (lock ? reopened(entry) : null));
}

async function reopened(entry) {
  const b = entry.body, now = new Date().toISOString();
  const { title, mode, definition } = entry.draft;
  const draft = (await store.get("drafts", b.visit)) ?? { id: b.visit, location: b.location, location_name: entry.location_name, created_at: now, audits: [] };
  draft.audits.push({
    id: b.id, checklist: b.checklist, version: b.version, title, mode, definition, started_at: b.started_at,
    answers: structuredClone(b.answers), stopwatch: mode === "phone" ? stopwatch.fresh() : undefined,
  });
  draft.refused = [...(draft.refused ?? []), { title, note: entry.note }];
  draft.updated_at = now;
  draft.step = draft.audits.reduce((n, audit) => n + audit.definition.sections.length, 0);  // "Check and finish"
  await store.together(["drafts", "outbox"], (s) => { s.drafts.put(draft); s.outbox.delete(entry.id); });
  changed();
  return draft.id;
}

/** Open the draft while this tab holds its lock; `left` resolves when the auditor leaves the screen. */
export async function open(id, left, latest = () => true) {
  performance.mark("tp:visit-open");
  const run = async (lock) => {
    if (!latest()) return;
    if (lock === null) return blocked();
    const draft = await store.get("drafts", id);
    if (!latest()) return;
    if (!draft) {
      show(h("div", { class: "card" }, h("h2", {}, "This visit is no longer a draft"),
        h("p", {}, "It was finished (it is in the outbox or sent) or deleted."), h("a", { class: "button", href: "#/" }, "Back to start")));
      return;
    }
    const screen = new Screen(draft, (await store.get("kv", "me"))?.role);
    screen.render();
    scrollTo(0, 0);  // at its top, the stopwatch in sight: not where the start screen was scrolled to
    performance.mark("tp:visit-ready");
    dispatchEvent(new Event("tp:visit-ready"));  // for the benchmark: the visit is drawn and answers taps
    await left;
    await screen.saving;
    screen.close();
  };
  if (!navigator.locks) return run(true);
  const name = `touchpoint-draft-${id}`;
  const got = await navigator.locks.request(name, { ifAvailable: true }, async (lock) => { await run(lock); return lock !== null; });
  if (!got && latest()) await navigator.locks.request(name, run);  // opens here once the other tab lets go
}

function blocked() {
  show(h("div", { class: "card", id: "blocked" },
    h("h2", {}, "This visit is open in another tab"),
    h("p", {}, "A draft can be open in one place at a time, so it never becomes two different audits. It opens here by itself once it is closed there."),
    h("a", { class: "button", href: "#/" }, "Back to start")));
}

const FIRST = 12, SLICE = 24;  // items drawn at once (more than a screenful), then per task

class Screen {
  constructor(draft, role) {
    this.draft = draft;
    this.role = role;
    this.urls = new Map();
    this.steps = draft.audits.flatMap((audit, a) => audit.definition.sections.map((section, s) => ({ a, s, label: section.title })));
    this.steps.push({ review: true, label: "Check and finish" });
    this.again = false;
    this.pending = null;
  }

  /** Settles when the draft on the phone is the one on screen. */
  get saving() {
    return this.pending ?? Promise.resolve();
  }

  /** Saves are chained: the last state always lands, and never an older one after a newer. */
  save() {
    this.draft.updated_at = new Date().toISOString();
    if (this.pending) { this.again = true; return this.pending; }
    this.pending = (async () => {
      try {
        do { this.again = false; await store.put("drafts", this.draft); } while (this.again);
      } catch (error) {
        notice(`Could not save on this phone: ${error.message}`, { bad: true, id: "save" });
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  close() {
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
  }

  go(step, focus) {
    this.draft.step = Math.max(0, Math.min(step, this.steps.length - 1));
    this.save();
    this.render(Boolean(focus));
    const target = focus ? document.getElementById(focus) : document.getElementById("step-title");
    if (focus && target) {  // a missing item, from "Check and finish": marked, and its first control takes the keyboard
      target.classList.add("missing");
      target.scrollIntoView({ block: "center" });
      (target.querySelector("input:not([disabled]), textarea, select") ?? target).focus({ preventScroll: true });
      return;
    }
    target?.focus?.({ preventScroll: true });
    scrollTo(0, 0);
  }

  render(whole = false) {
    const step = this.steps[this.draft.step] ?? this.steps[0];
    this.bar = h("div", { class: "fill" });
    this.count = h("span", { class: "muted" });
    // Grouped by touchpoint, so each option is a short section title that fits a phone's width.
    const option = (s, i) => h("option", { value: String(i), selected: i === this.draft.step }, `${i + 1}. ${s.label}`);
    const picker = h("select", { id: "step", "aria-label": "Go to section", onchange: (e) => this.go(Number(e.target.value)) },
      this.draft.audits.map((audit, a) => h("optgroup", { label: audit.title }, this.steps.flatMap((s, i) => (s.a === a ? [option(s, i)] : [])))),
      option(this.steps.at(-1), this.steps.length - 1));
    const content = step.review ? this.review() : this.section(step, whole);
    const last = this.draft.step === this.steps.length - 1;
    show(
      h("div", { class: "progress" },
        h("div", { class: "row" }, h("strong", { class: "grow" }, this.draft.location_name), this.count),
        h("div", { class: "track", role: "progressbar", "aria-label": "Answered so far" }, this.bar)),
      h("label", { class: "field" }, h("span", { class: "muted" }, "Section"), picker),
      content,
      h("nav", { class: "nav", "aria-label": "Sections" },
        h("button", { type: "button", disabled: this.draft.step === 0, onclick: () => this.go(this.draft.step - 1) }, "Back"),
        last ? h("a", { class: "button", href: "#/" }, "Save and leave")
          : h("button", { type: "button", class: "primary", onclick: () => this.go(this.draft.step + 1) }, this.draft.step === this.steps.length - 2 ? "Check" : "Next")));
    this.refresh();
  }

  section({ a, s }, whole) {
    const audit = this.draft.audits[a];
    const section = audit.definition.sections[s];
    const parts = [h("h2", { id: "step-title", tabindex: "-1" }, h("span", { class: "muted" }, `${audit.title} · `), section.title)];
    if (audit.mode === "phone" && s === 0) {
      this.watch = stopwatch.panel(() => audit.stopwatch, (action) => this.tap(a, action));
      parts.push(this.watch);
    } else {
      this.watch = null;
    }
    // A long section is drawn in slices: the first at once, the rest in short tasks after it,
    // so the screen answers a tap within a frame even with 200 items (unless one is to be focused).
    const views = section.items.slice(0, whole ? undefined : FIRST).map((item) => [a, item, this.view(a, item)]);
    this.views = views;
    const box = h("div", {}, parts, views.map(([, , v]) => v));
    const more = () => {
      if (this.views !== views || views.length >= section.items.length) return;
      const next = section.items.slice(views.length, views.length + SLICE).map((item) => [a, item, this.view(a, item)]);
      views.push(...next);
      box.append(...next.map(([, , v]) => v));
      this.refresh();
      setTimeout(more, 0);
    };
    requestAnimationFrame(() => setTimeout(more, 0));  // after the first frame is on screen
    return box;
  }

  view(a, item) {
    const audit = this.draft.audits[a];
    const key = `a${a}-${item.id}`;
    return itemView(item, key, audit.answers[item.id], {
      change: (patch) => this.change(a, item.id, patch),
      addPhotos: (files) => this.addPhotos(a, item, files),
      removePhoto: (id) => this.removePhoto(a, item, id),
      photoUrl: (id) => this.photoUrl(id),
    });
  }

  change(a, id, patch) {
    const answers = this.draft.audits[a].answers;
    answers[id] = { ...answers[id], ...patch };
    this.save();
    this.refresh();
  }

  /** Show the items that apply now, and the progress over the whole visit. */
  refresh() {
    let done = 0, of = 0, photos = 0, wrong = 0;
    for (const audit of this.draft.audits) {
      const p = progress(audit.definition, audit.answers);
      done += p.done; of += p.of; photos += p.photos;
      if (p.done === p.of) wrong += problems(audit.definition, audit.answers).length;  // a number that is not one: Finish waits for it too
    }
    this.bar.style.width = `${of ? (100 * done) / of : 0}%`;
    this.bar.parentElement.setAttribute("aria-valuenow", String(Math.round(of ? (100 * done) / of : 0)));
    this.count.textContent = done < of ? `${done} of ${of} required ${photos ? "answers and photos" : "answered"}`
      : wrong ? `${wrong} to put right` : "All required answered";
    if (this.views) {
      const live = new Map();
      for (const [a, item, element] of this.views) {
        if (!live.has(a)) live.set(a, applicable(this.draft.audits[a].definition, this.draft.audits[a].answers));
        element.hidden = !live.get(a).has(item.id);
      }
    }
    this.watch?.update();
  }

  replaceView(a, item) {
    const index = this.views.findIndex(([va, vi]) => va === a && vi.id === item.id);
    if (index < 0) return;
    const fresh = this.view(a, item);
    this.views[index][2].replaceWith(fresh);
    this.views[index][2] = fresh;
  }

  async addPhotos(a, item, files) {
    const audit = this.draft.audits[a];
    for (const file of files) {
      try {
        const { blob, width, height } = await shrink(file);
        const id = uuid();
        await store.put("photos", { id, audit: audit.id, blob, width, height, created_at: new Date().toISOString() });
        const answer = audit.answers[item.id] ?? {};
        audit.answers[item.id] = { ...answer, photos: [...(answer.photos ?? []), id] };
        await this.save();
      } catch (error) {
        notice(`The photo was not added: ${error.message}`, { bad: true, id: "photo" });
      }
    }
    this.replaceView(a, item);
    this.refresh();
    document.getElementById(`a${a}-${item.id}-photo`)?.focus();
  }

  async removePhoto(a, item, id) {
    const answer = this.draft.audits[a].answers[item.id];
    answer.photos = answer.photos.filter((p) => p !== id);
    await this.save();
    await store.remove("photos", id);
    this.replaceView(a, item);
    this.refresh();
  }

  async photoUrl(id) {
    if (!this.urls.has(id)) {
      const photo = await store.get("photos", id);
      if (!photo) return this.draft.returned ? `/api/photos/${id}?size=thumb` : null;  // sent with the audit before it was returned
      this.urls.set(id, URL.createObjectURL(photo.blob));
    }
    return this.urls.get(id);
  }

  /** A stopwatch tap: save the watch, then fill the items it times (the auditor may correct them). */
  tap(a, action) {
    const audit = this.draft.audits[a];
    audit.stopwatch = stopwatch.act(audit.stopwatch, action);
    const f = stopwatch.figures(audit.stopwatch);
    const targets = stopwatchTargets(audit.definition);
    const fill = {};
    if (action === "answer" && f.calls === 1) {  // the first call's: a call back does not change them
      if (targets.answer) fill[targets.answer] = Math.round(f.toAnswer);
      if (targets.rings && f.rings > 0) fill[targets.rings] = f.rings;
    }
    if ((action === "hold" && !f.onHold) || action === "end") if (targets.hold) fill[targets.hold] = Math.round(f.hold);
    for (const [id, value] of Object.entries(fill)) {
      audit.answers[id] = { ...audit.answers[id], value };
      document.getElementById(`a${a}-${id}`)?.setNumber?.(value);
    }
    this.save();
    this.refresh();
  }

  review() {
    const parts = [h("h2", { id: "step-title", tabindex: "-1" }, "Check and finish")];
    for (const { title, note } of this.draft.refused ?? []) {
      parts.push(h("p", { class: "card problem", id: "refused" }, `The server refused ${title}: ${note}. Correct it here and finish again.`));
    }
    for (const { title, note, corrections } of this.draft.returned ?? []) {
      parts.push(h("div", { class: "card problem", id: "returned" }, h("p", {}, `The reviewer returned ${title}: “${note}”. Fix it here and finish to send it again.`),
        corrections.length ? h("ul", {}, corrections.map((c) => h("li", {}, `${c.item}: you answered ${c.original ?? "nothing"}, corrected to ${c.corrected ?? "no answer"} — ${c.reason}`))) : null));
    }
    let missing = 0;
    for (const [a, audit] of this.draft.audits.entries()) {
      const found = problems(audit.definition, audit.answers);
      missing += found.length;
      const where = new Map(audit.definition.sections.flatMap((section, s) => section.items.map((item) => [item.id, s])));
      parts.push(h("section", { class: "card" }, h("h3", {}, audit.title),
        found.length === 0 ? h("p", {}, "Everything needed is answered.")
          : h("ul", { class: "plain" }, found.map(({ item, problem }) => h("li", {},
            h("button", { type: "button", class: "link problem", onclick: () => this.go(this.steps.findIndex((st) => st.a === a && st.s === where.get(item.id)), `a${a}-${item.id}`) },
              `${item.text}: ${problem}`))))));
    }
    const refused = this.role && !sendsAudits(this.role) && !this.draft.test;  // a test of a draft: managers try it too
    if (refused) parts.push(h("p", { class: "card problem", id: "not-yours" }, MANAGERS_SEND_NONE));
    parts.push(h("div", { class: "card stack" },
      missing ? h("p", { class: "problem", id: "missing" }, `${missing} ${missing === 1 ? "thing needs" : "things need"} an answer or a photo before this visit can be sent.`)
        : h("p", {}, "Once finished, the visit goes to the outbox and can no longer be changed."),
      h("button", { type: "button", class: "primary", id: "finish", disabled: missing > 0 || refused, onclick: () => this.finish() }, "Finish visit"),
      h("button", { type: "button", class: "danger", onclick: () => this.discard() }, "Delete this draft")));
    return h("div", {}, parts);
  }

  async finish() {
    const me = await store.get("kv", "me");
    const finished = localTime(), created = new Date().toISOString();
    const bodies = this.draft.audits.map((audit) => body(audit, this.draft, finished));
    const kept = new Set(bodies.flatMap(photoIds));
    const dropped = this.draft.audits.flatMap((audit) => Object.values(audit.answers).flatMap((ans) => ans.photos ?? [])).filter((id) => !kept.has(id));
    await this.saving;
    await store.together(["drafts", "outbox", "photos"], (s) => {
      s.drafts.delete(this.draft.id);
      for (const [i, b] of bodies.entries()) {
        const { title, mode, definition } = this.draft.audits[i];  // what `reopen` needs, should the server refuse it
        s.outbox.put({
          id: b.id, body: b, photos: photoIds(b), auditor: me?.name ?? "", created_at: created, attempts: 0, next_at: 0, state: "waiting", accepted: false,
          location_name: this.draft.location_name, draft: { title, mode, definition }, test: this.draft.test,
        });
      }
      for (const id of dropped) s.photos.delete(id);  // on items that no longer apply
    });
    changed();
    navigator.storage?.persist?.();
    const n = bodies.length;
    notice(`${this.draft.test ? "Test visit" : `Visit to ${this.draft.location_name}`} finished: ${n} ${n === 1 ? "audit is" : "audits are"} in the outbox and ${navigator.onLine ? "being sent now" : "will be sent when the phone is online"}.`, { id: "finished" });
    location.hash = this.draft.test ? `#/try/${this.draft.test}` : "#/";
    dispatchEvent(new Event("send-now"));
  }

  async discard() {
    if (!confirm("Delete this draft and its photos? This cannot be undone.")) return;
    const ids = this.draft.audits.flatMap((audit) => Object.values(audit.answers).flatMap((ans) => ans.photos ?? []));
    await this.saving;
    await store.together(["drafts", "photos"], (s) => { s.drafts.delete(this.draft.id); for (const id of ids) s.photos.delete(id); });
    location.hash = "#/";
  }
}
