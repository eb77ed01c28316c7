import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

const SECRET = "sk-live-8f3a9c1d77";

const app = (reply = "v1") => `
import express from "express";
import { App, Secret, Volume } from "nodal";
export const app = new App("store");
const data = Volume.fromName("store-data", { createIfMissing: true });
const other = Volume.fromName("other-data", { createIfMissing: true });
const keys = Secret.fromName("store-keys", { requiredKeys: ["API_KEY"] });
const web = express();
web.use(express.json());
web.get("/", async (_req, res) => {
  console.log("the key is " + process.env.API_KEY + "!");
  res.json({ reply: "${reply}", count: (await data.readJSON<{ n: number }>("counter.json"))?.n ?? 0 });
});
web.post("/inc", async (_req, res) => {
  const cur = (await data.readJSON<{ n: number }>("counter.json"))?.n ?? 0;
  await data.writeJSON("counter.json", { n: cur + 1 });
  const version = await data.commit();
  res.json({ n: cur + 1, version, files: (await data.listdir()).map((e) => e.path) });
});
web.get("/escape", async (_req, res) => {
  try { await data.readJSON("../../secrets/store-keys.json"); res.json({ escaped: true }); }
  catch (e) { res.status(400).json({ name: (e as Error).name, message: (e as Error).message }); }
});
web.get("/undeclared", async (_req, res) => { await other.writeJSON("x.json", { x: 1 }); res.json({ ok: true }); });
export const api = app.webApp({ volumes: { "/data": data }, secrets: [keys] }, () => web);
`;

async function setup(t) {
  const box = sandbox(t, { "app.ts": app() });
  const sec = await box.run(["secret", "create", "store-keys", `API_KEY=${SECRET}`]);
  assert.equal(sec.code, 0, sec.stderr);
  const res = await box.run(["deploy", "app.ts", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return { box, url: JSON.parse(res.stdout).urls.api, id: JSON.parse(res.stdout).id };
}

test("a secret's value is masked in the logs and never shown by app show or secret list", async (t) => {
  const { box, url } = await setup(t);
  assert.equal((await request(url)).status, 200);
  let logs = "";
  await waitUntil(async () => (logs = (await box.run(["app", "logs", "store", "--json"])).stdout).includes("the key is"), { what: "the log line" });
  assert.match(logs, /the key is \*\*\*!/);
  for (const cmd of [["app", "logs", "store"], ["app", "show", "store", "--json"], ["app", "show", "store"], ["secret", "list", "--json"], ["app", "list", "--json"]]) {
    const r = await box.run(cmd);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), `${cmd.join(" ")} shows the value`);
  }
  const show = JSON.parse((await box.run(["app", "show", "store", "--json"])).stdout);
  assert.deepEqual(show.functions.find((f) => f.name === "api").secrets, ["store-keys"]);
  // Nor does any file under logs/.
  for (const f of readdirSync(join(box.home, "logs"), { recursive: true })) {
    const p = join(box.home, "logs", f);
    if (statSync(p).isFile()) assert.ok(!readFileSync(p, "utf8").includes(SECRET), `${f} holds the value`);
  }
});

test("a missing required key fails the deploy naming the key; a missing secret names the secret", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  const none = await box.run(["deploy", "app.ts"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /secret "store-keys" does not exist; create it with `nodal secret create store-keys KEY=VALUE`/);
  await box.run(["secret", "create", "store-keys", "OTHER=1"]);
  const missing = await box.run(["deploy", "app.ts"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /secret "store-keys" is missing required key API_KEY/);
  assert.deepEqual(JSON.parse((await box.run(["app", "list", "--json"])).stdout), []);
});

test("volume helpers: atomic JSON writes, commit versions, listdir; a path leaving the volume is refused; data survives redeploy and stop + deploy", async (t) => {
  const { box, url } = await setup(t);
  const one = JSON.parse((await request(`${url}/inc`, { method: "POST" })).body);
  const two = JSON.parse((await request(`${url}/inc`, { method: "POST" })).body);
  assert.deepEqual([one.n, two.n], [1, 2]);
  assert.equal(two.version, one.version + 1);
  assert.deepEqual(two.files, ["counter.json"]);
  const esc = await request(`${url}/escape`);
  assert.equal(esc.status, 400);
  assert.deepEqual(JSON.parse(esc.body).name, "InvalidError");
  assert.match(JSON.parse(esc.body).message, /leaves volume "store-data"/);
  // On disk, where `nodal volume get` finds it.
  const get = await box.run(["volume", "get", "store-data", "counter.json", "-"]);
  assert.deepEqual(JSON.parse(get.stdout), { n: 2 });

  box.write({ "app.ts": app("v2") });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  assert.deepEqual(JSON.parse((await request(url)).body), { reply: "v2", count: 2 });
  assert.equal((await box.run(["app", "stop", "store"])).code, 0);
  const again = JSON.parse((await box.run(["deploy", "app.ts", "--json"])).stdout);
  assert.equal(JSON.parse((await request(again.urls.api)).body).count, 2);
});

test("using a volume the function did not declare logs a warning (on Modal it would not be mounted)", async (t) => {
  const { box, url } = await setup(t);
  assert.equal((await request(`${url}/undeclared`)).status, 200);
  await request(`${url}/undeclared`);
  let logs = "";
  await waitUntil(async () => (logs = (await box.run(["app", "logs", "store", "--search", "warning"])).stdout).includes("other-data"), { what: "the warning" });
  assert.match(logs, /function "api" uses volume "other-data" without declaring it/);
  assert.equal(logs.trim().split("\n").length, 1, "warned once");
});

test("logs rotate by size and --tail reads across the rotated files in order", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import express from "express";
import { App } from "nodal";
export const app = new App("rot");
const web = express();
web.get("/print", (_req, res) => { for (let i = 0; i < 1000; i++) console.log("row " + i + " " + "x".repeat(100)); res.json({}); });
export const api = app.webApp({}, () => web);
`,
  });
  // 45 KB files: the 5 rotated ones keep all 1,000 lines even when a loaded machine reads the
  // worker's pipe a line at a time (a record per line, ~200 bytes each, 200 KB in all).
  const dep = await box.run(["deploy", "app.ts", "--json"], { env: { NODAL_LOG_MAX_BYTES: "45000" } });
  assert.equal(dep.code, 0, dep.stderr);
  const { urls, id } = JSON.parse(dep.stdout);
  await request(`${urls.api}/print`);
  let rows = [];
  await waitUntil(async () => {
    rows = (await box.run(["app", "logs", "rot", "--tail", "1000", "--source", "stdout", "--json"])).stdout.trim().split("\n").map((l) => JSON.parse(l).line);
    return rows.length === 1000;
  }, { what: "1000 rows" });
  rows.forEach((r, i) => assert.equal(r, `row ${i} ${"x".repeat(100)}`));
  const files = readdirSync(join(box.home, "logs", id)).filter((f) => f.startsWith("app.log"));
  assert.ok(files.includes("app.log.1") && files.length >= 3, files.join(","));
  for (const f of files) assert.ok(statSync(join(box.home, "logs", id, f)).size <= 45000, `${f} too big`);
});
