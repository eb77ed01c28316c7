import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pidAlive, sweep, sweepVolume } from "../../dist/modules/registry/sweep.js";
import { fakeHome } from "./fake-home.js";

/** The pid of a process that has exited (and been reaped). */
function deadPid() {
  const res = spawnSync(process.execPath, ["-e", "0"]);
  assert.equal(res.status, 0);
  return res.pid;
}

/** The pid of another live process, killed after the test. */
function livePid(t) {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  return child.pid;
}

function plant(path, text = "x") {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

test("pidAlive tells a running process from one that has exited", (t) => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(livePid(t)), true);
  assert.equal(pidAlive(deadPid()), false);
});

test("sweep removes the temp files and deploy build folders of dead processes, and only those", (t) => {
  const { home } = fakeHome(t);
  const dead = deadPid();
  const live = livePid(t);
  const gone = [
    plant(join(home, "apps", `.nodal-${dead}-1a2b.tmp`)),
    plant(join(home, "secrets", `.nodal-${dead}-ff.tmp`)),
    plant(join(home, "volumes", "v", `.nodal-${dead}-9.tmp`)),
    plant(join(home, "deployments", "api", "versions", "v3", `.nodal-${dead}-abc.tmp`)),
    join(home, "builds", `deploy-${dead}-1700000000000`),
  ];
  plant(join(gone[4], "app.mjs"));
  const kept = [
    plant(join(home, "apps", `.nodal-${live}-1a2b.tmp`)),
    plant(join(home, "apps", `.nodal-${process.pid}-2.tmp`)),
    plant(join(home, "apps", "ap-x.json"), "{}"),
    plant(join(home, "apps", `notours-${dead}.tmp`)),
    join(home, "builds", `deploy-${live}-1700000000000`),
    join(home, "builds", "ap-serving"), // a serve session's build folder: not a deploy's
  ];
  mkdirSync(kept[4]);
  mkdirSync(kept[5]);
  const removed = sweep();
  assert.deepEqual([...removed].sort(), [...gone].sort());
  for (const p of gone) assert.ok(!existsSync(p), `${p} removed`);
  for (const p of kept) assert.ok(existsSync(p), `${p} kept`);
});

test("sweepVolume removes a killed writer's temp files anywhere in the volume, never a live one's or the user's files", (t) => {
  const { home } = fakeHome(t);
  const dead = deadPid();
  const live = livePid(t);
  const root = join(home, "volumes", "v");
  const gone = [plant(join(root, "data", "deep", "er", `.nodal-${dead}-77.tmp`)), plant(join(root, `.nodal-${dead}-1.tmp`))];
  const kept = [
    plant(join(root, "data", "deep", `.nodal-${live}-77.tmp`)),
    plant(join(root, "data", "deep", "file.tmp")),
    plant(join(root, "data", `x.${dead}.1.tmp`)),
    plant(join(root, "volume.json"), "{}"),
  ];
  assert.deepEqual(sweepVolume(root).sort(), gone.sort());
  for (const p of gone) assert.ok(!existsSync(p));
  for (const p of kept) assert.ok(existsSync(p));
});
