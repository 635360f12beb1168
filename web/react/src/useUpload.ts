import type { UploadOptions, UploadRecord, UploadState } from "@uploadgate/client";
import { useCallback } from "react";

import type { UploadItem } from "./item";
import { type UseUploadsOptions, useUploads } from "./useUploads";

export interface UseUpload {
  /** Uploads `file` (replacing the one shown), resolving with its verified record (`completed`, or `rejected` with `rejectReason`). */
  upload(file: File | Blob, options?: UploadOptions): Promise<UploadRecord>;
  /** `idle` before the first file. */
  state: UploadState;
  loaded: number;
  total: number;
  percent: number;
  error: Error | undefined;
  record: UploadRecord | undefined;
  /** The whole current item, `undefined` before the first file. */
  item: UploadItem | undefined;
  pause(): void;
  resume(): void;
  cancel(): Promise<void>;
}

/** One file at a time: `upload(file)`, then its progress, state, error and record. */
export function useUpload(options: UseUploadsOptions = {}): UseUpload {
  const { items, add } = useUploads(options);
  const upload = useCallback(
    (file: File | Blob, fileOptions?: UploadOptions) => {
      const [started] = add([file], fileOptions);
      return started!.start();
    },
    [add],
  );
  const item = items.at(-1);
  return {
    upload,
    state: item?.state ?? "idle",
    loaded: item?.loaded ?? 0,
    total: item?.total ?? 0,
    percent: item?.percent ?? 0,
    error: item?.error,
    record: item?.record,
    item,
    pause: () => item?.pause(),
    resume: () => item?.resume(),
    cancel: async () => item?.cancel(),
  };
}
