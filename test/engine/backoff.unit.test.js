import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "../../dist/modules/engine/backoff.js";

test("restart delays double from the base up to the cap, and stay there for as long as it takes", () => {
  const b = new Backoff({ baseMs: 100, maxMs: 1000, stableMs: 5000 });
  const delays = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
});

test("an exit after a stable run starts over from the base delay; a quick one does not", () => {
  const b = new Backoff({ baseMs: 100, maxMs: 30_000, stableMs: 5000 });
  b.next();
  b.next();
  b.exited(4999);
  assert.equal(b.next(), 400);
  b.exited(5000);
  assert.equal(b.next(), 100);
});
