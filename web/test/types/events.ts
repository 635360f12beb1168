// Compiled by `tsc --noEmit` (strict), never run: the README's usage must
// type-check, and misuse must not.
import type { UploadgateDropzone } from "../../element/src/index";
import { Uploadgate, type UploadState } from "../../src/index";

const gate = new Uploadgate({ baseUrl: "https://uploads.example.com", token: () => "t" });
const upload = gate.upload(new Blob(["x"]), { profile: "avatars" });

upload.addEventListener("progress", (e) => {
  const loaded: number = e.detail.loaded;
  const total: number = e.detail.total;
  return loaded / total;
});
upload.addEventListener("statechange", (e) => {
  const state: UploadState = e.detail;
  return state;
});
// Other event names still take plain listeners.
upload.addEventListener("custom", (e: Event) => e.type);

// @ts-expect-error `progress` carries numbers, not a state.
upload.addEventListener("progress", (e) => e.detail.startsWith("up"));
// @ts-expect-error options objects, not positional optional arguments
void gate.api.complete("id", [], new AbortController().signal);
void gate.api.complete("id", { parts: [{ partNumber: 1, etag: '"e"' }] });
void gate.api.signParts("id", { partNumbers: [1, 2], checksumsSha256: { 1: "x" } });

// The element's events are typed on the element, not on every element.
declare const drop: UploadgateDropzone;
drop.addEventListener("upload-complete", (e) => e.detail.record?.status);
drop.addEventListener("upload-progress", (e) => e.detail.percent.toFixed());
drop.addEventListener("click", (e) => e.clientX);
declare const other: HTMLDivElement;
// @ts-expect-error a plain element's unknown event is an Event, without `detail`
other.addEventListener("upload-complete", (e) => e.detail);
const made: UploadgateDropzone = document.createElement("uploadgate-dropzone");
void made;
