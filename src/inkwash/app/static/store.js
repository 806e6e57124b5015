// Work kept in the browser (IndexedDB): the drawing, its hint and mask layers, the stroke log and the settings,
// written a moment after each change and read back when the page opens again (after a reload or a crash).

const DB_NAME = "inkwash";
const STORE = "sessions";

function opened() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error("IndexedDB is not available"));
  });
}

function run(mode, action) {
  return opened().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = action(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error || new Error("IndexedDB write failed")); };
  }));
}

/** The saved session under `key` ("server" or "onnx": each page keeps its own), or undefined. */
export const loadSession = (key) => run("readonly", (s) => s.get(key));
export const saveSession = (key, value) => run("readwrite", (s) => s.put(value, key));
export const dropSession = (key) => run("readwrite", (s) => s.delete(key));
