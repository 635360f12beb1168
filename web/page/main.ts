// The page `uploadgate serve` shows at `/`: the browser client, with a face.

import { ApiError, type Upload, type UploadRecord, Uploadgate } from "../src/index";

const TOKEN_KEY = "uploadgate.token";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The printed link carries the token; keep it for this tab and take it out of the address bar (and history). */
function takeToken(): string | null {
  const url = new URL(location.href);
  const fromLink = url.searchParams.get("token");
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The token's user, for the header; the server checks the token, not this. */
function userOf(token: string): string {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.sub === "string" ? payload.sub : "";
  } catch {
    return "";
  }
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function announce(text: string): void {
  $("announce").textContent = text;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

/** Bytes per second over the last few seconds. */
class Rate {
  readonly #samples: [number, number][] = [];
  add(loaded: number): number {
    const now = performance.now();
    this.#samples.push([now, loaded]);
    while (this.#samples.length > 2 && now - this.#samples[0][0] > 3000) this.#samples.shift();
    const [t0, b0] = this.#samples[0];
    return now > t0 ? ((loaded - b0) * 1000) / (now - t0) : 0;
  }
}

/** A message people can act on, from whatever went wrong. */
function explain(error: unknown): string {
  // ApiError's message is the server's problem detail.
  if (error instanceof Error) return error.message;
  return String(error);
}

function showUpload(upload: Upload, onSettled: () => void): void {
  const name = upload.file instanceof File ? upload.file.name : "file";
  const progress = element("progress", { max: 100, value: 0 });
  progress.setAttribute("aria-label", `Upload progress of ${name}`);
  const stats = element("span", { className: "stats" }, "starting");
  const error = element("p", { className: "error" });
  error.setAttribute("role", "alert");
  const pause = element("button", { type: "button", className: "secondary", textContent: "Pause" });
  const cancel = element("button", { type: "button", className: "secondary", textContent: "Cancel" });
  pause.setAttribute("aria-label", `Pause ${name}`);
  cancel.setAttribute("aria-label", `Cancel ${name}`);
  const actions = element("div", { className: "actions" }, pause, cancel);
  const item = element(
    "li",
    { className: "item" },
    element("div", { className: "top" }, element("span", { className: "name" }, name), element("span", { className: "stats" }, formatBytes(upload.total))),
    progress,
    stats,
    error,
    actions,
  );
  item.dataset.filename = name;
  $("queue").prepend(item);

  const rate = new Rate();
  upload.addEventListener("progress", () => {
    const percent = upload.percent;
    progress.value = percent;
    item.dataset.percent = String(percent);
    if (upload.state !== "uploading") return;
    const perSecond = rate.add(upload.loaded);
    const left = perSecond > 0 ? (upload.total - upload.loaded) / perSecond : Infinity;
    item.dataset.resumed = String(upload.resumedBytes);
    const resumed = upload.resumedBytes > 0 ? ` · resumed from ${formatBytes(upload.resumedBytes)}` : "";
    stats.textContent = `${percent}% · ${formatBytes(perSecond)}/s · ${formatDuration(left)} left${resumed}`;
  });
  upload.addEventListener("statechange", () => {
    item.dataset.state = upload.state;
    pause.textContent = upload.state === "paused" ? "Resume" : "Pause";
    pause.setAttribute("aria-label", `${pause.textContent} ${name}`);
    const over = ["completed", "rejected", "failed", "canceled"].includes(upload.state);
    pause.disabled = upload.state === "completing";
    actions.hidden = over;
    if (upload.state === "paused") stats.textContent = `paused at ${progress.value}%`;
    if (upload.state === "completing") stats.textContent = "verifying…";
    if (upload.state === "canceled") stats.textContent = "canceled";
  });
  pause.addEventListener("click", () => (upload.state === "paused" ? upload.resume() : upload.pause()));
  cancel.addEventListener("click", () => void upload.cancel());

  upload
    .start()
    .then((record: UploadRecord) => {
      if (record.status === "completed") {
        stats.textContent = "done: verified";
        stats.classList.add("done");
        announce(`${name} uploaded`);
      } else {
        error.textContent = `Refused after upload: ${record.rejectReason ?? "it did not match what was declared"}`;
        stats.textContent = "rejected";
      }
    })
    .catch((reason: unknown) => {
      if (upload.state === "canceled") return;
      error.textContent = explain(reason);
      stats.textContent = "failed";
      announce(`${name} failed: ${explain(reason)}`);
    })
    .finally(onSettled);
}

function badge(text: string): HTMLElement {
  return element("span", { className: `badge ${text}` }, text);
}

async function refreshList(gate: Uploadgate): Promise<boolean> {
  const list = await gate.api.list({ limit: 50 });
  const container = $("uploads");
  container.replaceChildren();
  $("empty").hidden = list.items.length > 0;
  let busy = false;
  for (const record of list.items) {
    const processing = record.processing;
    if (processing?.state === "processing") busy = true;
    const thumbnail = processing?.thumbnails?.[0];
    const thumb = thumbnail?.url
      ? element("img", { className: "thumb", src: thumbnail.url, alt: "", width: 64, height: 64, loading: "lazy" })
      : element("span", { className: "thumb" }, record.contentType.split("/")[1] ?? "");
    const facts = element(
      "div",
      {},
      element("div", { className: "name" }, record.filename),
      element("div", { className: "stats" }, `${record.size ? formatBytes(record.size) : ""} `, badge(record.status), " ", processing ? badge(processing.state) : ""),
    );
    if (record.rejectReason) facts.append(element("p", { className: "error" }, record.rejectReason));
    const actions = element("div", { className: "actions" });
    if (record.status === "completed" && processing?.state !== "quarantined") {
      const download = element("button", { type: "button", className: "secondary", textContent: "Download" });
      download.setAttribute("aria-label", `Download ${record.filename}`);
      download.addEventListener("click", async () => {
        const link = await gate.api.downloadLink(record.id);
        location.assign(link.url);
      });
      actions.append(download);
    }
    const row = element("li", { className: "upload" }, thumb, facts, actions);
    row.dataset.id = record.id;
    row.dataset.status = record.status;
    container.append(row);
  }
  return busy;
}

function start(token: string): void {
  const gate = new Uploadgate({ baseUrl: location.origin, token });
  const user = userOf(token);
  $("who").textContent = user ? `signed in as ${user}` : "";
  $("uploader").hidden = false;
  $("history").hidden = false;

  let polling: number | undefined;
  const refresh = () =>
    refreshList(gate)
      .then((busy) => {
        // Post-processing (thumbnails, scan) finishes after the upload: look again.
        clearTimeout(polling);
        if (busy) polling = window.setTimeout(refresh, 1500);
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          location.reload();
        }
      });
  void refresh();
  $("refresh").addEventListener("click", () => void refresh());

  const add = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) showUpload(gate.upload(file), () => void refresh());
  };
  const input = $<HTMLInputElement>("files");
  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    add(event.dataTransfer?.files ?? null);
  });
}

const token = takeToken();
if (token) {
  start(token);
} else {
  const form = $<HTMLFormElement>("token-form");
  form.hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $<HTMLInputElement>("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    form.hidden = true;
    start(value);
  });
}
