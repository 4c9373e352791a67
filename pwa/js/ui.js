// A few DOM helpers: the app builds its screens from plain elements, no framework.

/** h("button", {class: "primary", onclick}, "Save") -> an element. Attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  return main;
}

export function notice(text, { bad = false, actions = [], id } = {}) {
  const box = document.getElementById("notices");
  if (id) box.querySelector(`[data-id="${id}"]`)?.remove();
  const element = h("div", { class: bad ? "notice bad" : "notice", "data-id": id }, h("p", {}, text),
    actions.length ? h("div", { class: "row" }, actions) : null);
  box.append(element);
  return element;
}

export function clearNotice(id) {
  document.querySelector(`#notices [data-id="${id}"]`)?.remove();
}

/** "3 min ago", "2 h ago", "4 days ago". */
export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.round((now - Date.parse(iso)) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 90) return `${minutes} min ago`;
  if (minutes < 36 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}

export const uuid = () => crypto.randomUUID();

const two = (n) => String(Math.trunc(Math.abs(n))).padStart(2, "0");

/** The phone's own time with its UTC offset, "2026-11-22T20:05:04-05:00": an audit counts on the
 *  calendar day where it was done, which a UTC time ("…Z") would lose. */
export function localTime(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
    + `${offset < 0 ? "-" : "+"}${two(offset / 60)}:${two(offset % 60)}`;
}
