// The browser's data path, side by side: one file from headless Chromium to
// the store through uploadgate's page and client (per-part SHA-256 on), and
// through Uppy 6 (@uppy/aws-s3, the `web/uppy` page) against uploadgate's
// Companion routes. Run by bench/browser.sh (from the repository root), which starts the store and the
// server; this drives Chromium, in rounds that alternate the two.
//
// For each upload: wall time from choosing the file to the verified record,
// throughput, and the CPU time of every Chromium process and of the server.
// Then the cost of hashing alone: the same file's parts through WebCrypto,
// one after the other, in the page.

import { readFile, readdir, stat } from "node:fs/promises";
import { launchBrowser, startUppySite } from "../test/harness.mjs";

const [api, token, pageUrl, file, serverPid] = process.argv.slice(2);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const SITE_PORT = Number(process.env.SITE_PORT);
const size = (await stat(file)).size;
const MiB = 1024 * 1024;
/** The part size uploadgate's server chose (the page hashes each part). */
let ourPartSize = 8 * MiB;

/** CPU seconds (user + system) of the processes `pick` chooses, from /proc. */
async function cpuSeconds(pick) {
  let ticks = 0;
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const text = await readFile(`/proc/${pid}/stat`, "utf8");
      const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      if (!pick(pid, comm)) continue;
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks / 100;
}
const browserCpu = () => cpuSeconds((_, comm) => comm.startsWith("chrom"));
const serverCpu = () => cpuSeconds((pid) => pid === serverPid);

/** Runs `upload(page)` between two CPU readings; the page stays open throughout. */
async function measure(browser, name, url, upload) {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.error(`${name}: page error:`, error));
  await page.goto(url);
  let puts = 0;
  page.on("request", (request) => {
    if (request.method() === "PUT") puts++;
  });
  const [browserBefore, serverBefore] = [await browserCpu(), await serverCpu()];
  const started = performance.now();
  const detail = `${await upload(page)}; ${puts} PUTs`;
  const wall = (performance.now() - started) / 1000;
  const result = {
    name,
    wall,
    mibs: size / MiB / wall,
    browserCpu: (await browserCpu()) - browserBefore,
    serverCpu: (await serverCpu()) - serverBefore,
    detail,
  };
  await page.close();
  console.error(
    `${name}: ${wall.toFixed(1)} s, ${result.mibs.toFixed(0)} MiB/s, browser CPU ${result.browserCpu.toFixed(1)} s, ` +
      `server CPU ${result.serverCpu.toFixed(2)} s (${detail})`,
  );
  return result;
}

async function viaUploadgate(page) {
  await page.locator("#who", { hasText: "signed in as" }).waitFor();
  await page.setInputFiles("#files", file);
  await page.locator('#queue li[data-state="completed"]').waitFor({ timeout: 600_000 });
  const record = await listNewest();
  if (!record.partCount) return "one PUT";
  ourPartSize = record.partSize;
  return `${record.partCount} parts of ${(record.partSize / MiB).toFixed(0)} MiB, 4 at a time, each with its SHA-256`;
}

async function viaUppy(page) {
  await page.waitForFunction(() => window.uppy !== undefined);
  await page.setInputFiles("input.uppy-Dashboard-input >> nth=0", file);
  const outcome = await page.evaluate(async () => {
    const result = await window.uppy.upload();
    const plugin = window.uppy.getPlugin("AwsS3Multipart") ?? window.uppy.getPlugin("AwsS3");
    return { failed: result.failed.map((f) => String(f.error)), limit: plugin?.opts?.limit };
  });
  if (outcome.failed.length) throw new Error(`Uppy failed: ${outcome.failed.join("; ")}`);
  const record = await listNewest();
  if (record.status !== "completed") throw new Error(`Uppy's upload is ${record.status}`);
  return `Uppy's default parts, ${outcome.limit ?? 6} at a time, no checksums`;
}

async function listNewest() {
  const response = await fetch(`${api}/v1/uploads?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  const { items } = await response.json();
  const [newest] = items;
  if (newest?.size !== size) throw new Error(`the newest upload is not the file: ${JSON.stringify(newest)}`);
  return newest;
}

/** SHA-256 of every part, one after the other, as the client computes them. */
async function hashing(page, partSize) {
  // An input of its own: the page empties #files once it has taken the files.
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "file";
    input.id = "hash-me";
    document.body.append(input);
  });
  await page.setInputFiles("#hash-me", file);
  return page.evaluate(async (partSize) => {
    const chosen = document.querySelector("#hash-me").files[0];
    const started = performance.now();
    for (let at = 0; at < chosen.size; at += partSize) {
      await crypto.subtle.digest("SHA-256", await chosen.slice(at, at + partSize).arrayBuffer());
    }
    return (performance.now() - started) / 1000;
  }, partSize);
}

const site = await startUppySite(SITE_PORT);
const uppyUrl = `${site.origin}/index.html?companion=${encodeURIComponent(`${api}/companion/${token}`)}`;

const browser = await launchBrowser();
const results = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    results.push(await measure(browser, "uploadgate", pageUrl, viaUploadgate));
    results.push(await measure(browser, "Uppy", uppyUrl, viaUppy));
  }
  const partSize = ourPartSize;
  const hashPage = await browser.newPage();
  await hashPage.goto(pageUrl);
  const before = await browserCpu();
  const hashWall = await hashing(hashPage, partSize);
  const hashCpu = (await browserCpu()) - before;
  await hashPage.close();
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const rows = ["uploadgate", "Uppy"].map((name) => {
    const runs = results.filter((r) => r.name === name);
    const pick = (key) => median(runs.map((r) => r[key]));
    return { name, wall: pick("wall"), mibs: pick("mibs"), browserCpu: pick("browserCpu"), serverCpu: pick("serverCpu"), detail: runs[0].detail, walls: runs.map((r) => r.wall.toFixed(1)).join(", ") };
  });
  console.log(`\n${(size / MiB).toFixed(0)} MiB from headless Chromium to the store, ${ROUNDS} rounds (median; every wall time in brackets)\n`);
  console.log("| path | wall | throughput | browser CPU | server CPU | how |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${row.wall.toFixed(1)} s (${row.walls}) | ${row.mibs.toFixed(0)} MiB/s | ${row.browserCpu.toFixed(1)} s | ${row.serverCpu.toFixed(2)} s | ${row.detail} |`,
    );
  }
  const [ours, uppy] = rows;
  console.log(
    `\nuploadgate against Uppy: wall ${(ours.wall / uppy.wall).toFixed(2)}x, browser CPU ${(ours.browserCpu / uppy.browserCpu).toFixed(2)}x (below 1: less)`,
  );
  console.log(
    `hashing alone: SHA-256 of every ${(partSize / MiB).toFixed(0)} MiB part one after the other took ${hashWall.toFixed(1)} s ` +
      `(${(size / MiB / hashWall).toFixed(0)} MiB/s) and ${hashCpu.toFixed(1)} s of browser CPU`,
  );
} finally {
  await browser.close();
  site.close();
}
