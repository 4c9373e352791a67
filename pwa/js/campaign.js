// A campaign's participant (joined from a link, no account): its campaign, a start per channel, and
// what to do once the link stops working. Everything else of the app is the same as an auditor's.
import * as outbox from "./outbox.js";
import * as store from "./store.js";
import { h, notice, show } from "./ui.js";

const HREF = { phone: (c) => `tel:${c.replace(/[^+\d]/g, "")}`, email: (c) => `mailto:${c}`, website: (c) => c, chat: (c) => c };

function contact(channel) {
  const href = HREF[channel.kind]?.(channel.contact);
  return href && /^(tel:|mailto:|https?:)/.test(href) ? h("a", { href, class: "contact", rel: "noopener" }, channel.contact) : h("span", { class: "contact" }, channel.contact);
}

/** The campaign: what to do, until when, and a start for each of its channels. */
export function card(lists, start) {
  const c = lists?.campaign;
  if (!c) return [h("div", { class: "card" }, h("p", {}, "The campaign is not on this phone yet: connect once and tap “Refresh lists”."))];
  const when = c.phase === "scheduled" ? `Starts ${c.starts}: reports sent before then are not taken.`
    : c.phase === "ended" ? `Ended ${c.ends}.` : `Until ${c.ends}. As often as you like: each call is its own report.`;
  return [h("h2", { id: "step-title", tabindex: "-1" }, c.name),
    h("section", { class: "card stack", id: "campaign", "aria-labelledby": "campaign-what" },
      h("h3", { id: "campaign-what" }, c.display_name ? `Hello, ${c.display_name}` : "Hello (you take part anonymously)"),
      c.instructions ? h("p", { class: "instructions" }, c.instructions) : null,
      h("p", { class: "muted" }, when),
      h("ul", { class: "plain" }, c.channels.map((ch) => {
        const where = lists.locations.find((l) => l.id === ch.location);
        return h("li", { class: "row" }, h("span", { class: "grow" }, h("strong", {}, ch.name), h("br"), contact(ch)),
          h("button", { type: "button", class: "primary", disabled: !where, onclick: () => start(where, [ch.checklist]) }, ch.kind === "phone" ? "Start a call" : "Start"));
      })),
      h("p", { class: "muted" }, "Only the organisers see the results; nobody sees another participant's answers."))];
}

/** The server stopped this participant (the link was revoked, or the session ran out): say so, keep what is unsent. */
export function stopped(count, exportUnsent) {
  notice(`This campaign's link no longer works (it was revoked or the campaign is over).${count ? ` ${count} unsent ${count === 1 ? "report is" : "reports are"} kept on this phone: export ${count === 1 ? "it" : "them"} for the organiser.` : ""}`, {
    id: "signin", bad: true, actions: count ? [h("button", { type: "button", onclick: exportUnsent }, "Export unsent")] : [],
  });
}

/** The screen a stopped participant comes back to. */
export async function ended(me, exportUnsent) {
  const { count } = await outbox.status();
  show(h("section", { class: "card stack" }, h("h2", { id: "step-title", tabindex: "-1" }, "The campaign's link no longer works"),
    h("p", {}, "It was revoked by the organiser, or the campaign is over. To take part again, open the new join link you are given."),
    count ? h("p", {}, `${count} unsent ${count === 1 ? "report is" : "reports are"} kept on this phone.`) : null,
    h("div", { class: "row" }, count ? h("button", { type: "button", class: "primary", onclick: exportUnsent }, "Export unsent") : null,
      h("button", { type: "button", onclick: async () => { await store.remove("kv", "me"); location.hash = "#/signin"; } }, "Leave"))));
}
