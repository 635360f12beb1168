// Loads a TypeScript module of the client for unit tests: esbuild bundles it
// in memory and Node imports the result, so the tests exercise the sources
// themselves, not a build that may be stale.
import * as esbuild from "esbuild";

export async function load(path) {
  const result = await esbuild.build({
    entryPoints: [new URL(`../../${path}`, import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "warning",
  });
  const code = result.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

/** A `Storage` in memory; `failWrites` makes `setItem` throw as a full one does. */
export class MemoryStorage {
  #items = new Map();
  failWrites = false;
  get length() {
    return this.#items.size;
  }
  key(index) {
    return [...this.#items.keys()][index] ?? null;
  }
  getItem(key) {
    return this.#items.get(key) ?? null;
  }
  setItem(key, value) {
    if (this.failWrites) throw new DOMException("full", "QuotaExceededError");
    this.#items.set(key, String(value));
  }
  removeItem(key) {
    this.#items.delete(key);
  }
  clear() {
    this.#items.clear();
  }
}
