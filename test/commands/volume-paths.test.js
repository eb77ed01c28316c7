import assert from "node:assert/strict";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";
import { assertUserError, dataOf, ok, snapshot } from "./asserts.js";

test("a path that leaves the volume is refused in one line, and nothing is read or written", async (t) => {
  const box = sandbox(t, { "f.txt": "payload\n", "outside/secret.txt": "keep out\n" });
  await ok(box, ["volume", "create", "v"]);
  await ok(box, ["volume", "put", "v", "f.txt"]);
  const cases = [
    [["volume", "put", "v", "f.txt", "../../escape.txt"], "../../escape.txt"],
    [["volume", "put", "v", "f.txt", "../x/"], "../x/f.txt"],
    [["volume", "get", "v", "../../../etc/passwd", "stolen"], "../../../etc/passwd"],
    [["volume", "get", "v", "../volume.json", "-"], "../volume.json"],
    [["volume", "ls", "v", ".."], ".."],
    [["volume", "rm", "v", "../volume.json"], "../volume.json"],
    [["volume", "rm", "v", "a/../../..", "-r"], "a/../../.."],
  ];
  for (const [args, shown] of cases) {
    const before = snapshot(box.dir);
    const res = await box.run(args);
    assert.equal(res.code, 1, args.join(" "));
    assert.equal(res.stderr, `Error: path "${shown}" leaves volume "v"\n`);
    assert.equal(res.stdout, "");
    assert.deepEqual(snapshot(box.dir), before, `nothing changed by ${args.join(" ")}`);
  }

  // A link written into the volume (by an app, say) must not be a way out either.
  symlinkSync(join(box.dir, "outside"), join(dataOf(box, "v"), "door"));
  const before = snapshot(box.dir);
  const read = await box.run(["volume", "get", "v", "door/secret.txt", "-"]);
  assertUserError(read, /^Error: path "door\/secret\.txt" leaves volume "v" through a symbolic link$/m);
  assert.doesNotMatch(read.stdout, /keep out/);
  assertUserError(await box.run(["volume", "put", "v", "f.txt", "door/planted.txt"]), /leaves volume "v" through a symbolic link/);
  assertUserError(await box.run(["volume", "get", "v", "door", "-"]), /not a regular file or directory/);
  assert.deepEqual(snapshot(box.dir), before);
  await ok(box, ["volume", "get", "v", "/", "dump"]);
  assert.deepEqual(snapshot(join(box.dir, "dump")), { "f.txt": "payload\n" }, "links are not followed when downloading a folder");
  await ok(box, ["volume", "rm", "v", "door"]); // removes the link itself, never its target
  assert.deepEqual(snapshot(join(box.dir, "outside")), { "secret.txt": "keep out\n" });
});

test("an unknown volume is a clear error with the command that creates it", async (t) => {
  const box = sandbox(t, { "f.txt": "x\n" });
  for (const args of [
    ["volume", "ls", "nope"],
    ["volume", "put", "nope", "f.txt"],
    ["volume", "get", "nope", "f.txt"],
    ["volume", "rm", "nope", "f.txt"],
    ["volume", "delete", "nope", "--yes"],
  ]) {
    const res = await box.run(args);
    assertUserError(res, /^Error: volume "nope" does not exist$/m);
    assert.match(res.stderr, /Hint: .*`nodal volume create nope`/);
  }
  assert.ok(!existsSync(join(box.home, "volumes", "nope")), "nothing created");
});
