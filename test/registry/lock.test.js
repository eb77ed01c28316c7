import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

/**
 * A lock directory that stays fresh for a few seconds: dated ahead, so that however long the
 * deploy takes to reach it (a loaded machine), it waits past the 1 s after which it says why.
 * With NODAL_LOCK_STALE_MS=2000 it is taken over 2 s after that date.
 */
function holdFresh(dir) {
  mkdirSync(dir, { recursive: true });
  const ahead = new Date(Date.now() + 3000);
  utimesSync(dir, ahead, ahead);
}

const app = `import { App } from "nodal";
export const app = new App("locked");
export const hello = app.webEndpoint({}, async () => ({ ok: true }));
`;

test("a deploy that waits for a stale lock says for which app and what holds it, then takes it over", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  // A lock as a killed `nodal deploy` leaves it: the lock directory (just refreshed) and its owner.
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  holdFresh(join(box.home, "locks", "locked.lock"));
  writeFileSync(join(box.home, "locks", "locked.owner"), JSON.stringify({ pid: dead, pidStart: "1", command: "nodal deploy app.ts", since: new Date().toISOString() }));

  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000, env: { NODAL_LOCK_STALE_MS: "2000" } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).name, "locked");
  const lines = res.stderr.split("\n").filter((l) => l.startsWith("waiting for"));
  assert.deepEqual(lines, [
    `waiting for the lock of app "locked", held by \`nodal deploy app.ts\` (pid ${dead}), which is no longer running; a lock left by a killed command is taken over 2 s after its last refresh`,
  ]);
  const stop = await box.run(["app", "stop", "locked"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.doesNotMatch(stop.stderr, /waiting for/, "a free lock is taken in silence");
});

test("a lock with no owner recorded is named as such", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  holdFresh(join(box.home, "locks", "locked.lock"));
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000, env: { NODAL_LOCK_STALE_MS: "2000" } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /^waiting for the lock of app "locked", held by another nodal command \(it did not say which\); a lock left by a killed command is taken over 2 s after its last refresh$/m);
  assert.equal(res.stderr.match(/waiting for/g).length, 1);
  await box.run(["app", "stop", "locked"]);
});
