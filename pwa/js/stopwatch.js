// The stopwatch for "call your own support line". Every time is read from performance.now(),
// the monotonic clock, offset by performance.timeOrigin: within a page every interval is an exact
// difference of performance.now() readings (the offset cancels), and the running watch is saved
// with each tap, so it survives the screen locking and the tab reloading; the offset is what
// carries it across a reload. Wall-clock time (Date) is never subtracted.
//
// An audit may hold several calls (the first, then a call back). Rings and the time to a person
// are the first call's: getting through is the customer's first experience. Hold time is the
// total over every call. "End call" can be undone for UNDO_MS, so a stray tap costs nothing.
import { h } from "./ui.js";

export const UNDO_MS = 10_000;
export const now = () => performance.timeOrigin + performance.now();
export const fresh = () => ({ calls: [], undo: null });
const call = (t) => ({ started: t, answered: null, ended: null, rings: 0, holds: [] });

/** A watch saved before callbacks existed was one call: it becomes the first of a list. */
const upgrade = (state) => (state.calls ? state : { calls: state.started === null ? [] : [{ ...state }], undo: null });
const onHold = (c) => c.holds.length > 0 && c.holds.at(-1)[1] === null;
const running = (s) => (s.calls.at(-1)?.ended === null ? s.calls.at(-1) : null);

/** The next state after a tap: start, ring, answer, hold (on/off), end, undo. Taps that make no sense now change nothing. */
export function act(state, action, t = now()) {
  const s = structuredClone(upgrade(state));
  const c = running(s);
  const undo = s.undo;
  s.undo = null;  // any tap but the undo itself lets the chance to undo go
  if (action === "start" && !c) s.calls.push(call(t));
  else if (action === "ring" && c && c.answered === null) c.rings += 1;
  else if (action === "answer" && c && c.answered === null) c.answered = t;
  else if (action === "hold" && c && c.answered !== null) {
    if (onHold(c)) c.holds.at(-1)[1] = t; else c.holds.push([t, null]);
  } else if (action === "end" && c) {
    s.undo = { call: structuredClone(c), until: t + UNDO_MS };
    if (onHold(c)) c.holds.at(-1)[1] = t;
    c.ended = t;
  } else if (action === "undo" && undo && t <= undo.until) s.calls[s.calls.length - 1] = undo.call;
  else s.undo = undo;  // a tap that did nothing keeps the undo
  return s;
}

/** Seconds so far: this call, to a person answering (first call), on hold (all calls); rings of the first call. */
export function figures(state, t = now()) {
  const s = upgrade(state);
  const first = s.calls[0], last = s.calls.at(-1);
  const stop = (c) => c.ended ?? t;
  return {
    calls: s.calls.length,
    call: last ? (stop(last) - last.started) / 1000 : 0,
    toAnswer: first?.answered == null ? null : (first.answered - first.started) / 1000,
    hold: s.calls.reduce((sum, c) => sum + c.holds.reduce((total, [on, off]) => total + ((off ?? stop(c)) - on), 0), 0) / 1000,
    onHold: Boolean(last && onHold(last)),
    rings: first?.rings ?? 0,
    running: Boolean(running(s)),
    answered: Boolean(last && last.answered !== null),
    undoable: Boolean(s.undo && t <= s.undo.until),
  };
}

const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

/** The panel: `state()` reads the saved watch, `tap(action)` saves the next one and fills the items. */
export function panel(state, tap) {
  const time = h("div", { class: "clock", role: "timer", "aria-label": "call time" }, "0:00");
  const facts = h("dl");
  const buttons = {
    start: h("button", { type: "button", class: "primary", onclick: () => tap("start") }, "Start: dialling"),
    ring: h("button", { type: "button", onclick: () => tap("ring") }, "Ring"),
    answer: h("button", { type: "button", class: "primary", onclick: () => tap("answer") }, "A person answered"),
    hold: h("button", { type: "button", onclick: () => tap("hold") }, "Hold on"),
    end: h("button", { type: "button", class: "danger", onclick: () => tap("end") }, "End call"),
    undo: h("button", { type: "button", class: "primary", onclick: () => tap("undo") }, "Undo: the call goes on"),
  };
  const ended = h("p", { class: "muted", role: "status" });
  const element = h("section", { class: "stopwatch", "aria-label": "Call stopwatch" },
    h("h3", {}, "Call stopwatch"), time, facts,
    h("div", { class: "row" }, buttons.start, buttons.ring, buttons.answer, buttons.hold),
    h("div", { class: "row end" }, buttons.end, ended, buttons.undo),
    h("p", { class: "muted" }, "The timings fill the questions below; you can correct them by hand."));
  let frame = 0;
  function update() {
    const f = figures(state());
    time.textContent = clock(f.call);
    facts.replaceChildren(
      h("dt", {}, "Rings"), h("dd", {}, String(f.rings)),
      h("dt", {}, "To a person"), h("dd", {}, f.toAnswer === null ? "not yet" : `${Math.round(f.toAnswer)} s`),
      h("dt", {}, "On hold"), h("dd", {}, `${Math.round(f.hold)} s${f.onHold ? " (now)" : ""}`),
      ...(f.calls > 1 ? [h("dt", {}, "Calls"), h("dd", {}, String(f.calls))] : []));
    buttons.start.hidden = f.running;
    buttons.start.textContent = f.calls ? "Start another call (a call back)" : "Start: dialling";
    buttons.ring.hidden = buttons.answer.hidden = !f.running || f.answered;
    buttons.hold.hidden = !f.running || !f.answered;
    buttons.hold.textContent = f.onHold ? "Hold off" : "Hold on";
    buttons.end.hidden = !f.running;
    buttons.undo.hidden = !f.undoable;
    ended.hidden = f.running || !f.calls;
    ended.textContent = f.calls ? `Call ${f.calls} ended.` : "";
    if ((f.running || f.undoable) && element.isConnected) frame = setTimeout(update, 250);
  }
  element.update = () => { clearTimeout(frame); update(); };
  return element;
}
