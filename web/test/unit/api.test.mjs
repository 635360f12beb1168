import assert from "node:assert/strict";
import { after, test } from "node:test";

import { fakeApi } from "./fake-api.mjs";
import { load } from "./load.mjs";

const { Api, ApiError } = await load("src/index.ts");

const FAST = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const BODY = { filename: "a.png", contentType: "image/png", size: 10 };
const servers = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function serve(handler) {
  const server = await fakeApi(handler);
  servers.push(server);
  return server;
}

const record = (id) => ({ status: 201, json: { id, status: "pending" } });

test("a creation retried after 5xx, a dropped connection and 429 carries one Idempotency-Key", async () => {
  const script = [{ status: 503 }, { destroy: true }, { status: 429, headers: { "retry-after": "0" } }];
  const server = await serve(() => script.shift() ?? record("u1"));
  const api = new Api({ baseUrl: server.base, token: "t", retry: FAST });
  const created = await api.create(BODY);
  assert.equal(created.id, "u1");
  assert.equal(server.requests.length, 4);
  const keys = new Set(server.requests.map((r) => r.headers["idempotency-key"]));
  assert.equal(keys.size, 1);
  assert.match([...keys][0], /^[0-9a-f]{32}$/);
  // Another creation gets another key.
  await api.create(BODY);
  assert.notEqual(server.requests[4].headers["idempotency-key"], [...keys][0]);
});

test("no request to create leaves without an Idempotency-Key; a chosen key is used as given", async () => {
  const server = await serve(() => record("u2"));
  const api = new Api({ baseUrl: server.base, token: "t", retry: FAST });
  await api.create(BODY, { idempotencyKey: "order-42-avatar" });
  await api.create(BODY);
  assert.equal(server.requests[0].headers["idempotency-key"], "order-42-avatar");
  assert.ok(server.requests.every((r) => r.headers["idempotency-key"]), "a creation went without a key");
});

test("refusals are not retried and keep the problem's code", async () => {
  const server = await serve(() => ({
    status: 400,
    headers: { "content-type": "application/problem+json" },
    json: { type: "about:blank", title: "Bad Request", status: 400, code: "content_type_not_allowed", detail: "text/plain is not allowed here" },
  }));
  const api = new Api({ baseUrl: server.base, token: "t", retry: FAST });
  const error = await api.create(BODY).catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.code, "content_type_not_allowed");
  assert.equal(error.message, "text/plain is not allowed here");
  assert.equal(server.requests.length, 1);
});

test("retries stop after the configured attempts, and a rejected upload's 422 is an answer", async () => {
  const server = await serve((request) =>
    request.url.endsWith("/complete") ? { status: 422, json: { id: "u3", status: "rejected", rejectReason: "not a PNG" } } : { status: 502 },
  );
  const api = new Api({ baseUrl: server.base, token: () => Promise.resolve("fresh"), retry: FAST });
  await assert.rejects(api.get("u3"), (e) => e instanceof ApiError && e.status === 502);
  assert.equal(server.requests.length, FAST.attempts);
  assert.equal(server.requests[0].headers.authorization, "Bearer fresh");
  const rejected = await api.complete("u3");
  assert.equal(rejected.rejectReason, "not a PNG");
});

test("a busy completion (409 completion_in_progress) is asked again", async () => {
  let calls = 0;
  const server = await serve(() =>
    ++calls === 1
      ? { status: 409, headers: { "retry-after": "0" }, json: { status: 409, code: "completion_in_progress", title: "Conflict" } }
      : { status: 200, json: { id: "u4", status: "completed" } },
  );
  const api = new Api({ baseUrl: server.base, token: "t", retry: FAST });
  assert.equal((await api.complete("u4", { parts: [{ partNumber: 1, etag: '"e"' }] })).status, "completed");
  assert.deepEqual(JSON.parse(server.requests[1].body), { parts: [{ partNumber: 1, etag: '"e"' }] });
});
