import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { deserialize } from "node:v8";
import { findSpawned, readSpawned, SpawnedCalls, KEEP_MS } from "../../dist/modules/engine/spawned.js";

function store(t, now = Date.now) {
  const root = mkdtempSync(join(tmpdir(), "nodal-spawned-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "my-app");
  return { root, dir, calls: () => new SpawnedCalls({ app: "my-app", appId: "a-1", dir, now }) };
}

function deferred() {
  let resolve, reject;
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

test("a spawned call is stored running, then with its v8-serialized result; findSpawned finds it by id", async (t) => {
  const { root, dir, calls } = store(t);
  const s = calls();
  assert.equal(existsSync(dir), false, "no folder before the first spawn");
  const d = deferred();
  const id = s.start("square", () => d.promise);
  assert.match(id, /^fc-[0-9a-f]+$/);
  const running = readSpawned(dir, id);
  assert.equal(running.state, "running");
  assert.equal(running.function, "square");
  assert.equal(running.appId, "a-1");
  d.resolve(new Map([["x", 49n]]));
  const done = await s.wait(id, 5000);
  assert.equal(done.state, "success");
  assert.deepEqual(deserialize(Buffer.from(done.value, "base64")), new Map([["x", 49n]]));
  assert.deepEqual(findSpawned(root, id), done);
  assert.equal(findSpawned(root, "fc-nope"), undefined);
  assert.equal(findSpawned(root, "../../etc/passwd"), undefined);
});

test("a failed call keeps its error; wait answers the running record when the wait runs out", async (t) => {
  const { dir, calls } = store(t);
  const s = calls();
  const d = deferred();
  const id = s.start("boom", () => d.promise);
  assert.equal((await s.wait(id, 0)).state, "running");
  d.reject(new RangeError("bad input"));
  const rec = await s.wait(id, 5000);
  assert.equal(rec.state, "failure");
  assert.equal(rec.error.name, "RangeError");
  assert.equal(rec.error.message, "bad input");
});

test("cancel aborts the call's signal and records it cancelled, whatever the call answers after", async (t) => {
  const { dir, calls } = store(t);
  const s = calls();
  let signal;
  const d = deferred();
  const id = s.start("slow", (_id, sig) => ((signal = sig), d.promise));
  await new Promise((r) => setImmediate(r));
  assert.equal(signal.aborted, false);
  assert.equal(s.cancel(id), true);
  assert.equal(signal.aborted, true);
  assert.equal(readSpawned(dir, id).state, "cancelled");
  d.resolve("late");
  assert.equal((await s.wait(id, 5000)).state, "cancelled");
  assert.equal(s.cancel(id), false, "no longer running");
  assert.equal(s.cancel("fc-unknown"), false);
});

test("finished results older than 24 hours are swept on a later write, at most once an hour", async (t) => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const { dir, calls } = store(t, () => now);
  const s = calls();
  const old = s.start("f", async () => 1);
  await s.wait(old, 5000);
  // The file's age is its mtime: make it 24 h + 1 s old by the injected clock.
  const aged = (now - KEEP_MS - 1000) / 1000;
  utimesSync(join(dir, `${old}.json`), aged, aged);
  // Within the hour of the last sweep: kept.
  now += 60_000;
  const a = s.start("f", async () => 2);
  await s.wait(a, 5000);
  assert.ok(readdirSync(dir).includes(`${old}.json`));
  // An hour later: the next write sweeps it, and only it.
  now += 3600 * 1000;
  const b = s.start("f", async () => 3);
  await s.wait(b, 5000);
  const left = readdirSync(dir).sort();
  assert.deepEqual(left, [`${a}.json`, `${b}.json`].sort());
});
