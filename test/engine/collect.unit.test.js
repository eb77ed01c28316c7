import assert from "node:assert/strict";
import { test } from "node:test";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { collectSoon } from "../../dist/modules/engine/collect.js";

/** Polls `check` every 50 ms until it holds or `ms` passed; returns whether it held. */
async function within(ms, check) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

// An idle process allocates nothing, so V8 has no reason to collect: an unreachable object
// stays in the heap (its WeakRef still answers) until something asks for a full collection.
function unreachable() {
  let garbage = { payload: new Array(1000).fill("x") };
  const ref = new WeakRef(garbage);
  garbage = undefined;
  return ref;
}

test("collectSoon runs a full collection about a second later: an unreachable object goes", async () => {
  const before = unreachable();
  // The control: without collectSoon, nothing collects it within the same time.
  assert.equal(await within(1500, () => before.deref() === undefined), false, "collected without being asked: this test proves nothing here");
  const ref = unreachable();
  collectSoon();
  assert.equal(await within(5000, () => ref.deref() === undefined), true, "still reachable 5 s after collectSoon");
});

test("a burst of swaps makes one full collection, not one each", async () => {
  const majors = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e);
  });
  observer.observe({ entryTypes: ["gc"] });
  try {
    const ref = unreachable();
    for (let i = 0; i < 100; i++) collectSoon();
    assert.equal(await within(5000, () => ref.deref() === undefined), true, "still reachable 5 s after the burst");
    // Entries arrive asynchronously: give a second collection, if any, time to show.
    await within(1500, () => majors.length > 1);
    assert.equal(majors.length, 1);
  } finally {
    observer.disconnect();
  }
});
