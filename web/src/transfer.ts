// Sending bytes to storage with XMLHttpRequest: fetch cannot report upload
// progress, and byte-accurate progress is the point.

import { TransferError } from "./errors";
import { abortError } from "./retry";

export interface Sent {
  status: number;
  /** The stored object's or part's ETag (storage must expose it through CORS). */
  etag: string | null;
}

/**
 * Sends `body` with `method` to `url`. `onProgress` gets the bytes sent so far
 * by this request; a failed request's bytes no longer count, so callers
 * subtract what it reported.
 */
export function send(
  method: "PUT" | "POST",
  url: string,
  body: Blob | FormData,
  headers: Record<string, string>,
  onProgress: (sent: number) => void,
  signal: AbortSignal,
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) {
      // The browser sets these itself; setting them is an error.
      if (name.toLowerCase() === "content-length" || name.toLowerCase() === "host") continue;
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    const onAbort = () => xhr.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => signal.removeEventListener("abort", onAbort);
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ status: xhr.status, etag: xhr.getResponseHeader("etag") });
      } else {
        const { code, message } = storageError(xhr);
        reject(new TransferError(xhr.status, message, code));
      }
    };
    xhr.onerror = () => {
      done();
      reject(new TransferError(0, "storage could not be reached (network or CORS)"));
    };
    xhr.onabort = () => {
      done();
      reject(abortError());
    };
    xhr.send(body);
  });
}

/** The S3 error code, and a message with it, when the body is an S3 error document. */
function storageError(xhr: XMLHttpRequest): { code: string | undefined; message: string } {
  const text = xhr.responseText ?? "";
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  const detail = [code, message].filter(Boolean).join(": ");
  return { code, message: `storage answered ${xhr.status}${detail ? ` (${detail})` : ""}` };
}
