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
 * maps a part number to the statuses storage answers before it takes the part;
 * `status` answers `GET /v1/uploads/u1`.
 */
async function multipartServer({ parts, refuse = {}, expiresInMs = 600_000, status }) {
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
      const refusal = refuse[n]?.shift();
      if (refusal) {
        const code = refusal === 404 ? "NoSuchUpload" : "AccessDenied";
        return { status: refusal, body: `<Error><Code>${code}</Code></Error>`, headers: { "content-type": "application/xml" } };
      }
      stored.set(n, request.body);
      return { status: 200, headers: { etag: `"etag-${n}"` }, body: "" };
    }
    if (request.method === "GET" && url.pathname === "/v1/uploads/u1" && status) {
      return { status: 200, json: status() };
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

test("a part refused with 404 because the upload was completed meanwhile ends with the server's record", async () => {
  const { server, stored } = await multipartServer({
    parts: 3,
    refuse: { 2: [404] },
    status: () => ({ id: "u1", status: "completed", size: 3 * PART - 100 }),
  });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: new MemoryStorage(), retry: FAST, parallel: 1 });
  const upload = gate.upload(file(3));
  const record = await upload.start();
  assert.equal(record.status, "completed");
  assert.equal(upload.state, "completed");
  assert.equal(upload.percent, 100);
  assert.deepEqual([...stored.keys()], [1], "nothing sent after the refusal");
  assert.ok(!server.requests.some((r) => r.url.endsWith("/complete")), "the server had decided already");
});

test("a part refused for good is followed by the parts storage lists: only the rest is sent", async () => {
  // Another page of this user sent part 2 meanwhile; this page's try is refused once.
  const { server, stored } = await multipartServer({
    parts: 3,
    refuse: { 2: [404] },
    status: () => ({
      id: "u1",
      status: "uploading",
      partSize: PART,
      partCount: 3,
      uploadedParts: [
        { partNumber: 1, etag: '"etag-1"', size: PART },
        { partNumber: 2, etag: '"other-2"', size: PART },
      ],
    }),
  });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST, parallel: 1 });
  const record = await gate.upload(file(3)).start();
  assert.equal(record.status, "completed");
  assert.deepEqual([...stored.keys()].sort(), [1, 3]);
  assert.deepEqual(
    record.completeBody.parts.map((p) => p.etag),
    ['"etag-1"', '"other-2"', '"etag-3"'],
  );
});

test("a refused part whose upload storage no longer holds fails once, without looping", async () => {
  const { server } = await multipartServer({
    parts: 2,
    refuse: { 1: [404, 404, 404, 404, 404] },
    status: () => ({ id: "u1", status: "uploading", partSize: PART, partCount: 2 }),
  });
  const gate = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST, parallel: 1 });
  await assert.rejects(gate.upload(file(2)).start(), (e) => e.name === "TransferError" && e.status === 404);
  assert.equal(server.requests.filter((r) => r.method === "GET").length, 1);
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

/** A promise and the function that settles it. */
function gate() {
  let open;
  const opened = new Promise((resolve) => (open = resolve));
  return { opened, open };
}

async function until(check) {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "timed out");
}

test("a part URL is reused after a pause while fresh, and signed again once close to expiry", async () => {
  for (const [expiresInMs, expected] of [[600_000, [1]], [10_000, [1, 1]]]) {
    const held = gate();
    let puts = 0;
    const signed = [];
    const server = await fakeApi(async (request) => {
      const url = new URL(request.url, "http://x");
      if (url.pathname === "/v1/uploads") {
        return { status: 201, json: { id: "u1", status: "pending", upload: { method: "MULTIPART", partSize: PART, partCount: 1 } } };
      }
      if (url.pathname.endsWith("/parts")) {
        signed.push(...JSON.parse(request.body).partNumbers);
        const expiresAt = new Date(Date.now() + expiresInMs).toISOString();
        return { status: 200, json: { parts: [{ partNumber: 1, url: `${server.base}/store/1`, headers: {}, expiresAt }] } };
      }
      if (url.pathname === "/store/1") {
        // The first PUT hangs until the test has paused the upload.
        if (++puts === 1) await held.opened;
        return { status: 200, headers: { etag: '"e1"' }, body: "" };
      }
      return { status: 200, json: { id: "u1", status: "completed" } };
    });
    servers.push(server);
    const gateway = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST });
    const upload = gateway.upload(file(1));
    const done = upload.start();
    await until(() => puts === 1);
    upload.pause();
    held.open();
    upload.resume();
    assert.equal((await done).status, "completed");
    assert.deepEqual(signed, expected, `URLs valid for ${expiresInMs} ms`);
  }
});

test("a creation cut short by a pause is sent again with its key, and a cancel aborts what it made", async () => {
  // The server makes each upload at once, but its first answer for a key waits for the test.
  const held = [gate(), gate()];
  const created = new Map();
  const aborted = [];
  const server = await fakeApi(async (request) => {
    const url = new URL(request.url, "http://x");
    if (request.method === "POST" && url.pathname === "/v1/uploads") {
      const key = request.headers["idempotency-key"];
      if (!created.has(key)) {
        created.set(key, `u${created.size + 1}`);
        await held[created.size - 1].opened;
      }
      return { status: 201, json: { id: created.get(key), status: "pending", upload: { method: "PUT", url: `${server.base}/store`, headers: {} } } };
    }
    if (request.method === "DELETE") {
      aborted.push(url.pathname);
      return { status: 200, json: { id: "u1", status: "aborted" } };
    }
    if (url.pathname === "/store") return { status: 200, headers: { etag: '"e"' }, body: "" };
    return { status: 200, json: { id: created.values().next().value, status: "completed" } };
  });
  servers.push(server);
  const gateway = new Uploadgate({ baseUrl: server.base, token: "t", storage: null, retry: FAST });

  const paused = gateway.upload(file(1));
  const done = paused.start();
  await until(() => server.requests.length === 1);
  paused.pause();
  held[0].open();
  paused.resume();
  assert.equal((await done).status, "completed");
  assert.equal(created.size, 1, "a second upload was made");

  const canceled = gateway.upload(file(1));
  const gone = canceled.start().catch((e) => e);
  await until(() => created.size === 2);
  const canceling = canceled.cancel();
  held[1].open();
  await canceling;
  assert.equal((await gone).name, "AbortError");
  assert.deepEqual(aborted, ["/v1/uploads/u2"]);
  assert.equal(created.size, 2);
});
