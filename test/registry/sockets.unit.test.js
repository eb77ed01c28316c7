import assert from "node:assert/strict";
import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { controlSocketPath, shortRunDirPath, socketDirs } from "../../dist/modules/registry/sockets.js";
import { fakeHome } from "./fake-home.js";

/** A NODAL_HOME of about 110 bytes under a fresh temp home. */
function longHome(t) {
  const { home } = fakeHome(t);
  const long = join(home, "l".repeat(Math.max(1, 110 - home.length - 1)));
  process.env.NODAL_HOME = long;
  const short = shortRunDirPath();
  t.after(() => rmSync(short, { recursive: true, force: true }));
  return long;
}

test("a socket path that fits stays under NODAL_HOME/run", (t) => {
  const { home } = fakeHome(t);
  assert.equal(controlSocketPath("ap-abcdefghij"), join(home, "run", "ap-abcdefghij.sock"));
  assert.equal(statSync(join(home, "run")).mode & 0o777, 0o700);
  assert.deepEqual(socketDirs(), [join(home, "run")]);
});

test("with a long NODAL_HOME, sockets go to a short owner-only directory named for it", (t) => {
  const home = longHome(t);
  assert.ok(Buffer.byteLength(join(home, "run", "ap-abcdefghij.sock")) > 107);
  const path = controlSocketPath("ap-abcdefghij");
  assert.ok(Buffer.byteLength(path) <= 107, path);
  assert.match(path, new RegExp(`^/tmp/nodal-${process.getuid()}-[0-9a-f]{12}/ap-abcdefghij\\.sock$`));
  const dir = join(path, "..");
  assert.equal(dir, shortRunDirPath());
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(dir).uid, process.getuid());
  assert.deepEqual(socketDirs(), [join(home, "run"), dir]);
  // Another NODAL_HOME gets another directory.
  process.env.NODAL_HOME = home + "2";
  assert.notEqual(shortRunDirPath(), dir);
});

test("an existing short directory that others may enter is refused, never used", (t) => {
  longHome(t);
  const dir = shortRunDirPath();
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o777);
  assert.throws(() => controlSocketPath("ap-abcdefghij"), (e) => e.code === "E_INVALID_STATE" && e.message.includes(dir));
  chmodSync(dir, 0o700);
  assert.equal(controlSocketPath("ap-abcdefghij"), join(dir, "ap-abcdefghij.sock"));
});
