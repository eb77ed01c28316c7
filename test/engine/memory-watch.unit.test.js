import assert from "node:assert/strict";
import { test } from "node:test";
import { heapLimitMiB, isHeapOutOfMemory, MemoryWatch, readRssMiB } from "../../dist/modules/engine/memory-watch.js";
import { waitUntil } from "../helpers.js";

test("the heap limit leaves room for the rest of the process: half the limit up to 96 MiB, at least 16", () => {
  assert.equal(heapLimitMiB(64), 32);
  assert.equal(heapLimitMiB(100), 50);
  assert.equal(heapLimitMiB(128), 64);
  assert.equal(heapLimitMiB(192), 96);
  assert.equal(heapLimitMiB(1024), 928);
  assert.equal(heapLimitMiB(65536), 65440);
});

test("V8's out-of-heap abort is told from other exits", () => {
  assert.equal(isHeapOutOfMemory({ code: null, signal: "SIGABRT" }, ""), true);
  assert.equal(isHeapOutOfMemory({ code: 134, signal: null }, ""), true);
  assert.equal(isHeapOutOfMemory({ code: 1, signal: null }, "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"), true);
  assert.equal(isHeapOutOfMemory({ code: 1, signal: null }, "Error: boom"), false);
  assert.equal(isHeapOutOfMemory({ code: null, signal: "SIGKILL" }, ""), false);
});

test("readRssMiB reads this process's resident set; a pid that does not exist reads undefined", { skip: process.platform !== "linux" }, () => {
  const rss = readRssMiB(process.pid);
  const own = process.memoryUsage().rss / 1048576;
  assert.ok(rss > own / 2 && rss < own * 2, `${rss} vs ${own}`);
  assert.equal(readRssMiB(2 ** 22 + 7), undefined);
});

test("the watch calls onOver once, with the reading that went over, and stops reading", async () => {
  const readings = [40, 60, undefined, 70, 90, 95];
  let reads = 0;
  const over = [];
  const watch = new MemoryWatch(123, 64, (rss) => over.push(rss), {
    intervalMs: 1,
    read: (pid) => {
      assert.equal(pid, 123);
      return readings[reads++];
    },
  });
  await waitUntil(() => over.length > 0, { what: "a reading over the limit" });
  assert.equal(watch.limitMiB, 64);
  assert.deepEqual(over, [70]);
  assert.equal(reads, 4);
  // Stopped: no further reads.
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(reads, 4);
});
