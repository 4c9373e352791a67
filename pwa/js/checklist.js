// The checklist rules the phone needs offline, pure: which items apply (show_if), what is still
// missing before submit, and the audit as the server takes it. They mirror steps 1 and 2 of the
// scoring contract (checklists/README.md); the server checks again and has the last word.

export const items = (definition) => definition.sections.flatMap((section) => section.items);

/** Blank text is no answer; "na" is an answer. */
export function answered(answer) {
  const value = answer?.value;
  return value !== undefined && value !== null && !(typeof value === "string" && value.trim() === "");
}

function holds(rule, value) {
  if (rule.equals != null) return value === rule.equals;
  if (rule.not_equals != null) return value !== rule.not_equals;
  return (rule.in ?? []).includes(value);
}

/** Step 1: an item applies when it has no show_if, or the item named is applicable, answered (not "na") and the rule holds. */
export function applicable(definition, answers) {
  const result = new Set();
  for (const item of items(definition)) {  // show_if names an earlier item, so one pass in order is enough
    const rule = item.show_if;
    if (!rule) { result.add(item.id); continue; }
    const answer = answers[rule.item];
    if (result.has(rule.item) && answered(answer) && answer.value !== "na" && holds(rule, answer.value)) result.add(item.id);
  }
  return result;
}

/** Step 2, what the auditor can still fix: [{item, problem}] in checklist order. */
export function problems(definition, answers) {
  const live = applicable(definition, answers);
  const found = [];
  for (const item of items(definition)) {
    if (!live.has(item.id)) continue;
    const answer = answers[item.id];
    if (!answered(answer)) {
      if (item.required !== false) found.push({ item, problem: "not answered" });
      continue;
    }
    const value = answer.value;
    if ((item.type === "number" || item.type === "timer") && value !== "na" && !(typeof value === "number" && value >= 0)) {
      found.push({ item, problem: "needs a number, 0 or more" });
    }
    if (item.photo === "required" && value !== "na" && !(answer.photos?.length)) found.push({ item, problem: "needs a photo" });
  }
  return found;
}

/** Required items that apply, and how many of them are done: the progress bar. A required photo
 *  counts as one more (Finish waits for it); optional items are left out, so an audit with every
 *  required answer and photo reaches "all answered", and only then. */
export function progress(definition, answers) {
  const live = applicable(definition, answers);
  let done = 0, of = 0, photos = 0;
  for (const item of items(definition)) {
    if (!live.has(item.id)) continue;
    const answer = answers[item.id];
    if (item.required !== false) { of += 1; if (answered(answer)) done += 1; }
    if (item.photo === "required" && answer?.value !== "na" && (item.required !== false || answered(answer))) {
      of += 1; photos += 1;
      if (answer?.photos?.length) done += 1;
    }
  }
  return { done, of, photos };
}

/** Which checklists a location offers: a channel (a phone line, a website, a chat, an e-mail
 *  address) only those of its kind's mode, a place (a shop: visited, rung, its web page looked at)
 *  every one of its brand. The same mapping as the server's campaign channels (MODES there). */
export const MODE_OF_KIND = { phone: "phone", website: "web", chat: "chat", email: "email" };
export const offered = (location, checklists) =>
  location.kind && location.kind !== "place" ? checklists.filter((c) => c.mode === MODE_OF_KIND[location.kind]) : checklists;

/** The audit as POST /api/audits takes it: only items that apply, blank parts left out. */
export function body(audit, visit, finishedAt) {
  const live = applicable(audit.definition, audit.answers);
  const answers = {};
  for (const [id, answer] of Object.entries(audit.answers)) {
    if (!live.has(id)) continue;
    const out = {};
    if (answered(answer)) out.value = typeof answer.value === "string" ? answer.value.trim() : answer.value;
    if (answer.comment?.trim()) out.comment = answer.comment.trim();
    if (answer.photos?.length) out.photos = [...answer.photos];
    if (Object.keys(out).length) answers[id] = out;
  }
  return {
    id: audit.id, location: visit.location, checklist: audit.checklist, version: audit.version, visit: visit.id,
    started_at: audit.started_at, finished_at: finishedAt, answers,
    ...(visit.assignment ? { assignment: visit.assignment } : {}),  // the planned visit it was made for
    ...(audit.revision > 1 ? { revision: audit.revision } : {}),  // a returned audit sent again
  };
}

/** Photo ids an audit's body names: what must be uploaded after it. */
export const photoIds = (body) => Object.values(body.answers).flatMap((answer) => answer.photos ?? []);

/** Which items a phone-line stopwatch fills, found by shape: rings (a number in "rings"),
 *  hold (a timer whose id says hold), answer (the first other timer). */
export function stopwatchTargets(definition) {
  const all = items(definition);
  const timers = all.filter((item) => item.type === "timer");
  const hold = timers.find((item) => item.id.includes("hold"));
  return {
    rings: all.find((item) => item.type === "number" && item.unit === "rings")?.id,
    hold: hold?.id,
    answer: timers.find((item) => item !== hold)?.id,
  };
}
