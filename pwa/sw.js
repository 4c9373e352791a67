// The service worker: keeps the app shell so the app opens with no network.
// The server fills in VERSION (a hash of every app file) and SHELL (the files to keep).
// A new version installs beside the old one and waits: the page offers a reload, and the
// drafts are in IndexedDB, so taking the new version never drops an audit in progress.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "take-new-version") self.skipWaiting();
  if (event.data === "version") event.source.postMessage({ version: VERSION });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  // The app routes with the #hash, so its one page is "/". Any other page (/schema, the managers'
  // /manage/ pages) is the server's: it goes to the network, never to the app shell.
  if (event.request.mode === "navigate" && url.pathname !== "/" && url.pathname !== "/index.html") return;
  const key = event.request.mode === "navigate" ? "/" : url.pathname;
  if (!SHELL.includes(key)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(event.request)));
});
