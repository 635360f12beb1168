import type { Upload, UploadOptions, UploadRecord } from "@uploadgate/client";

import { type UploadItem, itemOf } from "./item";

export interface UploadCallbacks {
  /** A file's upload was verified and completed (`record.status === "completed"`). */
  onComplete?: (record: UploadRecord, item: UploadItem) => void;
  /** A file failed, or its bytes were rejected on verification (`record.rejectReason`). */
  onError?: (error: Error, item: UploadItem) => void;
}

/**
 * Starts `upload` and tells the callbacks `latest()` gives at that moment how
 * it ended (a cancel is not an error). Resolves as `upload.start()` does.
 */
export function startReporting(key: string, upload: Upload, latest: () => UploadCallbacks): Promise<UploadRecord> {
  const outcome = upload.start();
  outcome.then(
    (record) => {
      const item = itemOf(key, upload);
      if (record.status === "completed") latest().onComplete?.(record, item);
      else latest().onError?.(new Error(record.rejectReason ?? "the upload was rejected"), item);
    },
    (error: Error) => {
      if (upload.state !== "canceled") latest().onError?.(error, itemOf(key, upload));
    },
  );
  return outcome;
}

/** The defined upload options of `sources`, later ones winning; an undefined value never erases one. */
export function mergeOptions(...sources: (UploadOptions | undefined)[]): UploadOptions {
  const merged: UploadOptions = {};
  for (const source of sources) {
    if (source?.profile !== undefined) merged.profile = source.profile;
    if (source?.filename !== undefined) merged.filename = source.filename;
    if (source?.contentType !== undefined) merged.contentType = source.contentType;
    if (source?.metadata !== undefined) merged.metadata = source.metadata;
  }
  return merged;
}
