// The build context alone is enough: copied into an empty folder, installed as the Dockerfile
// does (`npm ci --omit=dev`, from the registry and the packed nodal), its entrypoint serves the
// app and runs a schedule's --call. What `docker build` and a cluster would do, minus the image.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { execa } from "execa";
import { parseAllDocuments } from "yaml";
import { freePorts, Proc, ROOT, request, sandbox, waitUntil } from "../helpers.js";

const EXPORT_TIMEOUT_MS = 120_000;
const NPM_CI_TIMEOUT_MS = 300_000; // the registry, on a shared machine

/** Exports a template, copies its context alone into an empty folder and installs it there as the Dockerfile does. */
async function installedContext(t, box, template) {
  const out = join(box.dir, `k8s-${template}`);
  const r = await box.run(["export", "kubernetes", join(ROOT, "templates", template, "app.ts"), "-o", out], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(r.code, 0, r.stderr);
  const image = mkdtempSync(join(tmpdir(), "nodal-image-"));
  t.after(() => rmSync(image, { recursive: true, force: true }));
  cpSync(join(out, "context"), image, { recursive: true });
  const dockerfile = readFileSync(join(image, "Dockerfile"), "utf8");
  const install = /^RUN (npm ci .*)$/m.exec(dockerfile)[1].split(" ");
  assert.deepEqual(install.slice(0, 3), ["npm", "ci", "--omit=dev"]);
  const ci = await execa(install[0], install.slice(1), { cwd: image, timeout: NPM_CI_TIMEOUT_MS, reject: false, stdin: "ignore" });
  assert.equal(ci.exitCode, 0, `${ci.stdout}\n${ci.stderr}`);
  // The code caches, written for the image's Node: those packed in are removed first, so what
  // is there afterwards is the step's.
  const caches = ["cli.cjs.cache", "runtime.cjs.cache"].map((f) => join(image, "node_modules", "nodal", "dist", f));
  for (const f of caches) rmSync(f, { force: true });
  const [, cacheBin, cacheArgs] = /^RUN NODAL_WRITE_CODE_CACHE=1 (\S+) (.*)$/m.exec(dockerfile) ?? [];
  assert.ok(cacheBin, "the Dockerfile writes nodal's code caches");
  const cached = await execa(join(image, cacheBin), cacheArgs.split(" "), { cwd: image, env: { NODAL_WRITE_CODE_CACHE: "1" }, reject: false, stdin: "ignore" });
  assert.equal(cached.exitCode, 0, cached.stderr);
  for (const f of caches) assert.ok(existsSync(f), `${f} written`);
  const nodal = join(image, "node_modules", "nodal");
  const load = await execa(process.execPath, ["-e", `console.log(require("./bin/require-bundle.cjs").requireBundle(require("node:path").resolve("dist/runtime.cjs")).rejected)`], { cwd: nodal, reject: false });
  assert.equal(load.stdout.trim(), "false", `the runtime's cache is accepted by this Node (${load.stderr})`);
  const json = (instruction) => JSON.parse(new RegExp(`^${instruction} (\\[.*\\])$`, "m").exec(dockerfile)[1]);
  // The build's check: the app loads, and Node 22+ writes the compile cache where the ENV says
  // (under the image's /app, here under the copied context).
  const [, cacheDir] = /^ENV NODE_COMPILE_CACHE=\/app\/(\S+)$/m.exec(dockerfile) ?? [];
  assert.ok(cacheDir, "the Dockerfile sets NODE_COMPILE_CACHE under /app");
  const env = { NODE_COMPILE_CACHE: join(image, cacheDir) };
  const check = json("RUN");
  assert.deepEqual(check.slice(1), ["start", "app.mjs", "--check"]);
  const volumes = join(box.dir, "volumes");
  const checked = await execa(join(image, check[0]), check.slice(1), { cwd: image, env: { ...box.env, ...env, NODAL_VOLUMES_DIR: volumes }, reject: false, stdin: "ignore" });
  assert.equal(checked.exitCode, 0, checked.stderr);
  assert.match(checked.stdout, new RegExp(`^app "${template}" loads; its functions: `));
  assert.equal(existsSync(volumes), false, "the check makes no volume in the image");
  const entries = existsSync(env.NODE_COMPILE_CACHE) ? readdirSync(env.NODE_COMPILE_CACHE, { recursive: true }).length : 0;
  if (Number(process.versions.node.split(".")[0]) >= 22) assert.ok(entries > 10, `the check wrote the compile cache (${entries} entries)`);
  const docs = parseAllDocuments(readFileSync(join(out, "manifests.yaml"), "utf8")).map((d) => d.toJS());
  return { image, env, entrypoint: json("ENTRYPOINT"), cmd: json("CMD"), docs };
}

/** The pod's container, run from the installed context with the environment the manifest gives it. */
function runContainer(t, box, { image, env: imageEnv, entrypoint }, args, container, env = {}) {
  const manifestEnv = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
  const p = new Proc(args, {
    cwd: image,
    bin: join(image, entrypoint[0]),
    env: { ...box.env, ...imageEnv, ...manifestEnv, NODAL_VOLUMES_DIR: join(box.dir, "volumes"), ...env },
  });
  t.after(() => p.kill());
  return p;
}

test("rest-api's context serves from an empty folder: /readyz, a public and an authorised request, SIGTERM exits 0", async (t) => {
  const box = sandbox(t);
  const ctx = await installedContext(t, box, "rest-api");
  assert.deepEqual(ctx.entrypoint, ["node_modules/.bin/nodal"]);
  assert.deepEqual(ctx.cmd, ["start", "app.mjs", "--host", "0.0.0.0"]);
  const container = ctx.docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0];
  const [port, health] = await freePorts(2);
  const args = [...ctx.entrypoint.slice(1), ...ctx.cmd.map((a) => (a === "0.0.0.0" ? "127.0.0.1" : a)), "--port", String(port), "--health-port", String(health)];
  const pod = runContainer(t, box, ctx, args, container, { API_KEYS: "ctx-key-1" });

  await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, what: `readyz; output:\n${pod.output}` });
  const url = `http://127.0.0.1:${port}`;
  const publicRes = await request(`${url}/health`);
  assert.equal(publicRes.status, 200);
  assert.deepEqual(JSON.parse(publicRes.body), { status: "ok" });
  assert.equal((await request(`${url}/items`)).status, 401, "the key from the environment is enforced");
  const body = JSON.stringify({ name: "milk", quantity: 2 });
  const created = await request(`${url}/items`, { method: "POST", body, headers: { "content-type": "application/json", authorization: "Bearer ctx-key-1" } });
  assert.equal(created.status, 201, created.body);
  assert.equal(JSON.parse(created.body).name, "milk");

  pod.signal("SIGTERM");
  assert.equal(await pod.exit(30_000), 0, pod.output);
});

test("scheduled-tasks' context runs its CronJob's --call from an empty folder and exits 0", async (t) => {
  const box = sandbox(t);
  const ctx = await installedContext(t, box, "scheduled-tasks");
  const cron = ctx.docs.find((d) => d.kind === "CronJob");
  const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
  assert.deepEqual(container.args, ["start", "app.mjs", "--call", "poll"]);
  const job = runContainer(t, box, ctx, container.args, container);
  assert.equal(await job.exit(120_000), 0, job.output);
  const result = JSON.parse(job.stdout.trim().split("\n").at(-1));
  assert.match(result.runId, /^\d+-/);
  assert.deepEqual(result.done, []);
});
