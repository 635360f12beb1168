import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryStorage, load } from "./load.mjs";

const { ResumeStore } = await load("src/resume.ts");

const file = { name: "movie.mp4", size: 123_456_789, lastModified: 1_700_000_000_000 };

test("a saved upload is found again for the same file on the same server only", () => {
  const storage = new MemoryStorage();
  const store = new ResumeStore("https://a.example", storage);
  store.save(file, "id-1");
  assert.equal(store.load(file).id, "id-1");
  assert.equal(store.load({ ...file, lastModified: 1 }), undefined, "another file");
  assert.equal(store.load({ ...file, size: file.size + 1 }), undefined, "another size");
  assert.equal(new ResumeStore("https://b.example", storage).load(file), undefined, "another server");
  store.forget(file);
  assert.equal(store.load(file), undefined);
  assert.equal(storage.length, 0);
});

test("corrupt and week-old entries count as none and are removed", () => {
  const storage = new MemoryStorage();
  const store = new ResumeStore("https://a.example", storage);
  store.save(file, "id-1");
  const key = storage.key(0);
  storage.setItem(key, "{not json");
  assert.equal(store.load(file), undefined);
  assert.equal(storage.length, 0);
  storage.setItem(key, JSON.stringify({ id: "id-2", savedAt: Date.now() - 9 * 24 * 3600 * 1000 }));
  assert.equal(store.load(file), undefined);
  assert.equal(storage.length, 0);
  storage.setItem(key, JSON.stringify({ id: 42, savedAt: Date.now() }));
  assert.equal(store.load(file), undefined, "an id that is not a string");
});

test("full or missing storage never breaks an upload", () => {
  const storage = new MemoryStorage();
  storage.failWrites = true;
  const store = new ResumeStore("https://a.example", storage);
  assert.doesNotThrow(() => store.save(file, "id-1"));
  assert.equal(store.load(file), undefined);
  const nowhere = new ResumeStore("https://a.example", null);
  nowhere.save(file, "id-1");
  assert.equal(nowhere.load(file), undefined);
});
