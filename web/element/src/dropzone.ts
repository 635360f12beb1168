// <uploadgate-dropzone server="https://uploads.example.com" profile="avatars">:
// a drop zone that is also a button, and the list of its uploads, in an open
// shadow root (style it with ::part). The token comes from the `token`
// property: a string or a function that gives the current one.

import { STATE_LABELS, Uploadgate, type Upload } from "@uploadgate/client";

import type { UploadgateEventDetail, UploadgateEventMap } from "./events";

type TokenSource = string | (() => string | Promise<string>);

const TEMPLATE = `
<style>
  :host { display: block; }
  :host([disabled]) [part~="zone"] { opacity: 0.5; cursor: not-allowed; }
  [part~="zone"] { border: 2px dashed currentColor; padding: 1.5rem; text-align: center; cursor: pointer; }
  [part~="zone"][data-dragging] { border-style: solid; }
  [part~="zone"]:focus-visible { outline: 2px solid; outline-offset: 2px; }
  ul { list-style: none; padding: 0; }
</style>
<div part="zone" role="button" tabindex="0"><slot>Drop files here, or choose files</slot></div>
<input type="file" hidden tabindex="-1">
<ul part="list" aria-live="polite"></ul>
`;

type Listener<K extends keyof UploadgateEventMap> = (this: UploadgateDropzone, event: UploadgateEventMap[K]) => unknown;

// Typed overloads merged into the class below, as `Upload` has them.
export interface UploadgateDropzone {
  addEventListener<K extends keyof UploadgateEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: UploadgateDropzone, event: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof UploadgateEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "uploadgate-dropzone": UploadgateDropzone;
  }
}

// Importing this on a server (server-side rendering) must not throw.
const Base: typeof HTMLElement = globalThis.HTMLElement ?? (class {} as typeof HTMLElement);

export class UploadgateDropzone extends Base {
  static readonly observedAttributes = ["accept", "multiple", "disabled", "server", "parallel"];

  #token: TokenSource | undefined;
  #client: Uploadgate | undefined;
  /** The client made from `server` and `token`, remade when `server` or `parallel` change. */
  #made: Uploadgate | undefined;
  readonly #uploads: Upload[] = [];
  #root: ShadowRoot | undefined;

  /** The bearer token, or a function giving the current one (called before every API request). */
  get token(): TokenSource | undefined {
    return this.#token;
  }
  set token(value: TokenSource | undefined) {
    this.#token = value;
  }

  /** A client made elsewhere; otherwise one is made from `server` and `token`. */
  get client(): Uploadgate | undefined {
    return this.#client;
  }
  set client(value: Uploadgate | undefined) {
    this.#client = value;
  }

  connectedCallback(): void {
    // Set on the element before it was defined (a framework, or a script that
    // ran first), these are own properties that hide the accessors: move them.
    for (const name of ["token", "client"] as const) {
      if (Object.prototype.hasOwnProperty.call(this, name)) {
        const value = this[name];
        delete (this as Partial<Pick<this, typeof name>>)[name];
        (this as Record<typeof name, unknown>)[name] = value;
      }
    }
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: "open" });
    this.#root.innerHTML = TEMPLATE;
    const zone = this.#zone();
    const input = this.#input();
    this.#applyAttributes();
    zone.addEventListener("click", () => this.open());
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.open();
      }
    });
    zone.addEventListener("dragenter", (event) => {
      event.preventDefault();
      zone.toggleAttribute("data-dragging", true);
    });
    zone.addEventListener("dragover", (event) => event.preventDefault());
    zone.addEventListener("dragleave", () => zone.removeAttribute("data-dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.removeAttribute("data-dragging");
      const files = Array.from(event.dataTransfer?.files ?? []);
      this.add(this.hasAttribute("multiple") ? files : files.slice(0, 1));
    });
    input.addEventListener("change", () => {
      const files = Array.from(input.files ?? []);
      // Picking the same file again must fire `change` again.
      input.value = "";
      this.add(files);
    });
  }

  attributeChangedCallback(name: string): void {
    if (name === "server" || name === "parallel") this.#made = undefined;
    if (this.#root) this.#applyAttributes();
  }

  /** Opens the file picker. */
  open(): void {
    if (!this.hasAttribute("disabled")) this.#input().click();
  }

  /** Uploads `files`, each in a row of its own; returns their uploads. The element must be in the document. */
  add(files: Iterable<File | Blob>): Upload[] {
    if (!this.#root) throw new Error("<uploadgate-dropzone> uploads once it is in the document");
    if (this.hasAttribute("disabled")) return [];
    const client = this.#clientNow();
    const profile = this.getAttribute("profile") ?? undefined;
    return Array.from(files, (file) => {
      const upload = client.upload(file, { profile });
      this.#uploads.push(upload);
      this.#track(upload);
      return upload;
    });
  }

  /** Every upload this element started, oldest first. */
  get uploads(): readonly Upload[] {
    return this.#uploads;
  }

  #clientNow(): Uploadgate {
    if (this.#client) return this.#client;
    this.#made ??= new Uploadgate({
      baseUrl: this.getAttribute("server") ?? location.origin,
      // Read on every request, so that a token set later (or refreshed) is used;
      // without one, each upload fails and says why.
      token: () => {
        // Never from an attribute: a bearer token does not belong in markup.
        const current = this.#token;
        if (!current) throw new Error("<uploadgate-dropzone> has no token: set its `token` property");
        return typeof current === "function" ? current() : current;
      },
      parallel: Number(this.getAttribute("parallel")) || undefined,
    });
    return this.#made;
  }

  #track(upload: Upload): void {
    const row = document.createElement("li");
    row.setAttribute("part", "item");
    const name = document.createElement("span");
    name.setAttribute("part", "name");
    name.textContent = nameOf(upload);
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.setAttribute("aria-label", `${nameOf(upload)} progress`);
    const status = document.createElement("span");
    status.setAttribute("part", "status");
    const alert = document.createElement("span");
    alert.setAttribute("part", "error");
    alert.setAttribute("role", "alert");
    const pause = button("Pause", nameOf(upload), () => upload.pause());
    const resume = button("Resume", nameOf(upload), () => upload.resume());
    const cancel = button("Cancel", nameOf(upload), () => void upload.cancel());
    row.append(name, " ", progress, " ", status, " ", alert, pause, resume, cancel);
    this.#root!.querySelector("ul")!.append(row);

    const render = () => {
      const { state } = upload;
      const detail = this.#detail(upload);
      row.dataset.state = state;
      row.dataset.percent = String(detail.percent);
      if (upload.resumedBytes > 0) row.dataset.resumed = String(upload.resumedBytes);
      if (upload.record) row.dataset.uploadId = upload.record.id;
      progress.value = detail.percent;
      const running = state === "uploading" || state === "paused";
      status.textContent = STATE_LABELS[state] + (running ? ` ${detail.percent}%` : "");
      const why = state === "rejected" ? upload.record?.rejectReason : state === "failed" ? upload.error?.message : "";
      alert.textContent = why ?? "";
      alert.hidden = !why;
      pause.hidden = state !== "uploading";
      resume.hidden = state !== "paused";
      cancel.hidden = !(state === "idle" || running);
    };
    upload.addEventListener("progress", () => {
      render();
      this.#emit("upload-progress", upload);
    });
    upload.addEventListener("statechange", render);
    render();
    this.#emit("upload-start", upload);
    upload.start().then(
      (record) => {
        if (record.status === "completed") this.#emit("upload-complete", upload, { record });
        else this.#emit("upload-error", upload, { record, error: new Error(record.rejectReason ?? "rejected") });
      },
      (error: Error) => {
        if (upload.state !== "canceled") this.#emit("upload-error", upload, { error });
      },
    );
  }

  #detail(upload: Upload): UploadgateEventDetail {
    return { upload, name: nameOf(upload), loaded: upload.loaded, total: upload.total, percent: upload.percent };
  }

  #emit(type: string, upload: Upload, extra: Partial<UploadgateEventDetail> = {}): void {
    const detail = { ...this.#detail(upload), ...extra };
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #applyAttributes(): void {
    const input = this.#input();
    input.accept = this.getAttribute("accept") ?? "";
    input.multiple = this.hasAttribute("multiple");
    const zone = this.#zone();
    const disabled = this.hasAttribute("disabled");
    zone.tabIndex = disabled ? -1 : 0;
    if (disabled) zone.setAttribute("aria-disabled", "true");
    else zone.removeAttribute("aria-disabled");
  }

  #zone(): HTMLElement {
    return this.#root!.querySelector('[part~="zone"]')!;
  }

  #input(): HTMLInputElement {
    return this.#root!.querySelector("input")!;
  }
}

/** Registers the element as `<uploadgate-dropzone>` (once; later calls do nothing). */
export function defineUploadgateDropzone(name = "uploadgate-dropzone"): void {
  if (globalThis.customElements && !customElements.get(name)) customElements.define(name, UploadgateDropzone);
}

function nameOf(upload: Upload): string {
  return upload.file.name || "file";
}

function button(label: string, name: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.setAttribute("aria-label", `${label} ${name}`);
  element.setAttribute("part", `button ${label.toLowerCase()}`);
  element.hidden = true;
  element.addEventListener("click", onClick);
  return element;
}
