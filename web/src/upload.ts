// One file's upload: create (or resume) it, send its bytes straight to
// storage, have the server verify them.

import { type Api, idempotencyKey } from "./api";
import { ApiError, TransferError } from "./errors";
import type { ResumeStore } from "./resume";
import { type RetryOptions, backoff, sleep } from "./retry";
import { send } from "./transfer";
import type { CompletedPart, SignedPart, UploadRecord } from "./types";

export type UploadState =
  | "idle"
  | "uploading"
  | "paused"
  | "completing"
  | "completed"
  | "rejected"
  | "failed"
  | "canceled";

/** A word for each state, for people: lists, statuses, screen readers. */
export const STATE_LABELS: Readonly<Record<UploadState, string>> = {
  idle: "waiting",
  uploading: "uploading",
  paused: "paused",
  completing: "verifying",
  completed: "completed",
  rejected: "rejected",
  failed: "failed",
  canceled: "canceled",
};

export interface UploadOptions {
  /** The server profile (policy) to upload under; the server's default otherwise. */
  profile?: string;
  /** Defaults to the file's own name and type. */
  filename?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface UploadSettings {
  /** Parts sent at once for multipart uploads. */
  parallel: number;
  retry: Required<RetryOptions>;
}

export interface ProgressDetail {
  /** Bytes storage has acknowledged or is receiving now, resumed ones included. */
  loaded: number;
  total: number;
}

/** The events an `Upload` dispatches, for typed listeners. */
export interface UploadEventMap {
  progress: CustomEvent<ProgressDetail>;
  statechange: CustomEvent<UploadState>;
}

type Listener<K extends keyof UploadEventMap> = (this: Upload, event: UploadEventMap[K]) => unknown;

// Typed overloads merged into the class below, so that
// `upload.addEventListener("progress", (e) => e.detail.loaded)` compiles under `strict`.
// (An interface cannot extend a generic one here: EventTarget's own methods clash.)
export interface Upload {
  addEventListener<K extends keyof UploadEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof UploadEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/** A part URL this close to expiry is signed again before use. */
const EXPIRY_MARGIN_MS = 30_000;

/**
 * Events: `progress` (detail: ProgressDetail), `statechange` (detail: UploadState).
 * `start()` resolves with the verified record (`completed`, or `rejected` with
 * `rejectReason`), and rejects when the upload fails or is canceled.
 */
export class Upload extends EventTarget {
  readonly file: Blob & { name?: string; lastModified?: number };
  readonly options: UploadOptions;
  state: UploadState = "idle";
  /** The server's record, once created or found again. */
  record: UploadRecord | undefined;
  /** Bytes storage already held when this upload was resumed (after a reload). */
  resumedBytes = 0;
  error: Error | undefined;

  readonly #api: Api;
  readonly #resume: ResumeStore;
  readonly #settings: UploadSettings;
  #controller = new AbortController();
  #running: Promise<void> | undefined;
  #outcome: Promise<UploadRecord>;
  #settle!: { resolve: (r: UploadRecord) => void; reject: (e: Error) => void };
  /** Bytes of parts (or the whole file) storage acknowledged. */
  #acknowledged = 0;
  /** Bytes each request in flight has sent so far. */
  readonly #inFlight = new Map<number, number>();
  /** Parts storage holds: number to ETag. */
  readonly #stored = new Map<number, string | null>();
  readonly #signed = new Map<number, SignedPart>();
  /**
   * One key for this upload's creation, however often it is sent: a creation
   * interrupted by a pause and sent again, or one canceled before its answer,
   * names the same upload, never a second.
   */
  readonly #creationKey = idempotencyKey();
  #creationSent = false;

  constructor(api: Api, resume: ResumeStore, settings: UploadSettings, file: Blob, options: UploadOptions = {}) {
    super();
    this.#api = api;
    this.#resume = resume;
    this.#settings = settings;
    this.file = file;
    this.options = options;
    this.#outcome = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Callers that only listen to events must not see unhandled rejections.
    this.#outcome.catch(() => undefined);
  }

  get loaded(): number {
    let sum = this.#acknowledged;
    for (const bytes of this.#inFlight.values()) sum += bytes;
    return Math.min(sum, this.file.size);
  }

  get total(): number {
    return this.file.size;
  }

  /** `loaded` as whole percents, 0 to 100; an empty file is at 100 once completed. */
  get percent(): number {
    if (this.total === 0) return this.state === "completed" ? 100 : 0;
    return Math.floor((this.loaded / this.total) * 100);
  }

  /** Starts (once); the same promise on every call. */
  start(): Promise<UploadRecord> {
    if (this.state === "idle") this.#launch();
    return this.#outcome;
  }

  /** Stops sending; what storage acknowledged is kept. */
  pause(): void {
    if (this.state !== "uploading") return;
    this.#setState("paused");
    this.#controller.abort();
  }

  resume(): void {
    if (this.state !== "paused") return;
    this.#launch();
  }

  /** Stops for good and tells the server to drop the upload and its parts. */
  async cancel(): Promise<void> {
    if (["completed", "rejected", "canceled"].includes(this.state)) return;
    this.#setState("canceled");
    this.#controller.abort();
    await this.#running?.catch(() => undefined);
    this.#resume.forget(this.#identity());
    // Canceled while its creation was on the way: the server may have made the
    // upload. Asking again with the same key finds it, so that it is aborted.
    if (!this.record && this.#creationSent) {
      this.record = await this.#create().catch(() => undefined);
    }
    if (this.record) {
      await this.#api.abort(this.record.id).catch(() => undefined);
    }
    this.#settle.reject(new DOMException("the upload was canceled", "AbortError"));
  }

  #launch(): void {
    this.#controller = new AbortController();
    this.#setState("uploading");
    this.#running = this.#run(this.#controller.signal);
  }

  async #run(signal: AbortSignal): Promise<void> {
    try {
      if (!this.record) {
        const done = await this.#prepare(signal);
        if (done) return this.#finish(done);
      }
      const record = this.record!;
      let parts: CompletedPart[] | undefined;
      if (record.upload?.method === "MULTIPART" || (record.partCount ?? 0) > 0) {
        const followed = await this.#sendPartsFollowing(record, signal);
        if ("settled" in followed) return this.#finish(followed.settled);
        parts = followed.parts;
      } else {
        await this.#sendWhole(record, signal);
      }
      this.#setState("completing");
      this.#finish(await this.#api.complete(record.id, { parts, signal }));
    } catch (error) {
      // This run was stopped by a pause or a cancel; a resume may already have
      // started the next run, which carries on from what storage holds.
      if (signal.aborted) return;
      this.error = error instanceof Error ? error : new Error(String(error));
      this.#setState("failed");
      this.#settle.reject(this.error);
    }
  }

  /** Finds this file's unfinished upload again, or creates one. Returns a record when there is nothing left to do. */
  async #prepare(signal: AbortSignal): Promise<UploadRecord | undefined> {
    const identity = this.#identity();
    const saved = this.#resume.load(identity);
    if (saved) {
      const found = await this.#api.get(saved.id, { signal }).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      });
      if (found?.status === "completed") {
        // The last page finished it (or was verifying it when it was closed).
        this.#resume.forget(identity);
        return found;
      }
      if (found && (found.status === "pending" || found.status === "uploading") && found.uploadedParts) {
        this.record = found;
        this.#takeStored(found.uploadedParts);
        this.resumedBytes = this.#acknowledged;
        this.#emitProgress();
        return undefined;
      }
      this.#resume.forget(identity);
    }
    this.#creationSent = true;
    this.record = await this.#create(signal);
    if (this.record.upload?.method === "MULTIPART") {
      this.#resume.save(identity, this.record.id);
    }
    return undefined;
  }

  #create(signal?: AbortSignal): Promise<UploadRecord> {
    const file = this.file;
    const body = {
      filename: this.options.filename ?? file.name ?? "file",
      contentType: this.options.contentType || file.type || "application/octet-stream",
      size: file.size,
      profile: this.options.profile ?? null,
      metadata: this.options.metadata ?? null,
    };
    return this.#api.create(body, { idempotencyKey: this.#creationKey, signal });
  }

  async #sendWhole(record: UploadRecord, signal: AbortSignal): Promise<void> {
    const instructions = record.upload;
    if (!instructions || instructions.method === "MULTIPART") {
      throw new Error("the server gave no upload instructions");
    }
    let body: Blob | FormData = this.file;
    let headers: Record<string, string> = {};
    if (instructions.method === "PUT") {
      headers = instructions.headers;
    } else {
      const form = new FormData();
      for (const [name, value] of Object.entries(instructions.fields)) form.append(name, String(value));
      form.append("file", this.file);
      body = form;
    }
    await this.#withRetries(0, signal, () => send(instructions.method, instructions.url, body, headers, this.#tracker(0), signal));
    this.#acknowledged = this.file.size;
    this.#emitProgress();
  }

  /**
   * Sends the parts storage lacks, following the server when storage refuses
   * a part for good (403 once signing again did not cure it, 404: the
   * multipart upload is gone, assembled by another page of this user or by a
   * completion that died) or the server says the upload moved on: its status
   * is read again, and `completed` or `rejected` is the end, parts listed are
   * taken as stored and the rest sent. Anything else is the refusal.
   */
  async #sendPartsFollowing(
    record: UploadRecord,
    signal: AbortSignal,
  ): Promise<{ parts: CompletedPart[] | undefined } | { settled: UploadRecord }> {
    for (let follows = 0; ; follows++) {
      try {
        return { parts: await this.#sendParts(record, signal) };
      } catch (error) {
        if (signal.aborted || follows >= MAX_FOLLOWS || !refusedForGood(error)) throw error;
        const current = await this.#api.get(record.id, { signal });
        if (current.status === "completed" || current.status === "rejected") return { settled: current };
        const inProgress = current.status === "pending" || current.status === "uploading";
        if (!inProgress || !current.uploadedParts) throw error;
        this.#takeStored(current.uploadedParts);
        this.#emitProgress();
      }
    }
  }

  /** What storage holds, as the server listed it, replaces what this page thought. */
  #takeStored(parts: ReadonlyArray<{ partNumber: number; etag: string; size: number }>): void {
    this.#stored.clear();
    this.#acknowledged = 0;
    for (const part of parts) {
      this.#stored.set(part.partNumber, part.etag);
      this.#acknowledged += part.size;
    }
  }

  async #sendParts(record: UploadRecord, signal: AbortSignal): Promise<CompletedPart[] | undefined> {
    const instructions = record.upload?.method === "MULTIPART" ? record.upload : undefined;
    const partSize = instructions?.partSize ?? record.partSize!;
    const partCount = instructions?.partCount ?? record.partCount!;
    const queue: number[] = [];
    for (let n = 1; n <= partCount; n++) if (!this.#stored.has(n)) queue.push(n);
    // The first failure empties the queue, and is thrown once every worker
    // has stopped: a caller that follows the server must not race parts
    // still on their way.
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        try {
          await sendOne(n);
        } catch (error) {
          failure ??= { error };
          queue.length = 0;
        }
      }
    };
    const sendOne = async (partNumber: number) => {
      const start = (partNumber - 1) * partSize;
      const blob = this.file.slice(start, Math.min(start + partSize, this.file.size));
      const checksum = await sha256(blob);
      const sent = await this.#withRetries(partNumber, signal, async (attempt) => {
        const part = await this.#partUrl(record.id, partNumber, checksum, attempt > 1, signal);
        return send("PUT", part.url, blob, part.headers, this.#tracker(partNumber), signal);
      });
      this.#stored.set(partNumber, sent.etag);
      this.#acknowledged += blob.size;
      this.#inFlight.delete(partNumber);
      this.#emitProgress();
    };
    const workers = Array.from({ length: Math.min(this.#settings.parallel, Math.max(queue.length, 1)) }, worker);
    await Promise.all(workers);
    if (failure) throw failure.error;
    const parts = [...this.#stored.entries()].sort(([a], [b]) => a - b);
    // Without every ETag (a store that hides them), the server picks the parts.
    if (parts.some(([, etag]) => !etag)) return undefined;
    return parts.map(([partNumber, etag]) => ({ partNumber, etag: etag! }));
  }

  /**
   * A URL for `partNumber`, signed again unless a fresh one is at hand. Each
   * part is signed alone, with the SHA-256 of its bytes when there is one, so
   * storage refuses the part if other bytes arrive.
   */
  async #partUrl(
    id: string,
    partNumber: number,
    checksum: string | undefined,
    refresh: boolean,
    signal: AbortSignal,
  ): Promise<SignedPart> {
    const cached = this.#signed.get(partNumber);
    if (!refresh && cached && Date.parse(cached.expiresAt) - Date.now() > EXPIRY_MARGIN_MS) return cached;
    const signed = await this.#api.signParts(id, {
      partNumbers: [partNumber],
      checksumsSha256: checksum ? { [partNumber]: checksum } : undefined,
      signal,
    });
    const part = signed.parts.find((p) => p.partNumber === partNumber);
    if (!part) throw new Error(`the server did not sign part ${partNumber}`);
    this.#signed.set(partNumber, part);
    return part;
  }

  /** Runs `attempt` until it succeeds, retrying what is worth retrying. */
  async #withRetries<T>(slot: number, signal: AbortSignal, attempt: (n: number) => Promise<T>): Promise<T> {
    const retry = this.#settings.retry;
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (error) {
        this.#inFlight.delete(slot);
        this.#emitProgress();
        // 403 from storage: most likely an expired URL; a part is signed again.
        const expired = error instanceof TransferError && error.status === 403 && slot > 0;
        const retryable = expired || (error instanceof TransferError && error.retryable);
        if (!retryable || n >= retry.attempts || signal.aborted) throw error;
        await sleep(backoff(retry, n), signal);
      }
    }
  }

  #tracker(slot: number): (sent: number) => void {
    return (sent) => {
      this.#inFlight.set(slot, sent);
      this.#emitProgress();
    };
  }

  #finish(record: UploadRecord): void {
    this.record = record;
    this.#resume.forget(this.#identity());
    if (record.status === "completed") {
      this.#acknowledged = this.file.size;
      this.#inFlight.clear();
      this.#emitProgress();
    }
    this.#setState(record.status === "completed" ? "completed" : "rejected");
    this.#settle.resolve(record);
  }

  #identity() {
    return { name: this.file.name ?? "", size: this.file.size, lastModified: this.file.lastModified ?? 0 };
  }

  #setState(state: UploadState): void {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent<UploadState>("statechange", { detail: state }));
  }

  #emitProgress(): void {
    this.dispatchEvent(new CustomEvent<ProgressDetail>("progress", { detail: { loaded: this.loaded, total: this.total } }));
  }
}

/**
 * How often one upload's parts are re-planned from the server's answer after
 * storage refused one: enough for another page or a crashed completion, not a loop.
 */
const MAX_FOLLOWS = 3;

/** Storage or the server refused a part in a way sending it again cannot cure. */
function refusedForGood(error: unknown): boolean {
  if (error instanceof TransferError) return error.status === 403 || error.status === 404;
  return error instanceof ApiError && (error.code === "upload_not_pending" || error.code === "upload_finished");
}

/** `blob`'s base64 SHA-256; none where WebCrypto is missing (plain http off localhost). */
async function sha256(blob: Blob): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  const digest = new Uint8Array(await subtle.digest("SHA-256", await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}
