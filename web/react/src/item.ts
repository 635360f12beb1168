// What a component needs to show of one upload, as a plain immutable value
// (React compares it by identity), made again on each of its events.

import type { Upload, UploadRecord, UploadState } from "@uploadgate/client";

export interface UploadItem {
  /** Stable for the item's life: use it as the React key. */
  key: string;
  /** The file's name, or `file` for a Blob without one. */
  name: string;
  state: UploadState;
  loaded: number;
  total: number;
  /** 0 to 100, whole numbers. */
  percent: number;
  /** Bytes storage already held when the upload resumed after a reload. */
  resumedBytes: number;
  error: Error | undefined;
  /** The server's record: `status` is `completed` (verified) or `rejected` (see `rejectReason`) at the end. */
  record: UploadRecord | undefined;
  /** The client's upload itself, for what this value does not show. */
  upload: Upload;
  pause(): void;
  resume(): void;
  cancel(): Promise<void>;
}

export function itemOf(key: string, upload: Upload): UploadItem {
  const { loaded, total } = upload;
  return {
    key,
    name: upload.file.name || "file",
    state: upload.state,
    loaded,
    total,
    percent: upload.percent,
    resumedBytes: upload.resumedBytes,
    error: upload.error,
    record: upload.record,
    upload,
    pause: () => upload.pause(),
    resume: () => upload.resume(),
    cancel: () => upload.cancel(),
  };
}

let counter = 0;

/** A key no other item of this page has. */
export function nextKey(): string {
  counter += 1;
  return `ug-${counter}`;
}

/** Whether the upload may still send bytes (and so be paused or canceled). */
export function isActive(state: UploadState): boolean {
  return state === "idle" || state === "uploading" || state === "paused" || state === "completing";
}
