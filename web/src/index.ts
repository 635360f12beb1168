// uploadgate's browser client: direct-to-storage uploads through API v1.
//
//   const gate = new Uploadgate({ baseUrl: "https://uploads.example.com", token });
//   const upload = gate.upload(file);
//   upload.addEventListener("progress", (e) => bar.value = e.detail.loaded / e.detail.total);
//   const record = await upload.start();   // verified: record.status === "completed"

import { Api, type ApiOptions } from "./api";
import { ResumeStore, defaultStorage } from "./resume";
import { DEFAULT_RETRY } from "./retry";
import { Upload, type UploadOptions } from "./upload";

export { Api } from "./api";
export { ApiError, TransferError } from "./errors";
export { STATE_LABELS, Upload } from "./upload";
export type { ProgressDetail, UploadEventMap, UploadOptions, UploadState } from "./upload";
export type { ApiOptions, CallOptions, CompleteOptions, CreateOptions, SignPartsOptions } from "./api";
export type { RetryOptions } from "./retry";
export type * from "./types";

export interface UploadgateOptions extends ApiOptions {
  /** Parts sent at once for large files (default 4). */
  parallel?: number;
  /** Where uploads in progress are remembered across reloads; `null` for nowhere. Default: localStorage. */
  storage?: Storage | null;
}

export class Uploadgate {
  readonly api: Api;
  readonly #resume: ResumeStore;
  readonly #parallel: number;
  readonly #retry;

  constructor(options: UploadgateOptions) {
    this.api = new Api(options);
    this.#resume = new ResumeStore(this.api.baseUrl, options.storage === undefined ? defaultStorage : options.storage);
    this.#parallel = Math.max(1, Math.min(options.parallel ?? 4, 16));
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** An upload of `file`, not started yet: add listeners, then `start()`. */
  upload(file: Blob, options: UploadOptions = {}): Upload {
    return new Upload(this.api, this.#resume, { parallel: this.#parallel, retry: this.#retry }, file, options);
  }
}
