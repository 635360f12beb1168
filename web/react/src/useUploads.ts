import type { Upload, UploadOptions, Uploadgate } from "@uploadgate/client";
import { useCallback, useEffect, useRef, useState } from "react";

import { useClientLater } from "./context";
import { type UploadItem, isActive, itemOf, nextKey } from "./item";
import { type UploadCallbacks, mergeOptions, startReporting } from "./outcome";

export interface UseUploadsOptions extends UploadOptions, UploadCallbacks {
  /** Otherwise the nearest `UploadgateProvider`'s. */
  client?: Uploadgate;
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

/**
 * Many files at once, each with its own progress, state, error and record.
 * Uploads go on when the component unmounts; its listeners stop, and come back
 * if it mounts again (StrictMode, Fast Refresh).
 */
export function useUploads(options: UseUploadsOptions = {}): UseUploads {
  const client = useClientLater(options.client);
  const [items, setItems] = useState<UploadItem[]>([]);
  const tracked = useRef(new Map<string, Upload>());
  const listening = useRef(new Map<string, () => void>());
  const mounted = useRef(false);
  // The latest callbacks and upload options, without re-subscribing on every render.
  const latest = useRef(options);
  latest.current = options;

  const refresh = useCallback(() => {
    setItems(Array.from(tracked.current, ([key, upload]) => itemOf(key, upload)));
  }, []);

  const listen = useCallback(
    (key: string, upload: Upload) => {
      if (listening.current.has(key)) return;
      upload.addEventListener("progress", refresh);
      upload.addEventListener("statechange", refresh);
      listening.current.set(key, () => {
        upload.removeEventListener("progress", refresh);
        upload.removeEventListener("statechange", refresh);
      });
    },
    [refresh],
  );

  useEffect(() => {
    mounted.current = true;
    for (const [key, upload] of tracked.current) listen(key, upload);
    refresh();
    const current = listening.current;
    return () => {
      mounted.current = false;
      for (const stop of current.values()) stop();
      current.clear();
    };
  }, [listen, refresh]);

  const add = useCallback(
    (files: Iterable<File | Blob> | ArrayLike<File>, options?: UploadOptions): Upload[] => {
      const gate = client();
      const uploadOptions = mergeOptions(latest.current, options);
      const uploads = Array.from(files as Iterable<File | Blob>, (file) => {
        const key = nextKey();
        const upload = gate.upload(file, uploadOptions);
        tracked.current.set(key, upload);
        if (mounted.current) listen(key, upload);
        void startReporting(key, upload, () => latest.current);
        return upload;
      });
      refresh();
      return uploads;
    },
    [client, listen, refresh],
  );

  const clearFinished = useCallback(() => {
    for (const [key, upload] of tracked.current) {
      if (!isActive(upload.state)) {
        listening.current.get(key)?.();
        listening.current.delete(key);
        tracked.current.delete(key);
      }
    }
    refresh();
  }, [refresh]);

  return { items, add, clearFinished };
}
