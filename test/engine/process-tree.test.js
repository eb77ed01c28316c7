import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

const SDK = JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href);

/**
 * An app whose web factory starts `sleep WEB` (in the worker's group) and `sleep DETACHED`
 * (in a session of its own), and whose function `spawner` starts `sleep FN`.
 */
const app = ({ web, detached, fn }) => `
import express from "express";
import { spawn } from "node:child_process";
import { App } from "nodal";
export const app = new App("tree");
export const spawner = app.function({}, async () => spawn("sleep", ["${fn}"], { stdio: "ignore" }).pid);
export const api = app.webApp({}, () => {
  spawn("sleep", ["${web}"], { stdio: "ignore" });
  spawn("sleep", ["${detached}"], { stdio: "ignore", detached: true }).unref();
  const web = express();
  web.get("/", (_req, res) => { res.json({ ok: true }); });
  return web;
});
`;

/** Pids of live (not zombie) `sleep SECONDS` processes. */
function sleeps(seconds) {
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8") !== `sleep\0${seconds}\0`) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") found.push(Number(name));
    } catch {}
  }
  return found;
}

/** Deploys the app, calls its function, and waits until all three sleeps run. */
async function deployWithChildren(t, seconds) {
  const box = sandbox(t, { "app.ts": app(seconds) });
  t.after(() => {
    for (const s of Object.values(seconds)) for (const pid of sleeps(s)) process.kill(pid, "SIGKILL");
  });
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal((await request(JSON.parse(res.stdout).urls.api)).status, 200);
  box.write({ "client.mjs": `import { Function } from ${SDK};\nconsole.log(await Function.fromName("tree", "spawner").remote());\n` });
  const call = spawnSync(process.execPath, ["client.mjs"], { cwd: box.dir, env: box.env, encoding: "utf8", timeout: 20_000 });
  assert.equal(call.status, 0, call.stderr);
  await waitUntil(() => Object.values(seconds).every((s) => sleeps(s).length === 1), { what: "the three sleeps running" });
  return box;
}

test("app stop ends the processes the app's workers started, in their group or not", async (t) => {
  const seconds = { web: 611, detached: 612, fn: 613 };
  const box = await deployWithChildren(t, seconds);
  const stop = await box.run(["app", "stop", "tree"]);
  assert.equal(stop.code, 0, stop.stderr);
  await waitUntil(() => Object.values(seconds).every((s) => sleeps(s).length === 0), {
    timeoutMs: 5000,
    what: `no sleep left (left: ${JSON.stringify(Object.fromEntries(Object.entries(seconds).map(([k, s]) => [k, sleeps(s)])))})`,
  });
});

test("kill -9 of the supervisor: its workers go, and take what they started with them", async (t) => {
  const seconds = { web: 621, detached: 622, fn: 623 };
  const box = await deployWithChildren(t, seconds);
  const show = JSON.parse((await box.run(["app", "show", "tree", "--json"])).stdout);
  process.kill(show.pids.supervisor, "SIGKILL");
  await waitUntil(() => Object.values(seconds).every((s) => sleeps(s).length === 0), {
    timeoutMs: 5000,
    what: `no sleep left (left: ${JSON.stringify(Object.fromEntries(Object.entries(seconds).map(([k, s]) => [k, sleeps(s)])))})`,
  });
  await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 5000, what: "no worker left" });
});
