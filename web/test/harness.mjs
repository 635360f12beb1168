// The real parts for browser tests: the `uploadgate` binary (zero config, its
// embedded store and SQLite in a temp dir) and Debian's Chromium through
// playwright-core. Nothing is mocked.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { extname, join } from "node:path";
import * as esbuild from "esbuild";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { deflateSync, crc32 } from "node:zlib";
import { chromium } from "playwright-core";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const ARTIFACTS = new URL("../test-results/", import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

/** A free loopback port (for origins that must be known before start). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * Starts `uploadgate serve` on `port` (0: any) with `topToml` (top-level keys)
 * and `extraToml` (sections). Resolves with
 * its API URL, page link (with token), token, and a `stop()`.
 */
export async function startServer({ port = 0, topToml = "", extraToml = "" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "uploadgate-web-"));
  const config = join(dir, "uploadgate.toml");
  writeFileSync(
    config,
    `listen = "127.0.0.1:${port}"\ndata_dir = ${JSON.stringify(join(dir, "data"))}\n${topToml}` +
      `[store]\nlisten = "127.0.0.1:0"\n[workers]\npoll_interval = "100ms"\n${extraToml}`,
  );
  const binary = process.env.UPLOADGATE_BIN ?? join(ROOT, "target/debug/uploadgate");
  const child = spawn(binary, ["--config", config, "serve", "--demo-token"], { stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stderr.on("data", (chunk) => (logs += chunk));
  const lines = createInterface({ input: child.stdout });
  const found = {};
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`uploadgate did not start:\n${logs}`)), 30_000);
    child.on("exit", (code) => reject(new Error(`uploadgate exited with ${code}:\n${logs}`)));
    lines.on("line", (line) => {
      const match = (prefix) => (line.startsWith(prefix) ? line.slice(prefix.length).trim() : undefined);
      found.api ??= match("uploadgate is listening on ");
      found.token ??= match("  export TOKEN=");
      found.page ??= match("upload page: ");
      if (found.api && found.token && found.page) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    ...found,
    logs: () => logs,
    /** A new API key with `scopes`, made by `uploadgate keys create` as an operator would. */
    apiKey(name, scopes) {
      const args = ["--config", config, "keys", "create", "--name", name, ...scopes.flatMap((s) => ["--scope", s])];
      return execFileSync(binary, args, { encoding: "utf8" }).trim();
    },
    /** `GET path` on API v1 with the demo token. */
    async get(path) {
      const response = await fetch(found.api + path, { headers: { authorization: `Bearer ${found.token}` } });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    /** `POST path` on API v1 with the demo token and an empty JSON body. */
    async post(path) {
      const response = await fetch(found.api + path, {
        method: "POST",
        headers: { authorization: `Bearer ${found.token}`, "content-type": "application/json" },
        body: "{}",
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    stop() {
      child.kill("SIGTERM");
    },
  };
}

const UPPY_DIR = new URL("../uppy/", import.meta.url);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

/**
 * Bundles the Uppy page (Uppy's published packages, `web/uppy/`) with esbuild
 * and serves it on loopback `port`. Resolves with its origin and a `close()`.
 */
export async function startUppySite(port) {
  await esbuild.build({
    entryPoints: [new URL("main.js", UPPY_DIR).pathname],
    bundle: true,
    format: "esm",
    outdir: new URL("dist/", UPPY_DIR).pathname,
    logLevel: "warning",
  });
  const origin = `http://127.0.0.1:${port}`;
  const site = createHttpServer(async (request, response) => {
    const path = new URL(request.url, origin).pathname.replace(/^\/+/, "") || "index.html";
    try {
      const body = await readFile(new URL(path, UPPY_DIR));
      response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => site.listen(port, "127.0.0.1", resolve));
  return { origin, close: () => site.close() };
}

/** Headless Chromium from Debian (no browser download). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

/** A real RGB PNG of `width` x `height` pixels. */
export function png(width, height) {
  const chunk = (type, data) => {
    const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows[at] = (x * 255) / width;
      rows[at + 1] = (y * 255) / height;
      rows[at + 2] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Writes `bytes` to a file named `name` in a fresh temp dir; returns its path. */
export function tempFile(name, bytes) {
  const path = join(mkdtempSync(join(tmpdir(), "uploadgate-file-")), name);
  writeFileSync(path, bytes);
  return path;
}

/** Bytes that do not compress or repeat (so parts differ). */
export function noise(size) {
  const bytes = Buffer.alloc(size);
  let x = 2463534242;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes.writeUInt32LE(x >>> 0, i);
  }
  return bytes;
}

/** Polls `check` until it returns something truthy. */
export async function eventually(check, { timeoutMs = 30_000, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The part number a presigned part URL is for; undefined for other requests. */
export function partNumber(url) {
  const value = new URL(url).searchParams.get("partNumber");
  return value === null ? undefined : Number(value);
}

/**
 * Lets the first `count` part requests of `page` through and holds the rest,
 * as a page closed mid-upload leaves them. After `reloaded()` the held ones
 * die and every later part request goes through, its number in `afterReload`.
 */
export async function holdPartsAfter(page, count) {
  const passed = new Set();
  const held = [];
  const gate = { afterReload: [], reloading: false };
  await page.route(
    (url) => partNumber(url.href) !== undefined,
    async (route) => {
      const n = partNumber(route.request().url());
      if (gate.reloading) {
        gate.afterReload.push(n);
        return route.continue();
      }
      if (passed.size < count && !passed.has(n)) {
        passed.add(n);
        return route.continue();
      }
      held.push(route);
    },
  );
  gate.reloaded = async () => {
    gate.reloading = true;
    for (const route of held) await route.abort().catch(() => undefined);
  };
  return gate;
}
