import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";
import { assertUserError, dataOf, ok, snapshot } from "./asserts.js";

const tree = { "src/top.txt": "top\n", "src/a/one.txt": "one\n", "src/a/b/two.txt": "two\n", "note.txt": "note v1\n" };

test("create, list --json, and a second create refused", async (t) => {
  const box = sandbox(t);
  assert.match((await ok(box, ["volume", "create", "v"])).stdout, /Created volume "v"/);
  const meta = readFileSync(join(box.home, "volumes", "v", "volume.json"), "utf8");
  assertUserError(await box.run(["volume", "create", "v"]), /^Error: volume "v" already exists$/m);
  assert.equal(readFileSync(join(box.home, "volumes", "v", "volume.json"), "utf8"), meta, "metadata untouched");
  assertUserError(await box.run(["volume", "create", "bad/name"]), /invalid volume name "bad\/name"/);
  const list = JSON.parse((await ok(box, ["volume", "list", "--json"])).stdout);
  assert.equal(list.length, 1);
  assert.deepEqual({ name: list[0].name, files: list[0].files, size: list[0].size }, { name: "v", files: 0, size: 0 });
  assert.ok(!Number.isNaN(Date.parse(list[0].createdAt)));
  assert.match((await ok(box, ["volume", "list"])).stdout, /^Name\s+Created\s+Files\s+Size\nv\s/);
});

test("put and get round-trip a file and a nested folder; ls shows them", async (t) => {
  const box = sandbox(t, tree);
  await ok(box, ["volume", "create", "v"]);
  assert.match((await ok(box, ["volume", "put", "v", "note.txt"])).stdout, /Uploaded "note\.txt" to v:\/note\.txt/);
  assert.match((await ok(box, ["volume", "put", "v", "src", "/backup/"])).stdout, /Uploaded 3 files from "src" to v:\/backup\/src/);
  await ok(box, ["volume", "put", "v", "src", "/flat"]); // a REMOTE without "/" is the folder's new path
  assert.equal(readFileSync(join(dataOf(box, "v"), "note.txt"), "utf8"), "note v1\n");
  assert.equal(readFileSync(join(dataOf(box, "v"), "backup/src/a/b/two.txt"), "utf8"), "two\n");
  assert.equal(readFileSync(join(dataOf(box, "v"), "flat/a/one.txt"), "utf8"), "one\n");

  const root = JSON.parse((await ok(box, ["volume", "ls", "v", "--json"])).stdout);
  assert.deepEqual(root.map((e) => [e.path, e.type]), [["backup", "directory"], ["flat", "directory"], ["note.txt", "file"]]);
  assert.equal(root[2].size, 8);
  const sub = JSON.parse((await ok(box, ["volume", "ls", "v", "/backup/src/a", "--json"])).stdout);
  assert.deepEqual(sub.map((e) => [e.path, e.type]), [["backup/src/a/b", "directory"], ["backup/src/a/one.txt", "file"]]);
  assert.match((await ok(box, ["volume", "ls", "v"])).stdout, /^Path\s+Type\s+Size\s+Modified\nbackup\/\s+dir/);
  assert.equal(JSON.parse((await ok(box, ["volume", "list", "--json"])).stdout)[0].files, 7);

  await ok(box, ["volume", "get", "v", "note.txt", "copy.txt"]);
  assert.equal(readFileSync(join(box.dir, "copy.txt"), "utf8"), "note v1\n");
  mkdirSync(join(box.dir, "out"));
  await ok(box, ["volume", "get", "v", "backup/src", "out"]); // an existing folder receives it by name
  assert.deepEqual(snapshot(join(box.dir, "out", "src")), snapshot(join(box.dir, "src")));
  await ok(box, ["volume", "get", "v", "/flat", "restored"]);
  assert.deepEqual(snapshot(join(box.dir, "restored")), snapshot(join(box.dir, "src")));
  const piped = await ok(box, ["volume", "get", "v", "backup/src/a/b/two.txt", "-"]);
  assert.equal(piped.stdout, "two\n");
  assertUserError(await box.run(["volume", "get", "v", "backup", "-"]), /"backup" is a directory/);
  assert.ok(!readdirSync(dataOf(box, "v")).some((n) => n.endsWith(".tmp")), "no temp files left behind");
});

test("put and get refuse to overwrite without --force, and write nothing when they refuse", async (t) => {
  const box = sandbox(t, tree);
  await ok(box, ["volume", "create", "v"]);
  await ok(box, ["volume", "put", "v", "note.txt"]);
  await ok(box, ["volume", "put", "v", "src", "/src"]);
  box.write({ "note.txt": "note v2\n", "src/a/new.txt": "new\n", "src/top.txt": "top v2\n" });

  const before = snapshot(box.home);
  const res = await box.run(["volume", "put", "v", "note.txt"]);
  assertUserError(res, /^Error: "\/note\.txt" already exists in volume "v"$/m);
  assert.match(res.stderr, /Hint: pass --force to overwrite/);
  assertUserError(await box.run(["volume", "put", "v", "src", "/src"]), /"\/src\/a\/b\/two\.txt" already exists in volume "v" \(and 2 other files\)/);
  assert.deepEqual(snapshot(box.home), before, "the volume is untouched, src/a/new.txt included");

  await ok(box, ["volume", "put", "v", "note.txt", "--force"]);
  await ok(box, ["volume", "put", "v", "src", "/src", "--force"]);
  assert.equal(readFileSync(join(dataOf(box, "v"), "note.txt"), "utf8"), "note v2\n");
  assert.equal(readFileSync(join(dataOf(box, "v"), "src/top.txt"), "utf8"), "top v2\n");
  assert.equal(readFileSync(join(dataOf(box, "v"), "src/a/new.txt"), "utf8"), "new\n");

  box.write({ "local/note.txt": "mine\n", "local/src/top.txt": "mine too\n" });
  const local = snapshot(join(box.dir, "local"));
  assertUserError(await box.run(["volume", "get", "v", "note.txt", "local"]), /^Error: "local\/note\.txt" already exists$/m);
  assertUserError(await box.run(["volume", "get", "v", "src", "local"]), /"local\/src\/top\.txt" already exists/);
  assert.deepEqual(snapshot(join(box.dir, "local")), local, "local files untouched, nothing added");
  await ok(box, ["volume", "get", "v", "note.txt", "local", "--force"]);
  await ok(box, ["volume", "get", "v", "src", "local", "--force"]);
  assert.equal(readFileSync(join(box.dir, "local/note.txt"), "utf8"), "note v2\n");
  assert.equal(readFileSync(join(box.dir, "local/src/a/b/two.txt"), "utf8"), "two\n");
});

test("rm deletes files, and directories only with -r; delete needs --yes", async (t) => {
  const box = sandbox(t, tree);
  await ok(box, ["volume", "create", "v"]);
  await ok(box, ["volume", "put", "v", "src", "/src"]);
  await ok(box, ["volume", "rm", "v", "src/top.txt"]);
  assert.ok(!existsSync(join(dataOf(box, "v"), "src/top.txt")));
  const res = await box.run(["volume", "rm", "v", "src"]);
  assertUserError(res, /^Error: "\/src" is a directory in volume "v"$/m);
  assert.match(res.stderr, /Hint: pass -r/);
  assert.ok(existsSync(join(dataOf(box, "v"), "src/a/b/two.txt")));
  assertUserError(await box.run(["volume", "rm", "v", "src/nope.txt"]), /no file or directory "src\/nope\.txt" in volume "v"/);
  assertUserError(await box.run(["volume", "rm", "v", "/", "-r"]), /is the root of volume "v"[^]*nodal volume delete v/);
  await ok(box, ["volume", "rm", "v", "src", "-r"]);
  assert.deepEqual(readdirSync(dataOf(box, "v")), []);
  assert.match((await ok(box, ["volume", "ls", "v"])).stdout, /volume "v" is empty/);

  await ok(box, ["volume", "put", "v", "note.txt"]);
  const refused = await box.run(["volume", "delete", "v"]);
  assertUserError(refused, /not deleting volume "v"/);
  assert.match(refused.stderr, /Hint: .*nodal volume delete v --yes/);
  assert.equal(readFileSync(join(dataOf(box, "v"), "note.txt"), "utf8"), "note v1\n");
  await ok(box, ["volume", "delete", "v", "--yes"]);
  assert.deepEqual(readdirSync(join(box.home, "volumes")), [], "no leftovers");
  assert.deepEqual(JSON.parse((await ok(box, ["volume", "list", "--json"])).stdout), []);
});
