// The page against Azure Blob Storage (Azurite in CI): the same page and
// client, following the server's instructions to SAS URLs, in blocks, with
// a reload mid-upload, verified byte for byte. Runs when the environment
// names an Azure store (UPLOADGATE_TEST_AZURE_*); skipped otherwise.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, eventually, freePort, launchBrowser, noise, startServer, tempFile } from "./harness.mjs";

const MiB = 1024 * 1024;
const env = (name) => process.env[`UPLOADGATE_TEST_AZURE_${name}`];
// 40 MiB in CI; UPLOADGATE_TEST_AZURE_PAGE_MIB=1024 for the 1 GiB run by hand.
const SIZE = Number(env("PAGE_MIB") ?? 40) * MiB;
const skip = env("ENDPOINT") ? false : "no Azure store in this run (UPLOADGATE_TEST_AZURE_ENDPOINT)";

let server;
let browser;
let setupDir;

before(async () => {
  if (skip) return;
  const port = await freePort();
  const azure =
    `[azure]\naccount = ${JSON.stringify(env("ACCOUNT"))}\nkey = ${JSON.stringify(env("KEY"))}\n` +
    `container = ${JSON.stringify(env("CONTAINER"))}\nendpoint = ${JSON.stringify(env("ENDPOINT"))}\n` +
    `key_prefix = "web-${Date.now()}/"\n`;
  // What an operator does once: the account's CORS rule for the page's origin.
  const dir = (setupDir = mkdtempSync(join(tmpdir(), "uploadgate-azure-")));
  const setup = join(dir, "setup.toml");
  writeFileSync(setup, `listen = "127.0.0.1:${port}"\ndata_dir = ${JSON.stringify(join(dir, "data"))}\n${azure}`);
  const binary = process.env.UPLOADGATE_BIN ?? join(ROOT, "target/debug/uploadgate");
  const said = execFileSync(binary, ["--config", setup, "bucket", "setup"], { encoding: "utf8" });
  assert.match(said, /CORS allows http:\/\/127\.0\.0\.1:/);
  server = await startServer({
    port,
    topToml: "",
    extraToml:
      `${azure}[profiles.default]\ncontent_types = ["application/octet-stream"]\nmax_size = ${SIZE}\n` +
      `multipart_threshold = "5MiB"\npart_size = "5MiB"\n`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
  if (setupDir) rmSync(setupDir, { recursive: true, force: true });
});

/** The block number of a Put Block URL (`comp=block`), undefined for other requests. */
function blockRequest(url) {
  const query = new URL(url).searchParams;
  return query.get("comp") === "block" ? query.get("blockid") : undefined;
}

test(`a ${SIZE / MiB} MiB file goes to Azure in blocks, resumes after a reload and lands byte for byte`, { skip }, async () => {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(server.page);
  const bytes = noise(SIZE);
  const path = tempFile("azure.bin", bytes);
  // Three blocks go through, the rest are held until the page is reloaded.
  const passed = new Set();
  let reloading = false;
  const resent = new Set();
  await page.route(
    (url) => blockRequest(url.href) !== undefined,
    async (route) => {
      const block = blockRequest(route.request().url());
      if (reloading) {
        resent.add(block);
        return route.continue();
      }
      if (passed.size < 3 && !passed.has(block)) {
        passed.add(block);
        return route.continue();
      }
      return undefined; // held: dies with the page
    },
  );
  await page.setInputFiles("#files", path);
  const id = await eventually(async () => {
    const upload = (await server.get("/v1/uploads?limit=1")).items[0];
    if (upload?.filename !== "azure.bin") return undefined;
    const record = await server.get(`/v1/uploads/${upload.id}`);
    return record.uploadedParts?.length === 3 ? upload.id : undefined;
  }, { what: "three blocks in Azure" });
  reloading = true;
  await page.reload();
  await page.setInputFiles("#files", path);
  await page.locator('#queue li[data-state="completed"]').waitFor({ timeout: 90_000 + SIZE / MiB * 1000 });
  for (const block of passed) assert.ok(!resent.has(block), "a block Azure held was sent again");

  const record = await server.get(`/v1/uploads/${id}`);
  assert.equal(record.status, "completed");
  assert.equal(record.size, SIZE);
  const link = await server.get(`/v1/uploads/${id}/download`);
  const response = await fetch(link.url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-disposition") ?? "", /^attachment;/);
  const landed = Buffer.from(await response.arrayBuffer());
  const digest = (b) => createHash("sha256").update(b).digest("hex");
  assert.equal(digest(landed), digest(readFileSync(path)));
  await page.close();
});
