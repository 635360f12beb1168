// Uppy's published packages (@uppy/core, @uppy/aws-s3, @uppy/dashboard),
// bundled here with esbuild, with `companionEndpoint` pointed at uploadgate:
// one file through the POST-form path, one in parts.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, freePort, launchBrowser, startServer, startUppySite } from "./harness.mjs";

let server;
let browser;
let site;
let siteOrigin;

before(async () => {
  const [apiPort, sitePort] = [await freePort(), await freePort()];
  site = await startUppySite(sitePort);
  siteOrigin = site.origin;
  server = await startServer({
    port: apiPort,
    topToml: `cors_origins = ["http://127.0.0.1:${apiPort}", "${siteOrigin}"]\n`,
    extraToml: `[profiles.default]\ncontent_types = ["application/octet-stream"]\nmax_size = "20MiB"\n`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
  site?.close();
});

test("Uppy uploads a small file by POST form and another in parts, both verified", async () => {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.error("page error:", error));
  const companion = `${server.api}/companion/${server.token}`;
  await page.goto(`${siteOrigin}/index.html?companion=${encodeURIComponent(companion)}`);
  await page.waitForFunction(() => window.uppy !== undefined);
  const result = await page.evaluate(async () => {
    const bytes = (size, seed) => {
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
      return out;
    };
    const type = "application/octet-stream";
    window.uppy.addFile({ name: "small.bin", type, data: new Blob([bytes(100_000, 1)], { type }) });
    window.uppy.addFile({ name: "big.parts.bin", type, data: new Blob([bytes(7 * 1024 * 1024, 2)], { type }) });
    const outcome = await window.uppy.upload();
    return {
      successful: outcome.successful.map((f) => f.name).sort(),
      failed: outcome.failed.map((f) => `${f.name}: ${f.error}`),
    };
  });
  await page.screenshot({ path: `${ARTIFACTS}uppy.png`, fullPage: true });
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.successful, ["big.parts.bin", "small.bin"]);

  const list = await server.get("/v1/uploads");
  const byName = Object.fromEntries(list.items.map((u) => [u.filename, u]));
  // Uppy does not report a form upload back: it waits, recorded, until the
  // application completes it through API v1 (or a storage event does).
  assert.equal(byName["small.bin"]?.status, "pending", JSON.stringify(list));
  const completed = await server.post(`/v1/uploads/${byName["small.bin"].id}/complete`);
  assert.equal(completed.status, "completed", JSON.stringify(completed));
  assert.equal(completed.size, 100_000);
  assert.equal(byName["big.parts.bin"]?.status, "completed", JSON.stringify(list));
  assert.equal(byName["big.parts.bin"].size, 7 * 1024 * 1024);
  // Sent in parts: the record keeps the multipart upload's traces.
  const big = await server.get(`/v1/uploads/${byName["big.parts.bin"].id}`);
  assert.equal(big.status, "completed");
  await page.close();
});
