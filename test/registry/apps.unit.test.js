import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { scanApps, shapeProblem } from "../../dist/modules/registry/apps.js";
import { resolveApp } from "../../dist/modules/registry/resolve.js";
import { fakeHome, record } from "./fake-home.js";

test("damaged records are named with why, and every other record is kept", (t) => {
  const { plant } = fakeHome(t);
  const good = record("ap-good", "web");
  plant("ap-good.json", JSON.stringify(good));
  plant("ap-null.json", "null\n");
  plant("ap-trunc.json", JSON.stringify(record("ap-trunc", "api")).slice(0, 40));
  plant("ap-shape.json", JSON.stringify({ id: "ap-shape", name: 7 }));
  plant("ap-text.json", "hello\n");
  plant("ap-array.json", "[]");
  plant("README.txt", "not a record");
  const { records, damaged } = scanApps();
  assert.deepEqual(records, [good]);
  const why = Object.fromEntries(damaged.map((d) => [d.file, d.why]));
  assert.deepEqual(Object.keys(why).sort(), ["ap-array.json", "ap-null.json", "ap-shape.json", "ap-text.json", "ap-trunc.json"]);
  assert.equal(why["ap-null.json"], "not an app record: null");
  assert.equal(why["ap-array.json"], "not an app record: an array");
  assert.match(why["ap-trunc.json"], /not valid JSON/);
  assert.match(why["ap-text.json"], /not valid JSON/);
  assert.match(why["ap-shape.json"], /^wrong shape: bad or missing name, state, version, file, createdAt/);
  assert.deepEqual(damaged.find((d) => d.file === "ap-null.json").id, "ap-null");
});

test("a record's shape: every field, and the id of its file", () => {
  assert.equal(shapeProblem(record("ap-1", "a"), "ap-1"), undefined);
  assert.match(shapeProblem(record("ap-1", "a"), "ap-2"), /bad or missing id/);
  assert.match(shapeProblem(record("ap-1", "a", { state: "weird" }), "ap-1"), /bad or missing state$/);
  assert.match(shapeProblem(record("ap-1", "a", { urls: { api: 3 } }), "ap-1"), /bad or missing urls$/);
  assert.match(shapeProblem(record("ap-1", "a", { pid: -1 }), "ap-1"), /bad or missing pid$/);
  assert.equal(shapeProblem(record("ap-1", "a", { pid: null, pidStart: null, stoppedAt: "2026-01-01T00:00:00Z" }), "ap-1"), undefined);
});

test("a name resolves to its running instance, else to its newest, stopped or crashed", (t) => {
  const { plant } = fakeHome(t);
  const put = (r) => plant(`${r.id}.json`, JSON.stringify(r));
  // An older serve session that crashed (its pid is dead), then a newer deploy that was stopped.
  put(record("ap-serve", "api", { state: "ephemeral", createdAt: "2026-01-01T10:00:00.000Z" }));
  put(record("ap-deploy", "api", { state: "stopped", createdAt: "2026-01-02T10:00:00.000Z", stoppedAt: "2026-01-02T11:00:00.000Z" }));
  assert.equal(resolveApp("api").id, "ap-deploy");
  assert.equal(resolveApp("api").live, "stopped");
  // A newer crash wins over an older stop.
  put(record("ap-crash", "api", { createdAt: "2026-01-03T10:00:00.000Z" }));
  assert.equal(resolveApp("api").id, "ap-crash");
  assert.equal(resolveApp("api").live, "crashed");
  // A running instance wins over any newer one that is not running (this process stands in for it).
  const stat = readFileSync(`/proc/${process.pid}/stat`, "utf8");
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  put(record("ap-live", "api", { state: "ephemeral", createdAt: "2025-12-31T00:00:00.000Z", pid: process.pid, pidStart: start }));
  assert.equal(resolveApp("api").id, "ap-live");
  assert.equal(resolveApp("api").live, "ephemeral");
  // An id resolves to itself.
  assert.equal(resolveApp("ap-serve").id, "ap-serve");
  assert.throws(() => resolveApp("nope"), /no app named "nope"/);
});
