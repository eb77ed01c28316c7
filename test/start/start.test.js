// `nodal start`: what a container runs. Real processes, real ports, real signals.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { Builder } from "../../dist/modules/loader/build.js";
import { freePorts, pidsWithHome, request, ROOT, sandbox, waitUntil } from "../helpers.js";

const app = `
import express from "express";
import { App, Secret, Volume } from "nodal";
export const app = new App("pod");
const keys = Secret.fromName("pod-keys", { requiredKeys: ["POD_TOKEN"] });
const data = Volume.fromName("pod-data", { createIfMissing: true });
const web = express();
web.get("/", (_req, res) => res.json({ token: process.env.POD_TOKEN === undefined ? "none" : "set" }));
web.get("/slow", async (_req, res) => { console.log("slow started"); await new Promise((r) => setTimeout(r, 1000)); res.json({ slow: "done" }); });
web.get("/leak", (_req, res) => { console.log("token is " + process.env.POD_TOKEN); res.json({}); });
web.get("/burst", (req, res) => { const n = Number(req.query.n); for (let i = 0; i < n; i++) console.log("burst " + i); res.json({ n }); });
web.get("/write", async (_req, res) => { await data.writeJSON("hello.json", { hi: 1 }); res.json({ path: data.path }); });
export const api = app.webApp({ secrets: [keys], volumes: { "/data": data } }, () => web);
export const other = app.webEndpoint({}, async () => ({ other: true }));
export const square = app.function({ retries: 1 }, async (x: number) => x * x);
export const fail = app.function({ retries: 1 }, async () => { console.log("attempt"); throw new RangeError("always fails"); });
`;

function startPod(box, args, env = {}) {
  return box.spawn(["start", "app.ts", ...args], { env: { POD_TOKEN: "tok-3f9a2b7c", NODAL_VOLUMES_DIR: `${box.dir}/volumes`, ...env } });
}

function records(text) {
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

test("start serves the app with NDJSON logs and health probes, masks secrets, writes nothing under NODAL_HOME, and drains on SIGTERM", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const [port, health] = await freePorts(2);
  const pod = startPod(box, ["--port", String(port), "--health-port", String(health), "--only", "api"]);
  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: "ready" });
  assert.equal((await request(`http://127.0.0.1:${health}/livez`)).status, 200);
  // The engine and the one web worker it serves: the worker forked before the CLI loaded was
  // adopted as that worker, not left beside a second one.
  // (esbuild's service process, which built app.ts, may take a moment to go.)
  const listing = () => pidsWithHome(box.home).map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`);
  const pids = await waitUntil(() => pidsWithHome(box.home).length <= 2 && pidsWithHome(box.home), { timeoutMs: 3000, what: "at most two processes" }).catch((e) => assert.fail(`${e.message}: ${listing().join("; ")}`));
  assert.equal(pids.length, 2, listing().join("; "));
  assert.ok(pids.includes(pod.pid));
  const url = `http://127.0.0.1:${port}`;
  assert.deepEqual(JSON.parse((await request(url)).body), { token: "set" });
  // --only api: the other web function is not served here.
  assert.doesNotMatch(pod.stdout, /serving other/);
  await request(`${url}/leak`);
  const written = JSON.parse((await request(`${url}/write`)).body);
  assert.equal(written.path, `${box.dir}/volumes/pod-data/data`);
  assert.ok(existsSync(`${box.dir}/volumes/pod-data/data/hello.json`));

  // A request in flight when SIGTERM comes completes; then exit 0.
  const slow = request(`${url}/slow`, { timeoutMs: 10_000 });
  await pod.waitFor(/slow started/);
  pod.signal("SIGTERM");
  assert.deepEqual(JSON.parse((await slow).body), { slow: "done" });
  assert.equal(await pod.exit(10_000), 0);
  assert.equal(existsSync(box.home), false, "no registry, no logs under NODAL_HOME");

  const logs = records(pod.stdout);
  for (const r of logs) assert.deepEqual(Object.keys(r).sort(), ["function", "line", "source", "stream", "time"]);
  assert.ok(logs.some((r) => r.function === "api" && r.stream === "stdout" && r.line === "token is ***"), pod.stdout);
  // api declares a secret, which a pod's environment holds already: the worker that loaded the
  // app (the first, forked before the CLI loaded) serves it, with no second worker started.
  assert.deepEqual([...new Set(logs.filter((r) => r.function === "api" && r.stream === "stdout").map((r) => r.source))], ["w1"], pod.stdout);
  assert.doesNotMatch(pod.stdout, /tok-3f9a2b7c/);
  assert.ok(logs.some((r) => r.stream === "system" && /SIGTERM received/.test(r.line)));
});

test("a 100k-line burst is valid NDJSON, every line once and in order", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const [port, health] = await freePorts(2);
  const pod = startPod(box, ["--port", String(port), "--health-port", String(health), "--only", "api"]);
  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: "ready" });
  await request(`http://127.0.0.1:${port}/burst?n=100000`, { timeoutMs: 30_000 });
  await pod.waitFor(/"burst 99999"/, { timeoutMs: 30_000 });
  pod.signal("SIGTERM");
  assert.equal(await pod.exit(10_000), 0);
  const burst = records(pod.stdout).filter((r) => r.line.startsWith("burst "));
  assert.equal(burst.length, 100_000);
  burst.forEach((r, i) => assert.equal(r.line, `burst ${i}`));
});

test("start --call runs one function with its retries: the result on stdout, exit 0; a failure exits 1", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const ok = startPod(box, ["--call", "square", "--input", "7"]);
  assert.equal(await ok.exit(30_000), 0, ok.stderr);
  const lines = ok.stdout.trim().split("\n");
  assert.equal(lines.at(-1), "49");

  const bad = startPod(box, ["--call", "fail"]);
  assert.equal(await bad.exit(30_000), 1);
  assert.match(bad.stderr, /^Error: function "fail" failed: RangeError: always fails$/m);
  assert.equal(records(bad.stdout).filter((r) => r.line === "attempt").length, 2, "one try and one retry");

  const unknown = startPod(box, ["--call", "nope"]);
  assert.equal(await unknown.exit(30_000), 1);
  assert.match(unknown.stderr, /--call: app "pod" has no function "nope"/);
  assert.match(unknown.stderr, /Hint: its functions: api, other, square, fail/);
  const web = startPod(box, ["--call", "api"]);
  assert.equal(await web.exit(30_000), 1);
  assert.match(web.stderr, /"api" is a web function/);
});

test("start reads secrets from the environment: a missing required key is the user's error", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.ts", "--port", String(port), "--health-port", String(health)], { env: { NODAL_VOLUMES_DIR: `${box.dir}/volumes` } });
  assert.equal(await pod.exit(30_000), 1);
  assert.match(pod.stderr, /secret "pod-keys" is missing required key POD_TOKEN; the environment must hold it/);
  assert.doesNotMatch(pod.stderr, /looks like a bug/);
});

test("a worker that crashes inside start is restarted; /readyz is 503 until it serves again", async (t) => {
  const marker = "broken";
  const box = sandbox(t, {
    "app.ts": `
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { App } from "nodal";
if (existsSync(${JSON.stringify(marker)})) throw new Error("marker present");
export const app = new App("phoenix-pod");
export const api = app.webApp({}, () => (req, res) => { if (req.url === "/crash") process.exit(3); res.end("up"); });
`,
  });
  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.ts", "--port", String(port), "--health-port", String(health)], { env: { NODAL_NO_WORKER_WAIT_MS: "200" } });
  const readyz = async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status;
  await waitUntil(async () => (await readyz()) === 200, { what: "ready" });
  box.write({ [marker]: "" });
  await request(`http://127.0.0.1:${port}/crash`).catch(() => {});
  // Its restarts fail while the marker is there: not ready, and alive all along.
  await waitUntil(async () => (await readyz()) === 503, { what: "not ready" });
  assert.equal((await request(`http://127.0.0.1:${health}/livez`)).status, 200);
  assert.equal((await request(`http://127.0.0.1:${port}/`)).status, 503);
  const { rmSync } = await import("node:fs");
  rmSync(`${box.dir}/${marker}`);
  await waitUntil(async () => (await readyz()) === 200, { timeoutMs: 30_000, what: "ready again" });
  assert.equal((await request(`http://127.0.0.1:${port}/`)).body, "up");
  pod.signal("SIGTERM");
  assert.equal(await pod.exit(10_000), 0);
  assert.ok(records(pod.stdout).some((r) => /exited with code 3/.test(r.line)), pod.stdout);
});

// A web function whose factory writes "factory-started", then waits for a file named "go".
const gatedApp = `
import { existsSync, writeFileSync } from "node:fs";
import { App } from "nodal";
export const app = new App("gated");
export const api = app.webApp({}, async () => {
  writeFileSync("factory-started", "");
  while (!existsSync("go")) await new Promise((r) => setTimeout(r, 10));
  return (_req: any, res: any) => res.end("up");
});
`;

test("the app port and /livez answer while the web worker starts: a request then waits for it and is answered; /readyz says 503 until then", async (t) => {
  const box = sandbox(t, { "app.ts": gatedApp });
  const [port, health] = await freePorts(2);
  box.spawn(["start", "app.ts", "--port", String(port), "--health-port", String(health)]);
  await waitUntil(() => existsSync(`${box.dir}/factory-started`), { what: "the factory to start" });
  // The door is open before the worker is ready (its factory waits on the gate).
  await waitUntil(() => new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  }), { what: "the port to accept connections" });
  const answered = request(`http://127.0.0.1:${port}/`, { timeoutMs: 10_000 });
  assert.equal((await request(`http://127.0.0.1:${health}/readyz`)).status, 503);
  assert.equal((await request(`http://127.0.0.1:${health}/livez`)).status, 200);
  writeFileSync(`${box.dir}/go`, "");
  const res = await answered;
  assert.equal(res.status, 200);
  assert.equal(res.body, "up");
});

const slowImportApp = `
import { existsSync, writeFileSync } from "node:fs";
import { App } from "nodal";
writeFileSync("import-started", "");
while (!existsSync("go")) await new Promise((r) => setTimeout(r, 10));
export const app = new App("slow-import");
export const api = app.webApp({}, () => (_req: any, res: any) => res.end("imported"));
export const other = app.webApp({}, () => (_req: any, res: any) => res.end("other"));
`;

test("--only FN --port N, as a Deployment runs it: the port accepts while the app is still importing, and the request is answered once it serves", async (t) => {
  const box = sandbox(t, { "app.ts": slowImportApp });
  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.ts", "--only", "api", "--port", String(port), "--health-port", String(health)]);
  await waitUntil(() => existsSync(`${box.dir}/import-started`), { what: "the import to start" });
  // The module is still being imported (its top-level await waits on the gate), and the port is open.
  assert.equal(existsSync(`${box.dir}/go`), false);
  const connected = await new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
  assert.equal(connected, true, "the port accepts before the app is loaded");
  const answered = request(`http://127.0.0.1:${port}/`, { timeoutMs: 10_000 });
  assert.equal((await request(`http://127.0.0.1:${health}/readyz`)).status, 503);
  writeFileSync(`${box.dir}/go`, "");
  const res = await answered;
  assert.equal(res.status, 200);
  assert.equal(res.body, "imported");
  assert.doesNotMatch(pod.stdout, /serving other/);
});

test("an early port is given up when the function it was opened for is not a web function: the pod serves nothing there", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const [port, health] = await freePorts(2);
  const pod = startPod(box, ["--only", "square", "--port", String(port), "--health-port", String(health)]);
  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: "ready" });
  const refused = await new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(false)));
    s.on("error", (e) => resolve(e.code === "ECONNREFUSED"));
  });
  assert.equal(refused, true, "no door left open on --port");
  pod.signal("SIGTERM");
  assert.equal(await pod.exit(10_000), 0, pod.output);
});

test("SIGTERM while the pod is still starting: the start finishes, then it drains and exits 0", async (t) => {
  const box = sandbox(t, { "app.ts": gatedApp });
  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.ts", "--port", String(port), "--health-port", String(health)]);
  await waitUntil(() => existsSync(`${box.dir}/factory-started`), { what: "the factory to start" });
  pod.signal("SIGTERM");
  writeFileSync(`${box.dir}/go`, "");
  assert.equal(await pod.exit(10_000), 0, pod.output);
  const lines = records(pod.stdout).map((r) => r.line);
  assert.ok(lines.includes("SIGTERM received; draining in-flight work (a second signal forces)"), pod.stdout);
});

test("start --help forks no worker: nothing is left running once it has printed", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const help = await box.run(["start", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--health-port/);
  assert.deepEqual(pidsWithHome(box.home), []);
});

test("start --check loads the app as a pod would and exits 0, needing no secret and making no volume", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const volumes = `${box.dir}/volumes`;
  // No POD_TOKEN: at an image's build the secrets are not there yet.
  const r = await box.run(["start", "app.ts", "--check", "--only", "api"], { env: { NODAL_VOLUMES_DIR: volumes } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'app "pod" loads; its functions: api, other, square, fail\n');
  assert.equal(r.stderr, "");
  assert.equal(existsSync(volumes), false, "the check's volumes are a scratch root, removed");
  assert.equal(existsSync(box.home), false, "nothing under NODAL_HOME");
  assert.deepEqual(pidsWithHome(box.home), [], "no worker left running");
  // The check did not switch the secret check off for the pod itself.
  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.ts", "--port", String(port), "--health-port", String(health)], { env: { NODAL_VOLUMES_DIR: volumes } });
  assert.equal(await pod.exit(30_000), 1);
  assert.match(pod.stderr, /secret "pod-keys" is missing required key POD_TOKEN/);
});

test("start --check fails the build: an app that throws as it loads, and a function it lacks, exit 1 with the reason", async (t) => {
  const box = sandbox(t, { "app.ts": app, "broken.ts": `import { App } from "nodal";\nexport const app = new App("broken");\nthrow new Error("no config file at /etc/broken.json");\n` });
  const broken = await box.run(["start", "broken.ts", "--check"]);
  assert.equal(broken.code, 1);
  assert.equal(broken.stdout, "");
  assert.match(broken.stderr, /no config file at \/etc\/broken\.json/);
  const missing = await box.run(["start", "app.ts", "--check", "--call", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--call: app "pod" has no function "nope"/);
  assert.match(missing.stderr, /Hint: its functions: api, other, square, fail/);
  assert.deepEqual(pidsWithHome(box.home), []);
});

test("a pod that runs a snapshot makes no temp folder: killed with SIGKILL, it leaves nothing in TMPDIR; a build from source cleans its own on SIGTERM", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  // The image's layout: the portable snapshot, with "nodal" and express in node_modules beside it.
  const builder = new Builder(join(box.dir, "app.ts"), join(box.dir, "out"), { portable: true });
  copyFileSync((await builder.build()).file, join(box.dir, "app.mjs"));
  await builder.dispose();
  mkdirSync(join(box.dir, "node_modules"));
  symlinkSync(ROOT, join(box.dir, "node_modules", "nodal"));
  symlinkSync(join(ROOT, "node_modules", "express"), join(box.dir, "node_modules", "express"));
  const tmp = join(box.dir, "tmp");
  mkdirSync(tmp);
  const ours = () => readdirSync(tmp).filter((e) => e.startsWith("nodal-start-"));

  const [port, health] = await freePorts(2);
  const pod = box.spawn(["start", "app.mjs", "--only", "api", "--port", String(port), "--health-port", String(health)], { env: { TMPDIR: tmp, POD_TOKEN: "tok-3f9a2b7c", NODAL_VOLUMES_DIR: join(box.dir, "volumes") } });
  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: `ready: ${pod.output}` });
  assert.deepEqual(JSON.parse((await request(`http://127.0.0.1:${port}/`)).body), { token: "set" });
  pod.signal("SIGKILL");
  await pod.exit(10_000);
  assert.deepEqual(ours(), []);

  const source = box.spawn(["start", "app.ts", "--only", "api", "--port", String(port), "--health-port", String(health)], { env: { TMPDIR: tmp, POD_TOKEN: "tok-3f9a2b7c", NODAL_VOLUMES_DIR: join(box.dir, "volumes") } });
  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: `ready: ${source.output}` });
  assert.equal(ours().length, 1, "the build from source has its folder");
  source.signal("SIGTERM");
  assert.equal(await source.exit(10_000), 0, source.output);
  assert.deepEqual(ours(), []);
});
