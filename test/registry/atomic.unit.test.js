import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  TEMP_FILE_RE,
  copyFileAtomic,
  isTempName,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from "../../dist/modules/registry/atomic.js";

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-atomic-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("temp files sit beside the target and name their writer's pid, in the pattern a sweep recognises", (t) => {
  const dir = tempDir(t);
  const tmp = tempPathFor(join(dir, "a-rather-long-name.json"));
  assert.equal(join(tmp, ".."), dir);
  const name = tmp.slice(dir.length + 1);
  assert.match(name, TEMP_FILE_RE);
  assert.equal(Number(TEMP_FILE_RE.exec(name)[1]), process.pid);
  assert.ok(isTempName(tmp));
  assert.notEqual(tempPathFor(join(dir, "x")), tempPathFor(join(dir, "x")), "two writes never share a temp name");
  assert.equal(isTempName("report.json"), false);
});

test("the sync writer replaces a file whole, owner-only by default, and leaves no temp file", (t) => {
  const dir = tempDir(t);
  const file = join(dir, "rec.json");
  writeFileSync(file, "old");
  writeFileAtomicSync(file, "new text\n");
  assert.equal(readFileSync(file, "utf8"), "new text\n");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  writeFileAtomicSync(join(dir, "open.txt"), Buffer.from("bytes"), { mode: 0o640 });
  assert.equal(statSync(join(dir, "open.txt")).mode & 0o777, 0o640 & ~process.umask());
  assert.deepEqual(readdirSync(dir).sort(), ["open.txt", "rec.json"]);
});

test("an exclusive write creates a file but never replaces one, and cleans up its temp file", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "secret.json");
  writeFileAtomicSync(file, "first", { exclusive: true });
  assert.throws(() => writeFileAtomicSync(file, "second", { exclusive: true }), { code: "EEXIST" });
  await assert.rejects(writeFileAtomic(file, "third", { exclusive: true }), { code: "EEXIST" });
  assert.equal(readFileSync(file, "utf8"), "first");
  assert.deepEqual(readdirSync(dir), ["secret.json"]);
});

test("the async writer and the atomic copy replace whole files; a failed write leaves the old file and no temp", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "v.json");
  await writeFileAtomic(file, JSON.stringify({ n: 1 }));
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { n: 1 });
  const src = join(dir, "src.bin");
  writeFileSync(src, Buffer.alloc(100_000, 7), { mode: 0o644 });
  await copyFileAtomic(src, file);
  assert.deepEqual(readFileSync(file), Buffer.alloc(100_000, 7));
  // Copying from a file that does not exist fails before anything is replaced.
  await assert.rejects(copyFileAtomic(join(dir, "missing"), file), { code: "ENOENT" });
  assert.deepEqual(readFileSync(file), Buffer.alloc(100_000, 7));
  assert.deepEqual(readdirSync(dir).sort(), ["src.bin", "v.json"]);
  assert.ok(!existsSync(join(dir, "missing")));
});
