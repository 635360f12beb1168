// The example apps under ../../examples, as a user would run them: the three
// packages packed with `npm pack`, installed from those tarballs into a copy
// of each example, the React one built with Vite, each served by the example
// backend (which mints upload tokens with an API key), against the real
// `uploadgate serve`, in headless Chromium.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { ARTIFACTS, eventually, freePort, holdPartsAfter, launchBrowser, noise, png, startServer, tempFile } from "./harness.mjs";

const MiB = 1024 * 1024;
const WEB = new URL("..", import.meta.url).pathname;
const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;
const PROFILE = `[profiles.default]
content_types = ["image/png", "application/octet-stream"]
max_size = "100MiB"
multipart_threshold = "5MiB"
part_size = "5MiB"
`;

let server;
let browser;
let workspace;
const backends = [];
const sites = {};

/** A copy of the examples with the packed packages installed, as a user's checkout would have. */
function prepareWorkspace() {
  execFileSync("node", ["pack.mjs"], { cwd: WEB, stdio: "ignore" });
  const dir = mkdtempSync(join(tmpdir(), "uploadgate-examples-"));
  cpSync(EXAMPLES, dir, {
    recursive: true,
    filter: (source) => !/\/(node_modules|dist)(\/|$)/.test(source),
  });
  for (const example of ["react-vite", "html"]) {
    execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: join(dir, example),
      stdio: ["ignore", "ignore", "inherit"],
    });
    // Every @uploadgate package came from the tarballs, none from a registry.
    const installed = JSON.parse(readFileSync(join(dir, example, "node_modules/.package-lock.json"), "utf8")).packages;
    for (const [path, entry] of Object.entries(installed)) {
      if (path.includes("@uploadgate/")) assert.match(entry.resolved, /^file:/, `${example}: ${path} from ${entry.resolved}`);
    }
  }
  // The React example type-checks against the packed types, then builds.
  execFileSync("npm", ["run", "build", "--silent"], { cwd: join(dir, "react-vite"), stdio: ["ignore", "ignore", "inherit"] });
  return dir;
}

/** Starts ../../examples/backend.mjs serving `dir` on `port`. */
async function startBackend(dir, port, apiKey) {
  const child = spawn("node", [join(workspace, "backend.mjs"), dir, String(port)], {
    env: { ...process.env, UPLOADGATE_URL: server.api, UPLOADGATE_API_KEY: apiKey },
    stdio: ["ignore", "pipe", "inherit"],
  });
  backends.push(child);
  await new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`the example backend exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => line.startsWith("example on") && resolve());
  });
  return `http://127.0.0.1:${port}/`;
}

before(async () => {
  workspace = prepareWorkspace();
  const ports = { api: await freePort(), react: await freePort(), html: await freePort(), tutorial: await freePort() };
  const origins = ["react", "html", "tutorial"].map((name) => `"http://127.0.0.1:${ports[name]}"`).join(", ");
  server = await startServer({ port: ports.api, topToml: `cors_origins = [${origins}]\n`, extraToml: PROFILE });
  const apiKey = server.apiKey("examples", ["tokens", "uploads"]);
  sites.react = await startBackend(join(workspace, "react-vite/dist"), ports.react, apiKey);
  sites.html = await startBackend(join(workspace, "html"), ports.html, apiKey);
  sites.tutorial = await startBackend(join(workspace, "tutorial"), ports.tutorial, apiKey);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const child of backends) child.kill();
  server?.stop();
});

const APPS = {
  react: { input: (page) => page.locator('input[type="file"]').first() },
  html: { input: (page) => page.locator('uploadgate-dropzone input[type="file"]') },
};

async function open(app) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on("pageerror", (error) => console.error(`${app} page error:`, error));
  await page.goto(sites[app]);
  await page.locator("h1").waitFor();
  return page;
}

async function throttle(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
}

async function latest(filename) {
  const list = await server.get("/v1/uploads?limit=20");
  return list.items.find((upload) => upload.filename === filename);
}

for (const [app, { input }] of Object.entries(APPS)) {
  test(`${app}: a picked file's progress climbs to 100 and its record is completed and verified`, async () => {
    const page = await open(app);
    await throttle(page, 8 * MiB);
    const name = `${app}-photo.bin`;
    await input(page).setInputFiles(tempFile(name, noise(12 * MiB)));
    const row = page.locator("li[data-state]", { hasText: name });
    const percents = [];
    for (const deadline = Date.now() + 60_000; ; ) {
      const [state, percent] = await Promise.all([row.getAttribute("data-state"), row.getAttribute("data-percent")]);
      if (percent !== null) percents.push(Number(percent));
      if (state === "completed" || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(percents.at(-1), 100);
    assert.ok(percents.some((p) => p > 0 && p < 100), `no progress between 0 and 100: ${percents}`);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i] >= percents[i - 1], `progress went back: ${percents}`);
    const verified = page.locator('#verified li[data-status="completed"]', { hasText: name });
    await verified.waitFor();
    const record = await server.get(`/v1/uploads/${await verified.getAttribute("data-id")}`);
    assert.equal(record.status, "completed");
    assert.equal(record.size, 12 * MiB);
    assert.equal(record.filename, name);
    await page.screenshot({ path: `${ARTIFACTS}example-${app}.png`, fullPage: true });
    await page.close();
  });

  test(`${app}: pause holds the bytes and resume finishes`, async () => {
    const page = await open(app);
    await throttle(page, 4 * MiB);
    const name = `${app}-pausable.bin`;
    await input(page).setInputFiles(tempFile(name, noise(16 * MiB)));
    const row = page.locator("li[data-state]", { hasText: name });
    await eventually(async () => Number(await row.getAttribute("data-percent")) >= 10, { what: "10%" });
    await row.getByRole("button", { name: `Pause ${name}` }).click();
    await eventually(async () => (await row.getAttribute("data-state")) === "paused", { what: "paused" });
    const atPause = Number(await row.getAttribute("data-percent"));
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(Number(await row.getAttribute("data-percent")) <= atPause, "bytes kept flowing while paused");
    await row.getByRole("button", { name: `Resume ${name}` }).click();
    await page.locator('li[data-state="completed"]', { hasText: name }).waitFor({ timeout: 60_000 });
    assert.equal((await latest(name)).status, "completed");
    await page.close();
  });

  test(`${app}: the drop zone is reached with Tab and opens the picker with Enter or Space`, async () => {
    const page = await open(app);
    const zone = app === "html" ? page.locator('uploadgate-dropzone [part~="zone"]') : page.locator('[role="button"][aria-controls]');
    // Whether Chromium then shows a dialog depends on its activation rules, not
    // on the zone; what the zone owes is a click on its file input.
    await input(page).evaluate((element) => element.addEventListener("click", () => (window.__picked = (window.__picked ?? 0) + 1)));
    for (const [n, key] of [[1, "Enter"], [2, " "]]) {
      await zone.evaluate((element) => element.blur());
      await page.locator("h1").click();
      await page.keyboard.press("Tab");
      assert.equal(await zone.evaluate((element) => element === (element.getRootNode().activeElement ?? document.activeElement)), true, "Tab did not reach the zone");
      await page.keyboard.press(key);
      await eventually(() => page.evaluate((count) => window.__picked === count, n), { timeoutMs: 5000, what: `the picker after ${JSON.stringify(key)}` });
    }
    assert.equal(await input(page).evaluate((element) => element.multiple), true);
    await page.close();
  });

  test(`${app}: a file the profile refuses shows why`, async () => {
    const page = await open(app);
    await input(page).setInputFiles(tempFile(`${app}-notes.txt`, "plain text"));
    const alert = page.locator('li[data-state="failed"] [role="alert"]', { hasText: "not allowed" });
    await alert.waitFor();
    assert.match(await alert.innerText(), /text\/plain is not allowed here/);
    await page.close();
  });

  test(`${app}: after a reload mid-upload, the same file sends only the missing parts`, async () => {
    const page = await open(app);
    const name = `${app}-resume-me.bin`;
    const path = tempFile(name, noise(30 * MiB));
    const parts = await holdPartsAfter(page, 2);
    await input(page).setInputFiles(path);
    const id = await eventually(async () => {
      const upload = await latest(name);
      if (!upload) return undefined;
      const record = await server.get(`/v1/uploads/${upload.id}`);
      return record.uploadedParts?.length === 2 ? upload.id : undefined;
    }, { what: "two parts in storage" });
    await page.reload();
    await page.locator("h1").waitFor();
    await parts.reloaded();
    const stored = (await server.get(`/v1/uploads/${id}`)).uploadedParts.map((p) => p.partNumber);
    await input(page).setInputFiles(path);
    const row = page.locator('li[data-state="completed"]', { hasText: name });
    await row.waitFor({ timeout: 60_000 });
    assert.equal((await server.get(`/v1/uploads/${id}`)).status, "completed", "the same upload completed");
    assert.deepEqual(parts.afterReload.filter((n) => stored.includes(n)), [], "parts storage held were sent again");
    assert.deepEqual([...new Set([...stored, ...parts.afterReload])].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
    assert.equal(await row.getAttribute("data-resumed"), String(stored.length * 5 * MiB));
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.close();
  });
}

test("react: useUpload drives the app's own avatar control", async () => {
  const page = await open("react");
  await page.locator("#avatar").getByRole("button", { name: "Choose an avatar" }).waitFor();
  await page.locator('#avatar input[type="file"]').setInputFiles(tempFile("me.png", png(64, 64)));
  await page.locator('#avatar[data-state="completed"]').waitFor();
  assert.match(await page.locator("#avatar [role=status]").innerText(), /completed 100% · completed/);
  assert.equal((await latest("me.png")).status, "completed");
  await page.close();
});

test("html: a token set before the element is defined is kept; without one, the upload fails and says why", async () => {
  const page = await open("html");
  const outcome = await page.evaluate(async () => {
    const { UploadgateDropzone } = await import("/node_modules/@uploadgate/element/dist/uploadgate-dropzone.js");
    const config = await (await fetch("/config.json")).json();
    const token = async () => (await (await fetch("/api/upload-token")).json()).token;
    const events = (element) =>
      new Promise((resolve) => {
        const seen = [];
        for (const type of ["upload-start", "upload-progress", "upload-complete", "upload-error"]) {
          element.addEventListener(type, (event) => {
            seen.push(type);
            if (type === "upload-complete" || type === "upload-error") {
              resolve({ seen, status: event.detail.record?.status, error: event.detail.error?.message, percent: event.detail.percent });
            }
          });
        }
      });
    // Properties set while the element is still unknown, as frameworks do.
    const early = document.createElement("late-dropzone");
    early.setAttribute("server", config.uploadgate);
    early.token = token;
    document.body.append(early);
    const bare = document.createElement("late-dropzone");
    bare.setAttribute("server", config.uploadgate);
    document.body.append(bare);
    customElements.define("late-dropzone", class extends UploadgateDropzone {});
    const file = (name) => new File([new Uint8Array(1000)], name, { type: "application/octet-stream" });
    const withToken = events(early);
    early.add([file("late.bin")]);
    const withoutToken = events(bare);
    bare.add([file("bare.bin")]);
    return { withToken: await withToken, withoutToken: await withoutToken };
  });
  assert.equal(outcome.withToken.status, "completed");
  assert.equal(outcome.withToken.percent, 100);
  assert.deepEqual([outcome.withToken.seen[0], outcome.withToken.seen.at(-1)], ["upload-start", "upload-complete"]);
  assert.match(outcome.withoutToken.error, /no token/);
  assert.equal((await latest("late.bin")).status, "completed");
  assert.match(await page.locator('late-dropzone li[data-state="failed"] [role="alert"]').innerText(), /no token/);
  await page.close();
});

test("tutorial: the tutorial's front end uploads through the simple door unchanged", async () => {
  const page = await browser.newPage();
  const puts = [];
  page.on("request", (request) => request.method() === "PUT" && puts.push(request.headers()));
  await page.goto(sites.tutorial);
  await page.setInputFiles("#file", tempFile("tutorial.png", png(200, 100)));
  await page.click("#upload");
  await page.locator('#status[data-state="done"]').waitFor();
  assert.equal(await page.locator("#progress").evaluate((p) => p.value), 100);
  const record = await latest("tutorial.png");
  assert.equal(record.status, "completed");
  // The PUT carried the type and nothing uploadgate-specific.
  assert.equal(puts.length, 1);
  assert.equal(puts[0]["content-type"], "image/png");
  assert.deepEqual(Object.keys(puts[0]).filter((h) => h.startsWith("x-amz-")), []);

  await page.setInputFiles("#file", tempFile("tutorial.txt", "plain text"));
  await page.click("#upload");
  await page.locator('#status[data-state="error"]').waitFor();
  assert.match(await page.locator("#status").innerText(), /text\/plain is not allowed here/);
  await page.close();
});

test("the React package and the element render and import on a server (no DOM)", async () => {
  const modules = join(workspace, "react-vite/node_modules");
  const script = `
    import { createElement as h } from "react";
    import { renderToString } from "react-dom/server";
    import { UploadgateProvider, UploadDropzone, UploadButton } from "@uploadgate/react";
    const html = renderToString(h(UploadgateProvider, { options: { baseUrl: "https://u.example", token: "t" } },
      h(UploadDropzone, { accept: "image/*" }), h(UploadButton, null, "Pick")));
    console.log(html);`;
  const html = execFileSync("node", ["--input-type=module", "-e", script], { cwd: join(workspace, "react-vite"), encoding: "utf8", env: { ...process.env, NODE_PATH: modules } });
  assert.match(html, /role="button"/);
  assert.match(html, /<button type="button">Pick<\/button>/);
  const imports = ["@uploadgate/element", "@uploadgate/element/define", "@uploadgate/element/standalone", "@uploadgate/client"];
  const element = execFileSync(
    "node",
    ["--input-type=module", "-e", `for (const name of ${JSON.stringify(imports)}) console.log(Object.keys(await import(name)).length > 0)`],
    { cwd: join(workspace, "html"), encoding: "utf8" },
  );
  assert.deepEqual(element.trim().split("\n"), ["true", "true", "true", "true"]);
  // Next.js renders the React package only as client components.
  const built = readFileSync(join(modules, "@uploadgate/react/dist/index.js"), "utf8");
  assert.ok(built.startsWith('"use client";'), "no use client directive");
});
