import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LogFollower } from "../../dist/modules/logs/follower.js";
import { readLast } from "../../dist/modules/logs/reader.js";
import { LogWriter } from "../../dist/modules/logs/writer.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

function logDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-logs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const record = (i, extra = {}) => ({
  time: new Date(T0 + i * 1000).toISOString(),
  function: i % 2 ? "api" : "cron",
  source: "w1",
  stream: i % 3 === 0 ? "stderr" : "stdout",
  line: `line ${i}`,
  ...extra,
});

/** A follower whose reads collect every record's line. */
function collecting(dir) {
  const follower = new LogFollower(dir);
  const lines = [];
  const read = () =>
    follower.read((records) => {
      for (const r of records) lines.push(r.line);
    });
  return { follower, lines, read };
}

const numbers = (from, to) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

test("readLast: the last n across rotated files, oldest first, with filters", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 2000, keep: 10 });
  t.after(() => w.close());
  for (let i = 0; i < 100; i++) w.write(record(i));
  w.flush();
  assert.ok(readdirSync(dir).length > 3, "spread over several files");
  assert.deepEqual(readLast(dir, 5).map((r) => r.line), numbers(95, 100));
  assert.deepEqual(readLast(dir, 1000).map((r) => r.line), numbers(0, 100));
  assert.deepEqual(readLast(dir, 0), []);
  assert.deepEqual(readLast(dir, 3, { function: "api" }).map((r) => r.line), ["line 95", "line 97", "line 99"]);
  assert.deepEqual(readLast(dir, 2, { stream: "stderr" }).map((r) => r.line), ["line 96", "line 99"]);
  // "line 4" and "line 40" … "line 49" match: the last ten are these.
  assert.deepEqual(readLast(dir, 10, { search: "line 4" }).map((r) => r.line), numbers(40, 50));
  const since = new Date(T0 + 90 * 1000);
  const until = new Date(T0 + 93 * 1000);
  assert.deepEqual(readLast(dir, 100, { since }).map((r) => r.line), numbers(90, 100));
  assert.deepEqual(readLast(dir, 100, { since, until }).map((r) => r.line), numbers(90, 94));
  assert.deepEqual(readLast(dir, 2, { until }).map((r) => r.line), ["line 92", "line 93"]);
});

test("readLast skips a crashed writer's truncated last line", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 1 << 20 });
  for (let i = 0; i < 3; i++) w.write(record(i));
  w.close();
  appendFileSync(join(dir, "app.log"), JSON.stringify(record(3)).slice(0, 40));
  assert.deepEqual(readLast(dir, 10).map((r) => r.line), numbers(0, 3));
});

test("a follower reads everything written across many rotations between two reads, each record once", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 600, keep: 50 });
  t.after(() => w.close());
  w.write(record(0));
  w.flush();
  const f = collecting(dir);
  t.after(() => f.follower.close());
  assert.deepEqual(readLast(dir, 10, {}, f.follower.start()).map((r) => r.line), ["line 0"]);
  let n = 1;
  for (const burst of [40, 3, 0, 200, 1]) {
    for (let i = 0; i < burst; i++) w.write(record(n++));
    w.flush();
    f.read();
  }
  assert.ok(readdirSync(dir).length > 20, `${readdirSync(dir).length} files`);
  assert.deepEqual(f.lines, numbers(1, n));
});

test("a follower whose file was deleted by rotation drains it and goes on with the oldest file left", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 600, keep: 2 });
  t.after(() => w.close());
  const f = collecting(dir);
  t.after(() => f.follower.close());
  f.follower.start(); // no file yet: the first one is read from its start
  w.write(record(0));
  w.flush();
  f.read();
  // Far more rotations than kept files: the held file is gone, and so are some after it.
  for (let i = 1; i < 100; i++) w.write(record(i));
  w.flush();
  f.read();
  const got = f.lines.map((l) => Number(l.slice(5)));
  assert.deepEqual(got.slice(0, 5), [0, 1, 2, 3, 4], "the held file was read to its end");
  assert.equal(got.at(-1), 99);
  for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `in order, once each: ${got.join(",")}`);
});

test("a record half-written when following starts is printed once, by the follower, when complete", (t) => {
  const dir = logDir(t);
  const whole = JSON.stringify(record(1)) + "\n";
  writeFileSync(join(dir, "app.log"), JSON.stringify(record(0)) + "\n" + whole.slice(0, 30));
  const f = collecting(dir);
  t.after(() => f.follower.close());
  assert.deepEqual(readLast(dir, 10, {}, f.follower.start()).map((r) => r.line), ["line 0"]);
  f.read();
  assert.deepEqual(f.lines, []);
  appendFileSync(join(dir, "app.log"), whole.slice(30));
  f.read();
  assert.deepEqual(f.lines, ["line 1"]);
});

test("a single write of 200,000 lines is read whole, by readLast and by a follower", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 64 << 20 });
  t.after(() => w.close());
  const f = collecting(dir);
  t.after(() => f.follower.close());
  f.follower.start();
  const N = 200_000;
  const lines = numbers(0, N);
  w.writeLines({ time: new Date(T0).toISOString(), function: "api", source: "w1", stream: "stdout" }, lines);
  w.flush();
  f.read();
  assert.equal(f.lines.length, N);
  assert.ok(f.lines.every((l, i) => l === lines[i]));
  const last = readLast(dir, N);
  assert.equal(last.length, N);
  assert.equal(last[N - 1].line, `line ${N - 1}`);
});
