import assert from "node:assert/strict";
import { test } from "node:test";

import { load } from "./load.mjs";

const { backoff, sleep, isAbort, DEFAULT_RETRY } = await load("src/retry.ts");

test("backoff doubles from the base delay, with jitter in the upper half, up to the ceiling", () => {
  const options = { attempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };
  for (let attempt = 1; attempt <= 8; attempt++) {
    const ceiling = Math.min(100 * 2 ** (attempt - 1), 1000);
    for (let i = 0; i < 50; i++) {
      const delay = backoff(options, attempt);
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay} outside [${ceiling / 2}, ${ceiling}]`);
    }
  }
});

test("Retry-After wins over the backoff, and is capped too", () => {
  assert.equal(backoff(DEFAULT_RETRY, 1, 3), 3000);
  assert.equal(backoff(DEFAULT_RETRY, 5, 0), 0);
  assert.equal(backoff(DEFAULT_RETRY, 1, 3600), DEFAULT_RETRY.maxDelayMs);
  // A header that is not a number falls back to the backoff.
  const delay = backoff(DEFAULT_RETRY, 1, Number("soon"));
  assert.ok(delay >= 250 && delay <= 500, String(delay));
});

test("sleep stops at once when the signal aborts", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const sleeping = sleep(10_000, controller.signal);
  controller.abort();
  await assert.rejects(sleeping, (error) => isAbort(error));
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(sleep(10, controller.signal), (error) => isAbort(error));
});
