// One checklist item as a fieldset of controls that fit its type. Every change goes straight to
// `ctx.change(patch)`, which saves the draft: nothing typed waits for a "save" button.
import { h } from "./ui.js";

const NA = { value: "na", label: "N/A" };

function choices(key, options, current, onpick, column = false) {
  return h("div", { class: column ? "choices column" : "choices", role: "radiogroup" }, options.map((option, i) =>
    h("label", { class: "choice" },
      h("input", { type: "radio", name: key, id: `${key}-${i}`, value: String(option.value), checked: current === option.value, onchange: () => onpick(option.value) }),
      h("span", {}, option.label))));
}

function control(item, key, answer, change) {
  const value = answer?.value ?? null;
  const na = item.na ? [NA] : [];
  switch (item.type) {
    case "yes_no":
      return choices(key, [{ value: "yes", label: "Yes" }, { value: "no", label: "No" }, ...na], value, (v) => change({ value: v }));
    case "scale": {
      const steps = [];
      for (let n = item.min; n <= item.max; n++) steps.push({ value: n, label: String(n) });
      const group = choices(key, [...steps, ...na], value, (v) => change({ value: v }));
      const ends = Object.entries(item.labels ?? {});  // what the points mean, in sight rather than behind "Hint"
      if (!ends.length) return group;
      group.setAttribute("aria-describedby", `${key}-ends`);
      return h("div", {}, group, h("ul", { class: "ends", id: `${key}-ends` }, ends.map(([point, words]) => h("li", {}, h("strong", {}, `${point} =`), ` ${words}`))));
    }
    case "choice":
      return choices(key, [...item.options, ...na], value, (v) => change({ value: v }), true);
    case "text":
      return h("label", { class: "field" }, "Your answer",
        h("textarea", { id: `${key}-text`, value: value ?? "", oninput: (e) => change({ value: e.target.value }) }));
    default: {  // number, timer
      const unit = item.type === "timer" ? "seconds" : item.unit || "";
      const input = h("input", {
        type: "number", id: `${key}-number`, inputMode: item.type === "timer" ? "numeric" : "decimal", min: "0", step: "any",
        value: typeof value === "number" ? String(value) : "", disabled: value === "na",
        oninput: (e) => change({ value: e.target.value === "" ? null : Number(e.target.value) }),
      });
      const parts = [h("label", { class: "field", for: `${key}-number` }, unit ? `Answer (${unit})` : "Answer"), h("div", { class: "unit" }, input, unit ? h("span", { "aria-hidden": "true" }, unit) : null)];
      if (item.na) {
        parts.push(h("div", { class: "checks" }, h("label", {},
          h("input", { type: "checkbox", id: `${key}-na`, checked: value === "na", onchange: (e) => { input.disabled = e.target.checked; change({ value: e.target.checked ? "na" : (input.value === "" ? null : Number(input.value)) }); } }),
          "Not applicable (N/A)")));
      }
      const box = h("div", {}, parts);
      box.setNumber = (n) => { input.value = String(n); };
      return box;
    }
  }
}

/** The fieldset for one item. ctx: change(patch), addPhotos(files), removePhoto(id), photoUrl(id). */
export function itemView(item, key, answer, ctx) {
  const flags = [];
  if (item.required === false) flags.push(h("span", { class: "flag" }, "optional"));
  if (item.photo === "required") flags.push(h("span", { class: "flag" }, "photo required"));
  const body = control(item, key, answer, ctx.change);
  const parts = [h("legend", { id: `${key}-q` }, item.text, ...flags), body];
  if (item.help) parts.push(h("details", {}, h("summary", {}, "Hint"), h("p", { class: "hint" }, item.help)));
  if (item.photo && item.photo !== "none") {
    const photos = h("div", { class: "photos" });
    for (const [n, id] of (answer?.photos ?? []).entries()) {
      const img = h("img", { alt: `Photo ${n + 1} for: ${item.text}` });
      ctx.photoUrl(id).then((url) => { if (url) img.src = url; });
      const remove = () => { if (confirm(`Delete photo ${n + 1} of “${item.text}”? This cannot be undone.`)) ctx.removePhoto(id); };
      photos.append(h("figure", {}, img, h("button", { type: "button", class: "danger", "aria-label": `Delete photo ${n + 1}`, onclick: remove }, "Delete")));
    }
    const file = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, id: `${key}-photo`,
      onchange: (e) => { const files = [...e.target.files]; e.target.value = ""; if (files.length) ctx.addPhotos(files); } });
    parts.push(photos, h("label", { class: "button file" }, file, answer?.photos?.length ? "Add another photo" : "Take or add a photo"));
  }
  if (item.type !== "text") {
    // The text box is made when first opened: a long section opens faster without a hidden one per item.
    const comment = answer?.comment ?? "";
    const box = () => h("label", { class: "field" }, h("span", { class: "muted" }, "What you saw, in a few words"),
      h("textarea", { id: `${key}-comment`, value: comment, oninput: (e) => ctx.change({ comment: e.target.value }) }));
    const details = h("details", { open: comment !== "" }, h("summary", {}, "Comment"), comment ? box() : null);
    details.addEventListener("toggle", () => { if (details.open && !details.querySelector("textarea")) details.append(box()); });
    parts.push(details);
  }
  const fieldset = h("fieldset", { class: "item", id: key, "data-item": item.id }, parts);
  fieldset.setNumber = body.setNumber;
  return fieldset;
}
