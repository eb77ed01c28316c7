import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pidsWithHome, portIsFree, request, sandbox, waitUntil } from "../helpers.js";

const app = (name) => `
import { App } from "nodal";
export const app = new App("${name}");
export const hello = app.webEndpoint({ method: "GET" }, async () => ({ app: "${name}" }));
`;

async function deploy(box, file) {
  const res = await box.run(["deploy", file, "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const states = async (box) => Object.fromEntries(JSON.parse((await box.run(["app", "list", "--json"])).stdout).map((a) => [a.name, a.state]));

test("a simulated reboot: resurrect brings back exactly the deployed apps, on their ports; a stopped one stays stopped", async (t) => {
  const box = sandbox(t, { "kept.ts": app("kept"), "halted.ts": app("halted"), "crashed.ts": app("crashed") });
  const kept = await deploy(box, "kept.ts");
  const halted = await deploy(box, "halted.ts");
  const crashed = await deploy(box, "crashed.ts");

  const stop = await box.run(["app", "stop", "halted"]);
  assert.equal(stop.code, 0, stop.stderr);
  // One crashed earlier: its supervisor killed (its workers follow it).
  const { pids } = JSON.parse((await box.run(["app", "show", "crashed", "--json"])).stdout);
  process.kill(pids.supervisor, "SIGKILL");
  await waitUntil(async () => (await states(box)).crashed === "crashed", { what: "crashed to read crashed" });

  // The reboot: every process of this NODAL_HOME dies at once.
  for (const pid of pidsWithHome(box.home)) process.kill(pid, "SIGKILL");
  await waitUntil(() => pidsWithHome(box.home).length === 0, { what: "every process of the home to be gone" });
  assert.deepEqual(await states(box), { kept: "crashed", halted: "stopped", crashed: "crashed" });
  assert.ok(await portIsFree(Number(new URL(kept.urls.hello).port)));

  const res = await box.run(["resurrect"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const lines = res.stdout.trim().split("\n");
  assert.equal(lines.length, 3, res.stdout);
  // In name order.
  assert.equal(lines[0], `✓ crashed v1 started again (${crashed.id}): ${crashed.urls.hello}`);
  assert.match(lines[1], /^- halted stays stopped \(stopped on purpose at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
  assert.equal(lines[2], `✓ kept v1 started again (${kept.id}): ${kept.urls.hello}`);

  assert.deepEqual(await states(box), { kept: "deployed", halted: "stopped", crashed: "deployed" });
  assert.deepEqual(JSON.parse((await request(kept.urls.hello)).body), { app: "kept" });
  assert.deepEqual(JSON.parse((await request(crashed.urls.hello)).body), { app: "crashed" });
  assert.ok(await portIsFree(Number(new URL(halted.urls.hello).port)), "the stopped app's port stays free");

  // Again: nothing to do, and nothing is started twice.
  const before = pidsWithHome(box.home).sort();
  const again = await box.run(["resurrect"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(
    again.stdout.replace(/\(stopped on purpose at [^)]+\)/, "(stopped on purpose at T)"),
    `- crashed v1 is running already (${crashed.id})\n- halted stays stopped (stopped on purpose at T)\n- kept v1 is running already (${kept.id})\n`,
  );
  assert.deepEqual(pidsWithHome(box.home).sort(), before);
});

test("resurrect starts an app from the version its record names, not a newer file on disk", async (t) => {
  const box = sandbox(t, { "app.ts": app("snap") });
  const first = await deploy(box, "app.ts");
  box.write({ "app.ts": app("snap").replace('({ app: "snap" })', '({ app: "edited" })') });
  for (const pid of pidsWithHome(box.home)) process.kill(pid, "SIGKILL");
  await waitUntil(() => pidsWithHome(box.home).length === 0, { what: "every process of the home to be gone" });
  const res = await box.run(["resurrect"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(res.stdout, `✓ snap v1 started again (${first.id}): ${first.urls.hello}\n`);
  assert.deepEqual(JSON.parse((await request(first.urls.hello)).body), { app: "snap" });
});

test("resurrect with nothing deployed says so", async (t) => {
  const box = sandbox(t);
  const res = await box.run(["resurrect"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "No deployed apps to bring back.\n");
});

test("an app whose version is gone is reported, the others still start, and resurrect exits 1", async (t) => {
  const box = sandbox(t, { "a.ts": app("alpha"), "b.ts": app("beta") });
  const alpha = await deploy(box, "a.ts");
  await deploy(box, "b.ts");
  for (const pid of pidsWithHome(box.home)) process.kill(pid, "SIGKILL");
  await waitUntil(() => pidsWithHome(box.home).length === 0, { what: "every process of the home to be gone" });
  rmSync(join(box.home, "deployments", "beta", "versions", "v1"), { recursive: true });
  const res = await box.run(["resurrect"], { timeoutMs: 60_000 });
  assert.equal(res.code, 1);
  // Its old port, unless another app on this machine took it meanwhile (tests share ports).
  const url = res.stdout.match(/^✓ alpha v1 started again \(([^)]+)\): (\S+)$/m);
  assert.ok(url, res.stdout);
  assert.equal(url[1], alpha.id);
  if (url[2] !== alpha.urls.hello) assert.equal(await portIsFree(Number(new URL(alpha.urls.hello).port)), false, `${alpha.urls.hello} was free, yet not taken back`);
  assert.equal(
    res.stdout,
    `✓ alpha v1 started again (${alpha.id}): ${url[2]}\n✗ beta v1 did not start: its version v1 is missing (see \`nodal app history beta\`)\n`,
  );
  assert.match(res.stderr, /Error: 1 of 2 apps did not start/);
  assert.deepEqual(await states(box), { alpha: "deployed", beta: "crashed" });
});

test("a supervisor ended by SIGTERM (a shutdown) stays deployed and resurrect starts it again; app stop is on purpose", async (t) => {
  const box = sandbox(t, { "app.ts": app("term") });
  const first = await deploy(box, "app.ts");
  const { pids } = JSON.parse((await box.run(["app", "show", "term", "--json"])).stdout);
  process.kill(pids.supervisor, "SIGTERM");
  await waitUntil(() => pidsWithHome(box.home).length === 0, { what: "the app's processes to end" });
  assert.deepEqual(await states(box), { term: "crashed" });
  const logs = await box.run(["app", "logs", "term", "--function", "nodal"]);
  assert.match(logs.stdout, /stopped by a signal; still deployed/);

  const res = await box.run(["resurrect"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(res.stdout, `✓ term v1 started again (${first.id}): ${first.urls.hello}\n`);
  assert.deepEqual(JSON.parse((await request(first.urls.hello)).body), { app: "term" });

  const stop = await box.run(["app", "stop", "term"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.deepEqual(await states(box), { term: "stopped" });
  const after = await box.run(["resurrect"]);
  assert.match(after.stdout, /^- term stays stopped/);
  assert.deepEqual(pidsWithHome(box.home), []);
});
