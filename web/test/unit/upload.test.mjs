import assert from "node:assert/strict";
import { after, test } from "node:test";

import { fakeApi } from "./fake-api.mjs";
import { MemoryStorage, load } from "./load.mjs";
import { FetchXhr } from "./xhr.mjs";

globalThis.XMLHttpRequest = FetchXhr;
const { Uploadgate } = await load("src/index.ts");

const PART = 1024;
const FAST = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const servers = [];
after(() => Promise.all(servers.map((s) => s.close())));

/**
 * uploadgate and storage for one multipart upload of `parts` parts; `refuse`
 * maps a part number to the statuses storage answers before it takes the part.
 */
async function multipartServer({ parts, refuse = {}, expiresInMs = 600_000 }) {
  const stored = new Map();
  const signed = [];
  const server = await fakeApi((request) => {
    const url = new URL(request.url, "http://x");
    if (request.method === "POST" && url.pathname === "/v1/uploads") {
      return { status: 201, json: { id: "u1", status: "pending", upload: { method: "MULTIPART", partSize: PART, partCount: parts } } };
    }
    if (request.method === "POST" && url.pathname === "/v1/uploads/u1/parts") {
      const { partNumbers, checksumsSha256 } = JSON.parse(request.body);
      signed.push(...partNumbers);
      const expiresAt = new Date(Date.now() + expiresInMs).toISOString();
      return {
        status: 200,
        json: {
          parts: partNumbers.map((n) => ({
            partNumber: n,
            url: `${server.base}/store/${n}?sig=${signed.length}`,
            headers: { "x-amz-checksum-sha256": checksumsSha256[n] },
            expiresAt,
          })),
        },
      };
    }
    if (request.method === "PUT" && url.pathname.startsWith("/store/")) {
      const n = Number(url.pathname.split("/")[2]);
      const status = refuse[n]?.shift();
      if (status) return { status, body: "<Error><Code>AccessDenied</Code></Error>", headers: { "content-type": "application/xml" } };
      stored.set(n, request.body);
      return { status: 200, headers: { etag: `"etag-${n}"` }, body: "" };
    }
    if (request.method === "POST" && url.pathname === "/v1/uploads/u1/complete") {
      return { status: 200, json: { id: "u1", status: "completed", completeBody: JSON.parse(request.body) } };
    }
    return undefined;
  });
  servers.push(server);
  return { server, stored, signed };
}

function file(parts) {
  const bytes = new Uint8Array(parts * PART - 100);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
  return new File([bytes], "clip.bin", { lastModified: 1 });
}

test("a part URL storage refuses (403: expired) is signed again, and only that one", async () => {
  const { server, stored, signed } = await multipartServer({ parts: 3, refuse: { 2: [403] } });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: new MemoryStorage(), retry: FAST, parallel: 1 });
  const upload = gate.upload(file(3));
  const percents = [];
  upload.addEventListener("progress", (e) => percents.push(Math.floor((e.detail.loaded / e.detail.total) * 100)));
  const record = await upload.start();
  assert.equal(record.status, "completed");
  assert.deepEqual(signed, [1, 2, 2, 3]);
  assert.equal(stored.size, 3);
  assert.deepEqual(record.completeBody.parts.map((p) => p.etag), ['"etag-1"', '"etag-2"', '"etag-3"']);
  assert.equal(percents.at(-1), 100);
  assert.equal(upload.percent, 100);
  // Each part went with its own SHA-256, so storage could refuse other bytes.
  const puts = server.requests.filter((r) => r.method === "PUT" && r.headers["x-amz-checksum-sha256"]);
  assert.equal(puts.length, 4);
});

test("a URL about to expire is signed again before it is used", async () => {
  // Signed URLs that expire within the 30 s margin: every attempt signs afresh.
  const { server, signed } = await multipartServer({ parts: 2, refuse: { 1: [503] }, expiresInMs: 10_000 });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST, parallel: 1 });
  assert.equal((await gate.upload(file(2)).start()).status, "completed");
  assert.deepEqual(signed, [1, 1, 2]);
});

test("storage errors that will not pass give up after the attempts, and the upload fails with them", async () => {
  const { server } = await multipartServer({ parts: 1, refuse: { 1: [500, 500, 500, 500, 500] } });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST });
  const upload = gate.upload(file(1));
  const states = [];
  upload.addEventListener("statechange", (e) => states.push(e.detail));
  await assert.rejects(upload.start(), (e) => e.name === "TransferError" && e.status === 500);
  assert.equal(upload.state, "failed");
  assert.deepEqual(states, ["uploading", "failed"]);
});

test("a multipart upload is remembered for a reload, and forgotten once completed", async () => {
  const storage = new MemoryStorage();
  const { server } = await multipartServer({ parts: 2 });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage, retry: FAST });
  const upload = gate.upload(file(2));
  let remembered = 0;
  upload.addEventListener("progress", () => (remembered = Math.max(remembered, storage.length)));
  await upload.start();
  assert.equal(remembered, 1);
  assert.equal(storage.length, 0);
});
