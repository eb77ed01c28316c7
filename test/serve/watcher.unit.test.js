import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Watcher } from "../../dist/modules/serve/watcher.js";
import { waitUntil } from "../helpers.js";

/**
 * A Watcher on a temp folder. Each report is kept with the content each file had when it was
 * reported, so a test can tell which write a report answers.
 */
function watched(t, files, folder) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-watch-"));
  const path = (name) => join(dir, name);
  for (const [name, content] of Object.entries(files)) writeFileSync(path(name), content);
  const reports = [];
  const watcher = new Watcher(
    (changed) => reports.push(changed.map((p) => [p.slice(dir.length + 1), existsSync(p) ? readFileSync(p, "utf8") : "<missing>"])),
    folder && { dir, names: folder },
  );
  t.after(async () => {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const until = (n, what) => waitUntil(() => reports.length >= n, { timeoutMs: 5000, what: `${what} (reports: ${JSON.stringify(reports)})` });
  return { dir, path, watcher, reports, until, write: (name, content) => writeFileSync(path(name), content) };
}

test("a burst of writes to 30 files is one report naming each once", async (t) => {
  const names = Array.from({ length: 30 }, (_, i) => `f${i}.ts`);
  const w = watched(t, Object.fromEntries(names.map((n) => [n, "old"])));
  await w.watcher.setFiles(names.map(w.path));
  for (const n of names) w.write(n, "new");
  await w.until(1, "the burst reported");
  await w.watcher.settled();
  assert.deepEqual(w.reports, [names.map((n) => [n, "new"]).sort()]);
  // Nothing more comes of it: the next write to one of them is the next report.
  w.write("f0.ts", "newer");
  await w.until(2, "the later write reported");
  assert.deepEqual(w.reports[1], [["f0.ts", "newer"]]);
  assert.equal(w.reports.length, 2);
});

test("a save that leaves the content unchanged is not reported", async (t) => {
  const w = watched(t, { "a.ts": "same", "b.ts": "b1" });
  await w.watcher.setFiles([w.path("a.ts"), w.path("b.ts")]);
  w.write("a.ts", "same");
  w.write("b.ts", "b2");
  await w.until(1, "b.ts reported");
  // A later real change to a.ts is reported after any event of its unchanged save (one file's
  // events arrive in order): had that save been reported, it would show before this one.
  w.write("a.ts", "changed");
  await w.until(2, "a.ts's change reported");
  assert.deepEqual(w.reports, [[["b.ts", "b2"]], [["a.ts", "changed"]]]);
});

test("a save in place read between its truncate and its write is no change; a file emptied for good is one", async (t) => {
  const w = watched(t, { "a.ts": "same", "b.ts": "b1" });
  await w.watcher.setFiles([w.path("a.ts"), w.path("b.ts")]);
  // The fault: the file stays empty long enough for the watcher to read it so.
  writeFileSync(w.path("a.ts"), "");
  await new Promise((r) => setTimeout(r, 25));
  w.write("a.ts", "same");
  w.write("b.ts", "b2");
  await w.until(1, "b.ts reported");
  w.write("a.ts", "changed");
  await w.until(2, "a.ts's change reported");
  assert.deepEqual(w.reports, [[["b.ts", "b2"]], [["a.ts", "changed"]]]);
  writeFileSync(w.path("b.ts"), "");
  await w.until(3, "b.ts emptied");
  assert.deepEqual(w.reports[2], [["b.ts", ""]]);
});

test("a file read empty mid-save holds settled() until its recheck has reported what it holds", async (t) => {
  const w = watched(t, { "a.ts": "old-a", "b.ts": "old-b" });
  await w.watcher.setFiles([w.path("a.ts"), w.path("b.ts")]);
  // The fault: a.ts is empty when the watcher reads it; its write lands within chokidar's
  // 50 ms throttle, so only the recheck sees it.
  writeFileSync(w.path("a.ts"), "");
  w.write("b.ts", "new-b");
  await w.until(1, "b.ts reported");
  w.write("a.ts", "new-a");
  await w.watcher.settled();
  assert.deepEqual(w.reports.flat(), [["b.ts", "new-b"], ["a.ts", "new-a"]]);
});

test("two saves 10 ms apart: the second is seen too, not lost to chokidar's throttle", async (t) => {
  const w = watched(t, { "a.ts": "0" });
  await w.watcher.setFiles([w.path("a.ts")]);
  w.write("a.ts", "1");
  await new Promise((r) => setTimeout(r, 10)); // the scenario itself: a second save shortly after
  w.write("a.ts", "2");
  await waitUntil(() => w.reports.some((r) => r.some(([n, c]) => n === "a.ts" && c === "2")), { timeoutMs: 5000, what: `a report of "2" (${JSON.stringify(w.reports)})` });
  assert.ok(w.reports.flat().every(([n]) => n === "a.ts"));
});

test("an atomic save (write a temp file, rename it over) is one change, and the next one is seen", async (t) => {
  const w = watched(t, { "a.ts": "v0" });
  await w.watcher.setFiles([w.path("a.ts")]);
  for (const [i, v] of ["v1", "v2"].entries()) {
    w.write("a.ts.tmp", v);
    renameSync(w.path("a.ts.tmp"), w.path("a.ts"));
    await w.until(i + 1, `atomic save ${v}`);
  }
  assert.deepEqual(w.reports, [[["a.ts", "v1"]], [["a.ts", "v2"]]]);
});

test("files added by setFiles are watched; one written since the build started is reported at once", async (t) => {
  const w = watched(t, { "a.ts": "a", "late.ts": "l0", "new.ts": "n0" });
  // Written a minute ago, as files are long before a build that finds them.
  const minuteAgo = Date.now() / 1000 - 60;
  for (const n of ["a.ts", "late.ts", "new.ts"]) utimesSync(w.path(n), minuteAgo, minuteAgo);
  await w.watcher.setFiles([w.path("a.ts")]);
  const builtAt = performance.now();
  w.write("late.ts", "l1"); // after the build read it, before it is watched
  await w.watcher.setFiles([w.path("a.ts"), w.path("late.ts"), w.path("new.ts")], builtAt);
  await w.until(1, "the late write");
  assert.deepEqual(w.reports[0], [["late.ts", "l1"]]);
  w.write("new.ts", "n1");
  await w.until(2, "new.ts's change");
  assert.deepEqual(w.reports[1], [["new.ts", "n1"]]);
  assert.equal(w.reports.length, 2);
});

test("a folder's named files are watched before they exist: created, then changed", async (t) => {
  const w = watched(t, { "a.ts": "a", "other.txt": "o" }, ["package.json"]);
  await w.watcher.setFiles([w.path("a.ts")]);
  w.write("other.txt", "not watched");
  w.write("package.json", "{}");
  await w.until(1, "package.json created");
  w.write("package.json", '{ "dependencies": {} }');
  await w.until(2, "package.json changed");
  assert.deepEqual(w.reports, [[["package.json", "{}"]], [["package.json", '{ "dependencies": {} }']]]);
});
