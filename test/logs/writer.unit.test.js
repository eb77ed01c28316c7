import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { expand } from "../../dist/modules/logs/record.js";
import { LogWriter } from "../../dist/modules/logs/writer.js";

function logDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-logs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const record = (i, extra = {}) => ({ time: new Date(1_700_000_000_000 + i).toISOString(), function: "api", source: "w1", stream: "stdout", line: `line ${i}`, ...extra });

/** Every stored line of the given files (oldest file first), parsed; fails on a torn line. */
function stored(dir, names) {
  const out = [];
  for (const name of names) {
    const text = readFileSync(join(dir, name), "utf8");
    assert.ok(text === "" || text.endsWith("\n"), `${name} ends mid-record`);
    for (const line of text.split("\n").slice(0, -1)) out.push(JSON.parse(line));
  }
  return out;
}

test("records are batched per event-loop turn and appended as one JSON object a line, owner-only", async (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 1 << 20 });
  t.after(() => w.close());
  w.write(record(0));
  w.write(record(1));
  assert.equal(readFileSync(join(dir, "app.log"), "utf8"), "", "nothing written before the turn ends");
  await turn();
  assert.deepEqual(stored(dir, ["app.log"]), [record(0), record(1)]);
  assert.equal(statSync(join(dir, "app.log")).mode & 0o777, 0o600);
});

test("lines sharing their fields are stored grouped, in records that stay small, and expand back in order", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 1 << 20 });
  t.after(() => w.close());
  const lines = Array.from({ length: 5000 }, (_, i) => `burst line ${i}`);
  const head = { time: record(0).time, function: "api", source: "w2", stream: "stderr" };
  w.writeLines(head, lines);
  w.flush();
  const records = stored(dir, ["app.log"]);
  assert.ok(records.length > 1, "split into several records");
  for (const r of records) assert.ok(JSON.stringify(r).length <= 16 * 1024 + 200, "each record stays near 16 KiB");
  const expanded = records.flatMap(expand);
  assert.deepEqual(expanded.map((r) => r.line), lines);
  assert.deepEqual(expanded[0], { ...head, line: "burst line 0" });
});

test("rotation keeps `keep` files, each under the size limit, and never splits a record across files", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 1000, keep: 3 });
  t.after(() => w.close());
  // One batch holding many files' worth, then batches one record at a time.
  for (let i = 0; i < 60; i++) w.write(record(i));
  w.flush();
  for (let i = 60; i < 120; i++) {
    w.write(record(i));
    w.flush();
  }
  assert.deepEqual(readdirSync(dir).sort(), ["app.log", "app.log.1", "app.log.2", "app.log.3"]);
  const files = ["app.log.3", "app.log.2", "app.log.1", "app.log"];
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 1000, `${f} is ${statSync(join(dir, f)).size} bytes`);
  // What is kept is the newest stretch of records, in order, none repeated.
  const lines = stored(dir, files).map((r) => r.line);
  const first = Number(lines[0].slice(5));
  assert.deepEqual(lines, Array.from({ length: 120 - first }, (_, i) => `line ${first + i}`));
  assert.ok(first > 0 && lines.length >= 20, `kept ${lines.length} from ${first}`);
});

test("a record larger than the rotation size goes to a file of its own", (t) => {
  const dir = logDir(t);
  const w = new LogWriter(dir, { maxBytes: 500, keep: 5 });
  t.after(() => w.close());
  w.write(record(0));
  w.write(record(1, { line: "x".repeat(2000) }));
  w.write(record(2));
  w.flush();
  assert.deepEqual(stored(dir, ["app.log.2"]).map((r) => r.line), ["line 0"]);
  assert.deepEqual(stored(dir, ["app.log.1"]).map((r) => r.line.length), [2000]);
  assert.deepEqual(stored(dir, ["app.log"]).map((r) => r.line), ["line 2"]);
});

test("a writer reopening an existing log appends to it and counts its size", (t) => {
  const dir = logDir(t);
  const a = new LogWriter(dir, { maxBytes: 400, keep: 2 });
  for (let i = 0; i < 3; i++) a.write(record(i));
  a.close();
  const b = new LogWriter(dir, { maxBytes: 400, keep: 2 });
  t.after(() => b.close());
  for (let i = 3; i < 6; i++) b.write(record(i));
  b.flush();
  const lines = stored(dir, ["app.log.1", "app.log"]).map((r) => r.line);
  assert.deepEqual(lines, Array.from({ length: 6 }, (_, i) => `line ${i}`));
  assert.ok(readdirSync(dir).includes("app.log.1"), "the size written before counted towards rotation");
});
