// Typed calls to API v1, retried on network errors, 5xx and 429.

import { ApiError } from "./errors";
import { DEFAULT_RETRY, type RetryOptions, backoff, sleep } from "./retry";
import type {
  CompletedPart,
  CreateUpload,
  DownloadLink,
  ListQuery,
  Problem,
  SignedParts,
  UploadList,
  UploadRecord,
} from "./types";

export interface ApiOptions {
  /** Where uploadgate answers, e.g. `https://uploads.example.com`. */
  baseUrl: string;
  /** A bearer token, or a function giving the current one (tokens expire). */
  token: string | (() => string | Promise<string>);
  retry?: RetryOptions;
}

/** What every call takes besides its own arguments. */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  /**
   * Makes the creation safe to send again: the same key answers with the same
   * upload. A fresh random key by default; pass your own to keep one across
   * page loads.
   */
  idempotencyKey?: string;
}

export interface SignPartsOptions extends CallOptions {
  partNumbers: number[];
  /** Base64 SHA-256 by part number; storage then refuses a part with other bytes. */
  checksumsSha256?: Record<string, string>;
}

export interface CompleteOptions extends CallOptions {
  /** The parts storage acknowledged, with their ETags; the server finds them otherwise. */
  parts?: CompletedPart[];
}

interface Request {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Statuses whose body is an answer, not an error (422: a rejected upload's record). */
  answers?: number[];
  headers?: Record<string, string>;
}

export class Api {
  readonly baseUrl: string;
  readonly #token: ApiOptions["token"];
  readonly #retry: Required<RetryOptions>;

  constructor(options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Retries (after a lost answer) carry the same `Idempotency-Key`: they get the same upload back, never a second. */
  create(body: CreateUpload, options: CreateOptions = {}): Promise<UploadRecord> {
    const key = options.idempotencyKey ?? idempotencyKey();
    return this.#call({
      method: "POST",
      path: "/v1/uploads",
      body,
      signal: options.signal,
      headers: { "idempotency-key": key },
    });
  }

  get(id: string, options: CallOptions = {}): Promise<UploadRecord> {
    return this.#call({ method: "GET", path: uploadPath(id), signal: options.signal });
  }

  /** `createdAfter` / `createdBefore`: RFC 3339 instants; `metadata`: one `key=value` entry. */
  list(query: ListQuery = {}, options: CallOptions = {}): Promise<UploadList> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) search.set(name, String(value));
    }
    const suffix = search.size > 0 ? `?${search}` : "";
    return this.#call({ method: "GET", path: `/v1/uploads${suffix}`, signal: options.signal });
  }

  /** Signing the same parts again gives fresh URLs for the same parts. */
  signParts(id: string, options: SignPartsOptions): Promise<SignedParts> {
    const { partNumbers, checksumsSha256 } = options;
    return this.#call({
      method: "POST",
      path: `${uploadPath(id)}/parts`,
      body: checksumsSha256 ? { partNumbers, checksumsSha256 } : { partNumbers },
      signal: options.signal,
    });
  }

  /** Verifies what landed; completing twice gives the same answer. A rejected upload (422) resolves too: see `status` and `rejectReason`. */
  complete(id: string, options: CompleteOptions = {}): Promise<UploadRecord> {
    return this.#call({
      method: "POST",
      path: `${uploadPath(id)}/complete`,
      body: options.parts ? { parts: options.parts } : {},
      signal: options.signal,
      answers: [422],
    });
  }

  /** Cancels an upload in progress (`aborted`), or deletes a finished one (`deleted`). */
  delete(id: string, options: CallOptions = {}): Promise<UploadRecord> {
    return this.#call({ method: "DELETE", path: uploadPath(id), signal: options.signal });
  }

  /** Cancels an upload in progress; one that has finished meanwhile is kept (409 `upload_finished`), never deleted. */
  abort(id: string, options: CallOptions = {}): Promise<UploadRecord> {
    return this.#call({ method: "DELETE", path: `${uploadPath(id)}?cancel=true`, signal: options.signal });
  }

  downloadLink(id: string, options: CallOptions = {}): Promise<DownloadLink> {
    return this.#call({ method: "GET", path: `${uploadPath(id)}/download`, signal: options.signal });
  }

  /**
   * Every call here is safe to send twice, so a lost answer is retried: reads
   * and cancels by nature, signing and completion by the server's contract,
   * creation by its `Idempotency-Key`. A call that is not must not come here.
   */
  async #call<T>(request: Request): Promise<T> {
    const { method, path, body, signal } = request;
    for (let attempt = 1; ; attempt++) {
      const token = typeof this.#token === "function" ? await this.#token() : this.#token;
      const retries = attempt < this.#retry.attempts;
      let response: Response;
      try {
        response = await fetch(this.baseUrl + path, {
          method,
          signal,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...request.headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        if (signal?.aborted || !retries) throw error;
        await sleep(backoff(this.#retry, attempt), signal);
        continue;
      }
      if (response.ok || request.answers?.includes(response.status)) {
        return (await response.json()) as T;
      }
      const problem = await readProblem(response);
      const error = new ApiError(response.status, problem, `${method} ${path} answered ${response.status}`);
      // Another request is completing this upload, or this client's own
      // earlier attempt is still creating it: ask again shortly.
      const busy =
        response.status === 409 && (error.code === "completion_in_progress" || error.code === "creation_in_progress");
      if (!(error.retryable || busy) || !retries) throw error;
      const retryAfter = response.headers.get("retry-after");
      await sleep(backoff(this.#retry, attempt, retryAfter === null ? undefined : Number(retryAfter)), signal);
    }
  }
}

function uploadPath(id: string): string {
  return `/v1/uploads/${encodeURIComponent(id)}`;
}

async function readProblem(response: Response): Promise<Problem | undefined> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return undefined;
  }
}

/** 128 random bits, hex; `crypto.randomUUID` is missing outside secure contexts, `getRandomValues` is not. */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
