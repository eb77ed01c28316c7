import assert from "node:assert/strict";
import { test } from "node:test";
import { CallLog } from "../../dist/modules/engine/call-log.js";

/** A clock the test moves by hand. */
function clock(start = Date.parse("2026-01-01T00:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

test("each call is recorded with its start, duration and outcome; errors keep their message", () => {
  const c = clock();
  const log = new CallLog(10, c.now);
  const a = log.begin("square", "fc-a");
  c.advance(25);
  a.ok();
  const b = log.begin("boom", "fc-b");
  c.advance(7);
  b.fail(new Error("kaboom"));
  const timeout = Object.assign(new Error('function "slow" timed out after 1s'), { name: "FunctionTimeoutError" });
  const s = log.begin("slow", "fc-c");
  c.advance(1000);
  s.fail(timeout);
  const t = log.begin("odd", "fc-d");
  t.fail("a thrown string");
  assert.deepEqual(log.list(), [
    { id: "fc-a", function: "square", startedAt: "2026-01-01T00:00:00.000Z", durationMs: 25, outcome: "success" },
    { id: "fc-b", function: "boom", startedAt: "2026-01-01T00:00:00.025Z", durationMs: 7, outcome: "failure", error: "kaboom" },
    { id: "fc-c", function: "slow", startedAt: "2026-01-01T00:00:00.032Z", durationMs: 1000, outcome: "timeout", error: 'function "slow" timed out after 1s' },
    { id: "fc-d", function: "odd", startedAt: "2026-01-01T00:00:01.032Z", durationMs: 0, outcome: "failure", error: "a thrown string" },
  ]);
  assert.deepEqual(log.list("boom").map((r) => r.id), ["fc-b"]);
  assert.deepEqual(log.list("nothing"), []);
});

test("the log keeps only the newest calls, oldest first, and a call is listed once it ends", () => {
  const log = new CallLog(3, clock().now);
  const open = log.begin("long", "fc-open");
  for (let i = 1; i <= 5; i++) log.begin("f", `fc-${i}`).ok();
  assert.deepEqual(log.list().map((r) => r.id), ["fc-3", "fc-4", "fc-5"]);
  open.ok();
  assert.deepEqual(log.list().map((r) => r.id), ["fc-4", "fc-5", "fc-open"]);
});

test("a call without an id gets an fc- id of its own", () => {
  const log = new CallLog(2, clock().now);
  log.begin("f").ok();
  log.begin("f").ok();
  const [a, b] = log.list();
  assert.match(a.id, /^fc-[0-9a-f]{12}$/);
  assert.notEqual(a.id, b.id);
});
