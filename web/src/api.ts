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
  create(body: CreateUpload, signal?: AbortSignal): Promise<UploadRecord> {
    return this.#call("POST", "/v1/uploads", body, signal, [], { "idempotency-key": idempotencyKey() });
  }

  get(id: string, signal?: AbortSignal): Promise<UploadRecord> {
    return this.#call("GET", `/v1/uploads/${encodeURIComponent(id)}`, undefined, signal);
  }

  /** `createdAfter` / `createdBefore`: RFC 3339 instants; `metadata`: one `key=value` entry. */
  list(options: ListQuery = {}, signal?: AbortSignal): Promise<UploadList> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(options)) {
      if (value !== undefined) query.set(name, String(value));
    }
    const suffix = query.size > 0 ? `?${query}` : "";
    return this.#call("GET", `/v1/uploads${suffix}`, undefined, signal);
  }

  /** `checksumsSha256`: base64 SHA-256 by part number; storage then refuses a part with other bytes. */
  signParts(
    id: string,
    partNumbers: number[],
    signal?: AbortSignal,
    checksumsSha256?: Record<string, string>,
  ): Promise<SignedParts> {
    const body = checksumsSha256 ? { partNumbers, checksumsSha256 } : { partNumbers };
    return this.#call("POST", `/v1/uploads/${encodeURIComponent(id)}/parts`, body, signal);
  }

  /** Verifies what landed. A rejected upload (422) resolves too: see `status` and `rejectReason`. */
  complete(id: string, parts?: CompletedPart[], signal?: AbortSignal): Promise<UploadRecord> {
    return this.#call("POST", `/v1/uploads/${encodeURIComponent(id)}/complete`, parts ? { parts } : {}, signal, [422]);
  }

  /** Cancels an upload in progress (`aborted`), or deletes a finished one (`deleted`). */
  delete(id: string, signal?: AbortSignal): Promise<UploadRecord> {
    return this.#call("DELETE", `/v1/uploads/${encodeURIComponent(id)}`, undefined, signal);
  }

  /** Cancels an upload in progress; one that has finished meanwhile is kept (409 `upload_finished`), never deleted. */
  abort(id: string, signal?: AbortSignal): Promise<UploadRecord> {
    return this.#call("DELETE", `/v1/uploads/${encodeURIComponent(id)}?cancel=true`, undefined, signal);
  }

  downloadLink(id: string, signal?: AbortSignal): Promise<DownloadLink> {
    return this.#call("GET", `/v1/uploads/${encodeURIComponent(id)}/download`, undefined, signal);
  }

  async #call<T>(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
    okStatuses: number[] = [],
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const token = typeof this.#token === "function" ? await this.#token() : this.#token;
      let response: Response;
      try {
        response = await fetch(this.baseUrl + path, {
          method,
          signal,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...extraHeaders,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        if (signal?.aborted || attempt >= this.#retry.attempts) throw error;
        await sleep(backoff(this.#retry, attempt), signal);
        continue;
      }
      if (response.ok || okStatuses.includes(response.status)) {
        return (await response.json()) as T;
      }
      const problem = await readProblem(response);
      const error = new ApiError(response.status, problem, `${method} ${path} answered ${response.status}`);
      // Another request is completing this upload, or this client's own
      // earlier attempt is still creating it: ask again shortly.
      const busy =
        response.status === 409 && (error.code === "completion_in_progress" || error.code === "creation_in_progress");
      if (!(error.retryable || busy) || attempt >= this.#retry.attempts) throw error;
      const retryAfter = response.headers.get("retry-after");
      await sleep(backoff(this.#retry, attempt, retryAfter === null ? undefined : Number(retryAfter)), signal);
    }
  }
}

async function readProblem(response: Response): Promise<Problem | undefined> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return undefined;
  }
}

/** 128 random bits, hex; `crypto.randomUUID` is missing outside secure contexts, `getRandomValues` is not. */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
