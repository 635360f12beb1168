// The page `uploadgate serve` shows at `/`, in a real Chromium, against the
// real binary and its embedded store.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, eventually, holdPartsAfter, launchBrowser, noise, partNumber, png, startServer, tempFile } from "./harness.mjs";

const MiB = 1024 * 1024;
const PROFILE = `[profiles.default]
content_types = ["image/png", "image/jpeg", "application/octet-stream"]
max_size = "100MiB"
multipart_threshold = "5MiB"
part_size = "5MiB"
processors = ["sniff", "metadata", "thumbnail"]
`;

let server;
let browser;

before(async () => {
  server = await startServer({ extraToml: PROFILE });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(server.page);
  return page;
}

/** Limits the page's upload bandwidth (Chromium's network emulation). */
async function throttleUploads(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

test("the printed link signs in and leaves no token in the address bar", async () => {
  const page = await openPage();
  assert.equal(new URL(page.url()).search, "");
  await page.locator("#who", { hasText: "signed in as demo" }).waitFor();
  const headers = (await page.request.get(server.api + "/")).headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.equal(headers["referrer-policy"], "no-referrer");
  // A reload keeps the session (the token moved to session storage).
  await page.reload();
  await page.locator("#who", { hasText: "signed in as demo" }).waitFor();
  await page.close();
});

test("a small image uploads, is listed as completed and gets a thumbnail", async () => {
  const page = await openPage();
  await page.setInputFiles("#files", tempFile("pixel-art.png", png(320, 200)));
  await page.locator('#queue li[data-state="completed"]').waitFor();
  const row = page.locator('#uploads li[data-status="completed"]', { hasText: "pixel-art.png" });
  await row.waitFor();
  await row.locator("img.thumb").waitFor({ timeout: 30_000 });
  const id = await row.getAttribute("data-id");
  const record = await server.get(`/v1/uploads/${id}`);
  assert.equal(record.status, "completed");
  assert.equal(record.processing.state, "ready");
  assert.equal(record.processing.width, 320);
  await page.screenshot({ path: `${ARTIFACTS}after-upload.png`, fullPage: true });
  await page.close();
});

test("a 40 MiB file goes in parts and its progress climbs to 100", async () => {
  const page = await openPage();
  // Slow the link so progress is visible between parts.
  await throttleUploads(page, 10 * MiB);
  await page.evaluate(() => {
    window.__percents = [];
    new MutationObserver(() => {
      const item = document.querySelector("#queue li");
      if (item?.dataset.percent) window.__percents.push(Number(item.dataset.percent));
    }).observe(document.querySelector("#queue"), { subtree: true, attributes: true, childList: true });
  });
  const parts = new Set();
  page.on("request", (request) => {
    const n = partNumber(request.url());
    if (n !== undefined && request.method() === "PUT") parts.add(n);
  });
  await page.setInputFiles("#files", tempFile("big.bin", noise(40 * MiB)));
  await eventually(() => page.evaluate(() => window.__percents.some((p) => p >= 30 && p < 90)), {
    what: "progress past 30%",
  });
  await page.screenshot({ path: `${ARTIFACTS}mid-upload.png`, fullPage: true });
  await page.locator('#queue li[data-state="completed"]').waitFor({ timeout: 60_000 });
  const percents = await page.evaluate(() => window.__percents);
  assert.equal(percents.at(-1), 100);
  assert.ok(percents.filter((p) => p > 0 && p < 100).length >= 5, `few progress steps: ${percents}`);
  for (let i = 1; i < percents.length; i++) assert.ok(percents[i] >= percents[i - 1], `progress went back: ${percents}`);
  assert.deepEqual([...parts].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
  const list = await server.get("/v1/uploads?limit=1");
  assert.equal(list.items[0].filename, "big.bin");
  assert.equal(list.items[0].status, "completed");
  assert.equal(list.items[0].size, 40 * MiB);
  await page.close();
});

test("after a reload mid-upload, picking the same file sends only the missing parts", async () => {
  const page = await openPage();
  const path = tempFile("resume-me.bin", noise(40 * MiB));
  // Three parts go through, the rest are held: the page is reloaded meanwhile.
  const parts = await holdPartsAfter(page, 3);
  await page.setInputFiles("#files", path);
  const id = await eventually(async () => {
    const list = await server.get("/v1/uploads?limit=1");
    const upload = list.items[0];
    if (upload?.filename !== "resume-me.bin") return undefined;
    const record = await server.get(`/v1/uploads/${upload.id}`);
    return record.uploadedParts?.length === 3 ? upload.id : undefined;
  }, { what: "three parts in storage" });

  // Reload with parts still held: their requests die with the page.
  await page.reload();
  await parts.reloaded();
  // What storage holds now is what must not be sent again.
  const stored = (await server.get(`/v1/uploads/${id}`)).uploadedParts.map((p) => p.partNumber);
  assert.ok(stored.length >= 3 && stored.length < 8, `stored: ${stored}`);
  await page.setInputFiles("#files", path);
  const item = page.locator('#queue li[data-state="completed"]');
  await item.waitFor({ timeout: 60_000 });

  const record = await server.get(`/v1/uploads/${id}`);
  assert.equal(record.status, "completed", "the same upload completed");
  const resent = parts.afterReload.filter((n) => stored.includes(n));
  assert.deepEqual(resent, [], `parts storage held were sent again: ${resent}`);
  assert.deepEqual(
    [...new Set([...stored, ...parts.afterReload])].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.equal(await item.getAttribute("data-resumed"), String(stored.length * 5 * MiB));
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await page.close();
});

test("pause holds the bytes, resume finishes, cancel aborts on the server", async () => {
  const page = await openPage();
  await throttleUploads(page, 5 * MiB);
  await page.setInputFiles("#files", tempFile("pausable.bin", noise(20 * MiB)));
  const item = page.locator("#queue li", { hasText: "pausable.bin" });
  await eventually(async () => Number(await item.getAttribute("data-percent")) >= 10, { what: "10%" });
  await item.getByRole("button", { name: "Pause pausable.bin" }).click();
  await eventually(async () => (await item.getAttribute("data-state")) === "paused", { what: "paused" });
  const atPause = Number(await item.getAttribute("data-percent"));
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(Number(await item.getAttribute("data-percent")) <= atPause, "bytes kept flowing while paused");
  await item.getByRole("button", { name: "Resume pausable.bin" }).click();
  await page.locator('#queue li[data-state="completed"]', { hasText: "pausable.bin" }).waitFor({ timeout: 60_000 });

  await page.setInputFiles("#files", tempFile("cancel-me.bin", noise(20 * MiB)));
  const doomed = page.locator("#queue li", { hasText: "cancel-me.bin" });
  await eventually(async () => Number(await doomed.getAttribute("data-percent")) >= 5, { what: "5%" });
  await doomed.getByRole("button", { name: "Cancel cancel-me.bin" }).click();
  await eventually(async () => (await doomed.getAttribute("data-state")) === "canceled", { what: "canceled" });
  const aborted = await eventually(async () => {
    const list = await server.get("/v1/uploads?limit=5");
    return list.items.find((u) => u.filename === "cancel-me.bin" && u.status === "aborted");
  }, { what: "the server to record the abort" });
  assert.equal(aborted.status, "aborted");
  await page.close();
});

test("storage errors are retried and a refused part URL is signed again", async () => {
  const page = await openPage();
  const failures = new Map([[2, 503], [3, 403]]);
  // What the page did, in order: "sign N" when it asked for part N's URL,
  // "put N" when it sent part N to storage.
  const steps = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/parts")) {
      for (const n of request.postDataJSON().partNumbers) steps.push(`sign ${n}`);
    }
    const n = partNumber(request.url());
    if (request.method() === "PUT" && n !== undefined) steps.push(`put ${n}`);
  });
  await page.route(
    (url) => partNumber(url.href) !== undefined,
    async (route) => {
      const n = partNumber(route.request().url());
      const status = failures.get(n);
      if (status) {
        failures.delete(n);
        await route.fulfill({ status, body: "<Error><Code>Injected</Code></Error>", headers: { "access-control-allow-origin": "*" } });
      } else {
        await route.continue();
      }
    },
  );
  await page.setInputFiles("#files", tempFile("flaky.bin", noise(12 * MiB)));
  await page.locator('#queue li[data-state="completed"]', { hasText: "flaky.bin" }).waitFor({ timeout: 60_000 });
  assert.equal(failures.size, 0, "both failures were served");
  const of = (n) => steps.filter((step) => step.endsWith(` ${n}`));
  // Part 2's 503 was sent again; part 3 was signed anew between storage
  // refusing its URL and sending it again, so the refused URL was not reused.
  assert.equal(of(2).filter((step) => step.startsWith("put")).length, 2, `part 2: ${of(2)}`);
  assert.deepEqual(of(3), ["sign 3", "put 3", "sign 3", "put 3"]);
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await page.close();
});

test("a part damaged on its way to storage is refused by its checksum and sent again", async () => {
  const page = await openPage();
  const MiB5 = 5 * MiB;
  let damaged = false;
  const refused = [];
  const sent = [];
  page.on("response", (response) => {
    const n = partNumber(response.url());
    if (n !== undefined && response.request().method() === "PUT") sent.push([n, response.status()]);
    if (n === 2 && response.status() === 400) refused.push(n);
  });
  await page.route(
    (url) => partNumber(url.href) === 2,
    async (route) => {
      if (damaged || route.request().method() !== "PUT") return route.continue();
      damaged = true;
      // Same length, other bytes: only the checksum can tell.
      await route.continue({ postData: Buffer.alloc(MiB5, 0x61) });
    },
  );
  const file = noise(12 * MiB);
  await page.setInputFiles("#files", tempFile("damaged.bin", file));
  await page.locator('#queue li[data-state="completed"]', { hasText: "damaged.bin" }).waitFor({ timeout: 60_000 });
  assert.ok(damaged, "part 2 was damaged once");
  assert.deepEqual(refused, [2], `storage refused the damaged part: ${JSON.stringify(sent)}`);
  assert.equal(sent.filter(([n, status]) => n === 2 && status === 200).length, 1);
  // What storage holds is the file's own bytes.
  const list = await server.get("/v1/uploads?limit=1");
  const link = await server.get(`/v1/uploads/${list.items[0].id}/download`);
  const stored = Buffer.from(await (await fetch(link.url)).arrayBuffer());
  assert.ok(stored.equals(file), "the stored object is the file");
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await page.close();
});

test("a file the profile refuses shows why", async () => {
  const page = await openPage();
  await page.setInputFiles("#files", tempFile("notes.txt", "plain text"));
  const alert = page.locator('#queue li[data-state="failed"] [role="alert"]');
  await alert.waitFor();
  assert.match(await alert.innerText(), /text\/plain is not allowed here/);
  await page.screenshot({ path: `${ARTIFACTS}refused.png`, fullPage: true });
  await page.close();
});

test("the page fits a phone screen and works with the keyboard", async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 740 }, isMobile: true });
  await page.goto(server.page);
  await page.locator("#who", { hasText: "demo" }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  // Tab reaches the file picker, and its drop zone shows focus.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "files");
  const outline = await page.evaluate(() => getComputedStyle(document.querySelector("#drop")).outlineStyle);
  assert.equal(outline, "solid");
  await page.screenshot({ path: `${ARTIFACTS}phone.png`, fullPage: true });
  await page.close();
});
