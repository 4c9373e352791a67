// IndexedDB, the phone's own copy of everything: the session, the lists, drafts, photos, outbox.
// A tiny promise wrapper; each call is one transaction, so a write either lands whole or not at all.
const NAME = "touchpoint";
const VERSION = 1;
let opened;

function db() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      // Version 1. A later version adds stores here and migrates old records; it never drops drafts.
      const d = request.result;
      d.createObjectStore("kv");
      d.createObjectStore("drafts", { keyPath: "id" });
      d.createObjectStore("photos", { keyPath: "id" });
      d.createObjectStore("outbox", { keyPath: "id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("an older Touchpoint tab is holding the database: close it and reload"));
  });
  return opened;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error || new Error("the phone's storage refused the write"));
  });
}

function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function get(store, key) {
  return result((await db()).transaction(store).objectStore(store).get(key));
}

export async function all(store) {
  return result((await db()).transaction(store).objectStore(store).getAll());
}

export async function put(store, value, key) {
  const tx = (await db()).transaction(store, "readwrite");
  tx.objectStore(store).put(value, key);
  return done(tx);
}

export async function remove(store, key) {
  const tx = (await db()).transaction(store, "readwrite");
  tx.objectStore(store).delete(key);
  return done(tx);
}

/** Several writes over several stores in one transaction: `work(stores)` queues them. */
export async function together(names, work) {
  const tx = (await db()).transaction(names, "readwrite");
  work(Object.fromEntries(names.map((n) => [n, tx.objectStore(n)])));
  return done(tx);
}
