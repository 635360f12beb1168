import type { Uploadgate, Upload, UploadOptions, UploadRecord } from "@uploadgate/client";
import { useCallback, useEffect, useRef, useState } from "react";

import { useUploadgate } from "./context";
import { type UploadItem, isActive, itemOf } from "./item";

export interface UseUploadsOptions extends UploadOptions {
  /** Otherwise the nearest `UploadgateProvider`'s. */
  client?: Uploadgate;
  /** A file's upload was verified and completed (`record.status === "completed"`). */
  onComplete?: (record: UploadRecord, item: UploadItem) => void;
  /** A file failed, or its bytes were rejected on verification (`record.rejectReason`). */
  onError?: (error: Error, item: UploadItem) => void;
}

export interface UseUploads {
  /** Every upload added, oldest first. */
  items: UploadItem[];
  /**
   * Starts uploading `files` at once, with `options` over the hook's; returns
   * their uploads (`start()` gives each one's record).
   */
  add(files: Iterable<File | Blob> | ArrayLike<File>, options?: UploadOptions): Upload[];
  /** Drops finished items (completed, rejected, failed, canceled) from `items`. */
  clearFinished(): void;
}

let counter = 0;

/**
 * Many files at once, each with its own progress, state, error and record.
 * Uploads go on when the component unmounts; only its listeners stop.
 */
export function useUploads(options: UseUploadsOptions = {}): UseUploads {
  const client = useUploadgate(options.client);
  const [items, setItems] = useState<UploadItem[]>([]);
  const tracked = useRef(new Map<string, { upload: Upload; stop: () => void }>());
  // The latest callbacks and upload options, without re-subscribing on every render.
  const latest = useRef(options);
  latest.current = options;

  const refresh = useCallback(() => {
    setItems(Array.from(tracked.current, ([key, { upload }]) => itemOf(key, upload)));
  }, []);

  useEffect(() => {
    const current = tracked.current;
    return () => {
      for (const { stop } of current.values()) stop();
    };
  }, []);

  const add = useCallback(
    (files: Iterable<File | Blob> | ArrayLike<File>, options?: UploadOptions): Upload[] => {
      const { profile, filename, contentType, metadata } = latest.current;
      const uploadOptions: UploadOptions = { profile, filename, contentType, metadata, ...options };
      const uploads = Array.from(files as Iterable<File | Blob>, (file) => {
        const key = `ug-${++counter}`;
        const upload = client.upload(file, uploadOptions);
        const changed = () => refresh();
        upload.addEventListener("progress", changed);
        upload.addEventListener("statechange", changed);
        const stop = () => {
          upload.removeEventListener("progress", changed);
          upload.removeEventListener("statechange", changed);
        };
        tracked.current.set(key, { upload, stop });
        upload.start().then(
          (record) => {
            const item = itemOf(key, upload);
            if (record.status === "completed") latest.current.onComplete?.(record, item);
            else latest.current.onError?.(new Error(record.rejectReason ?? "the upload was rejected"), item);
          },
          (error: Error) => {
            if (upload.state !== "canceled") latest.current.onError?.(error, itemOf(key, upload));
          },
        );
        return upload;
      });
      refresh();
      return uploads;
    },
    [client, refresh],
  );

  const clearFinished = useCallback(() => {
    for (const [key, { upload, stop }] of tracked.current) {
      if (!isActive(upload.state)) {
        stop();
        tracked.current.delete(key);
      }
    }
    refresh();
  }, [refresh]);

  return { items, add, clearFinished };
}
