// The stopwatch for "call your own support line". Every time is read from performance.now(),
// the monotonic clock, offset by performance.timeOrigin: within a page every interval is an exact
// difference of performance.now() readings (the offset cancels), and the running watch is saved
// with each tap, so it survives the screen locking and the tab reloading; the offset is what
// carries it across a reload. Wall-clock time (Date) is never subtracted.
import { h } from "./ui.js";

export const now = () => performance.timeOrigin + performance.now();
export const fresh = () => ({ started: null, answered: null, ended: null, rings: 0, holds: [] });

const onHold = (s) => s.holds.length > 0 && s.holds.at(-1)[1] === null;

/** The next state after a tap: start, ring, answer, hold (on/off), end. Taps that make no sense now change nothing. */
export function act(state, action, t = now()) {
  const s = structuredClone(state);
  if (action === "start" && s.started === null) s.started = t;
  else if (action === "ring" && s.started !== null && s.answered === null && s.ended === null) s.rings += 1;
  else if (action === "answer" && s.started !== null && s.answered === null && s.ended === null) s.answered = t;
  else if (action === "hold" && s.answered !== null && s.ended === null) {
    if (onHold(s)) s.holds.at(-1)[1] = t; else s.holds.push([t, null]);
  } else if (action === "end" && s.started !== null && s.ended === null) {
    if (onHold(s)) s.holds.at(-1)[1] = t;
    s.ended = t;
  }
  return s;
}

/** Seconds so far: the whole call, to a person answering, on hold. */
export function figures(s, t = now()) {
  const stop = s.ended ?? t;
  return {
    call: s.started === null ? 0 : (stop - s.started) / 1000,
    toAnswer: s.answered === null ? null : (s.answered - s.started) / 1000,
    hold: s.holds.reduce((sum, [on, off]) => sum + ((off ?? stop) - on), 0) / 1000,
    onHold: onHold(s),
    rings: s.rings,
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
  };
  const element = h("section", { class: "stopwatch", "aria-label": "Call stopwatch" },
    h("h3", {}, "Call stopwatch"), time, facts, h("div", { class: "row" }, Object.values(buttons)),
    h("p", { class: "muted" }, "The timings fill the questions below; you can correct them by hand."));
  let frame = 0;
  function update() {
    const s = state();
    const f = figures(s);
    time.textContent = clock(f.call);
    facts.replaceChildren(
      h("dt", {}, "Rings"), h("dd", {}, String(f.rings)),
      h("dt", {}, "To a person"), h("dd", {}, f.toAnswer === null ? "not yet" : `${Math.round(f.toAnswer)} s`),
      h("dt", {}, "On hold"), h("dd", {}, `${Math.round(f.hold)} s${f.onHold ? " (now)" : ""}`));
    buttons.start.hidden = s.started !== null;
    buttons.ring.hidden = buttons.answer.hidden = s.started === null || s.answered !== null || s.ended !== null;
    buttons.hold.hidden = s.answered === null || s.ended !== null;
    buttons.hold.textContent = f.onHold ? "Hold off" : "Hold on";
    buttons.end.hidden = s.started === null || s.ended !== null;
    if (s.started !== null && s.ended === null && element.isConnected) frame = setTimeout(update, 250);
  }
  element.update = () => { clearTimeout(frame); update(); };
  return element;
}
