import type { ErrorCode, Problem } from "./types";

/** The API refused a request: its problem+json body, with its stable `code`. */
export class ApiError extends Error {
  readonly status: number;
  /** The server's code, or `http_<status>` when the answer was not a problem body. */
  readonly code: ErrorCode | `http_${number}`;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, fallback: string) {
    super(problem?.detail ?? problem?.title ?? fallback);
    this.name = "ApiError";
    this.status = status;
    this.code = problem?.code ?? `http_${status}`;
    this.problem = problem;
  }

  /** Worth retrying: the server or a dependency is down, or asks to slow down. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** Storage refused or dropped a transfer. */
export class TransferError extends Error {
  /** 0 when the request never got an answer (network, CORS). */
  readonly status: number;
  /** Storage's S3 error code (`BadDigest`, ...), when it sent one. */
  readonly code: string | undefined;

  constructor(status: number, message: string, code?: string) {
    super(message);
    this.name = "TransferError";
    this.status = status;
    this.code = code;
  }

  /**
   * Worth sending again: storage is down or busy, or the bytes it received did
   * not match the checksum they were signed with (damaged on the way; a file
   * changed since it was hashed fails again and again, and then for good).
   */
  get retryable(): boolean {
    const damaged = this.code === "BadDigest" || this.code === "InvalidDigest";
    return this.status === 0 || this.status >= 500 || this.status === 429 || damaged;
  }
}
