import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

const deadPid = () => spawnSync(process.execPath, ["-e", "0"]).pid;

function livePid(t) {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  return child.pid;
}

function plant(path, text = "partial") {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

test("a volume command removes the temp files that killed writers left in the volume and the registry, never a live writer's", async (t) => {
  const box = sandbox(t);
  assert.equal((await box.run(["volume", "create", "v"])).code, 0);
  const dead = deadPid();
  const live = livePid(t);
  const data = join(box.home, "volumes", "v", "data");
  // A `volume put` killed mid-copy, a `writeJSON` killed mid-write, a record write killed.
  const gone = [
    plant(join(data, "big", `.nodal-${dead}-5f3a.tmp`)),
    plant(join(data, `.nodal-${dead}-77.tmp`)),
    plant(join(box.home, "apps", `.nodal-${dead}-1.tmp`)),
    plant(join(box.home, "volumes", "v", `.nodal-${dead}-2.tmp`)),
  ];
  const kept = [plant(join(data, "big", `.nodal-${live}-5f3a.tmp`)), plant(join(data, "big", "real.bin"), "mine")];
  const ls = await box.run(["volume", "ls", "v", "big"]);
  assert.equal(ls.code, 0, ls.stderr);
  for (const p of gone) assert.ok(!existsSync(p), `removed: ${p}`);
  for (const p of kept) assert.ok(existsSync(p), `kept: ${p}`);
  assert.doesNotMatch(ls.stdout, new RegExp(`nodal-${dead}`));
});

test("deploy removes the build folders of deploy commands that are no longer running, never a running one's", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("swept");
export const hello = app.webEndpoint({}, async () => ({ ok: true }));
`,
  });
  const dead = deadPid();
  const live = livePid(t);
  const deadBuild = join(box.home, "builds", `deploy-${dead}-1700000000000`);
  const liveBuild = join(box.home, "builds", `deploy-${live}-1700000000000`);
  plant(join(deadBuild, "app.mjs"));
  plant(join(liveBuild, "app.mjs"));
  const res = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.ok(!existsSync(deadBuild), "the dead deploy's build folder is removed");
  assert.ok(existsSync(join(liveBuild, "app.mjs")), "the running deploy's build folder is kept");
  await box.run(["app", "stop", "swept"]);
});
