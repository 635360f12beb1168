import type { Upload, UploadOptions, UploadRecord, UploadState } from "@uploadgate/client";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { useClientLater } from "./context";
import { type UploadItem, isActive, itemOf, nextKey } from "./item";
import { mergeOptions, startReporting } from "./outcome";
import type { UseUploadsOptions } from "./useUploads";

export interface UseUpload {
  /**
   * Uploads `file`, resolving with its verified record (`completed`, or
   * `rejected` with `rejectReason`). An upload of an earlier file still
   * running is canceled: this hook holds one file.
   */
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
  /** These act on the current file's upload, whichever render they came from. */
  pause(): void;
  resume(): void;
  cancel(): Promise<void>;
}

/** One file at a time: `upload(file)`, then its progress, state, error and record. */
export function useUpload(options: UseUploadsOptions = {}): UseUpload {
  const client = useClientLater(options.client);
  const latest = useRef(options);
  latest.current = options;
  const current = useRef<Upload | undefined>(undefined);
  const [entry, setEntry] = useState<{ key: string; upload: Upload }>();
  const [, rerender] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    if (!entry) return;
    const { upload } = entry;
    upload.addEventListener("progress", rerender);
    upload.addEventListener("statechange", rerender);
    // What happened before this effect ran.
    rerender();
    return () => {
      upload.removeEventListener("progress", rerender);
      upload.removeEventListener("statechange", rerender);
    };
  }, [entry]);

  const upload = useCallback(
    (file: File | Blob, fileOptions?: UploadOptions) => {
      const previous = current.current;
      if (previous && isActive(previous.state)) void previous.cancel();
      const started = client().upload(file, mergeOptions(latest.current, fileOptions));
      const key = nextKey();
      current.current = started;
      setEntry({ key, upload: started });
      return startReporting(key, started, () => latest.current);
    },
    [client],
  );

  const item = entry ? itemOf(entry.key, entry.upload) : undefined;
  return {
    upload,
    state: item?.state ?? "idle",
    loaded: item?.loaded ?? 0,
    total: item?.total ?? 0,
    percent: item?.percent ?? 0,
    error: item?.error,
    record: item?.record,
    item,
    pause: () => current.current?.pause(),
    resume: () => current.current?.resume(),
    cancel: async () => current.current?.cancel(),
  };
}
