// The big screen reloads itself every data-refresh seconds, with a button to pause and resume it: a
// <meta http-equiv="refresh"> cannot be stopped by the person in front of it (WCAG 2.2.1, axe: meta-refresh).
const seconds = Number(document.body.dataset.refresh) || 20;
const button = document.getElementById("pause");
const paused = () => sessionStorage.getItem("touchpoint-screen-paused") === "yes";
let timer = null;

function show() {
  button.textContent = paused() ? "Resume updates" : "Pause updates";
  document.getElementById("every").textContent = paused() ? "paused" : `every ${seconds} s`;
}

function schedule() {
  clearTimeout(timer);
  if (!paused()) timer = setTimeout(() => location.reload(), seconds * 1000);
}

button.hidden = false;
button.addEventListener("click", () => {
  sessionStorage.setItem("touchpoint-screen-paused", paused() ? "no" : "yes");
  show();
  schedule();
});
show();
schedule();
