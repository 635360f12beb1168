// What survives a page reload: which upload a file was going to, keyed by
// the file's identity (name, size, last modified) and the server.

const PREFIX = "uploadgate:v1:";
/** Entries older than this are dropped: their uploads have expired anyway. */
const MAX_AGE_MS = 8 * 24 * 3600 * 1000;

export interface Saved {
  id: string;
  savedAt: number;
}

export interface FileIdentity {
  name: string;
  size: number;
  lastModified: number;
}

export class ResumeStore {
  #storage: Storage | null | (() => Storage | null);
  readonly #server: string;

  /** `storage` may be a function, called at first use: making a client then touches no browser API (server-side rendering). */
  constructor(server: string, storage: Storage | null | (() => Storage | null)) {
    this.#server = server;
    this.#storage = storage;
  }

  get #store(): Storage | null {
    if (typeof this.#storage === "function") this.#storage = this.#storage();
    return this.#storage;
  }

  #key(file: FileIdentity): string {
    return `${PREFIX}${this.#server}|${file.name}|${file.size}|${file.lastModified}`;
  }

  load(file: FileIdentity): Saved | undefined {
    const raw = this.#store?.getItem(this.#key(file));
    if (!raw) return undefined;
    try {
      const saved = JSON.parse(raw) as Saved;
      if (typeof saved.id === "string" && Date.now() - saved.savedAt < MAX_AGE_MS) return saved;
    } catch {
      // A corrupt entry is as good as none.
    }
    this.forget(file);
    return undefined;
  }

  save(file: FileIdentity, id: string): void {
    try {
      this.#store?.setItem(this.#key(file), JSON.stringify({ id, savedAt: Date.now() } satisfies Saved));
    } catch {
      // Storage full or disabled: the upload works, it just cannot resume after a reload.
    }
  }

  forget(file: FileIdentity): void {
    this.#store?.removeItem(this.#key(file));
  }
}

/** `localStorage` when the page may use it. */
export function defaultStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
