import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

const app = `
import express from "express";
import { appendFileSync } from "node:fs";
import { App, Secret, Retries, Function as Fn } from "nodal";

export const app = new App("fns");
const log = (name: string) => appendFileSync(process.env.TRACE_FILE!, name + " " + process.pid + " " + Date.now() + "\\n");

export const square = app.function({}, async (x: number) => x * x);
export const chain = app.function({}, async (x: number) => (await square.remote(x)) + 1);
export const whoami = app.function({}, async () => ({ pid: process.pid, secret: process.env.TOKEN ?? null, extra: process.env.EXTRA ?? null }));
export const withSecret = app.function({ secrets: [Secret.fromDict({ TOKEN: "s3cr3t-value" })], env: { EXTRA: "x" } }, async () => ({ pid: process.pid, secret: process.env.TOKEN ?? null, extra: process.env.EXTRA ?? null }));
export const fails = app.function({}, async () => { const e = new RangeError("out of range: 42"); throw e; });
export const dies = app.function({}, async (code: number) => { process.exit(code); });
export const sleepy = app.function({ timeout: 1 }, async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return "awake"; });
export const flaky = app.function({ retries: new Retries({ maxRetries: 2, initialDelay: 0, maxDelay: 1 }) }, async () => {
  log("flaky");
  const n = readCount();
  if (n < 3) throw new Error("attempt " + n + " failed");
  return "ok after " + n;
});
function readCount(): number {
  const { readFileSync } = require("node:fs");
  return String(readFileSync(process.env.TRACE_FILE!, "utf8")).split("\\n").filter((l: string) => l.startsWith("flaky")).length;
}
export const serial = app.function({ maxContainers: 1, concurrency: 1 }, async (i: number) => {
  log("serial-start-" + i);
  await new Promise((r) => setTimeout(r, 150));
  log("serial-end-" + i);
  return i;
});
export const slowEcho = app.function({}, async (x: number) => { await new Promise((r) => setTimeout(r, 400)); return x; });

const web = express();
web.get("/", async (_req, res) => {
  const [remote, local] = await Promise.all([whoami.remote(), whoami.local()]);
  res.json({ web: process.pid, remote, local, sq: await square.remote(12) });
});
web.get("/map", async (_req, res) => {
  const out: number[] = [];
  for await (const r of slowEcho.map([5, 4, 3, 2, 1], { concurrency: 5 })) out.push(r);
  res.json(out);
});
web.get("/spawn", async (_req, res) => {
  const call = await slowEcho.spawn(7);
  let early: string;
  try { await call.get({ timeout: 0.05 }); early = "ready"; } catch (e) { early = (e as Error).name; }
  res.json({ id: call.id, early, value: await call.get({ timeout: 10 }) });
});
web.get("/errors", async (_req, res) => {
  try { await fails.remote(); } catch (e) { const err = e as Error; return res.json({ name: err.name, message: err.message, stack: err.stack }); }
  res.json({});
});
web.get("/clone", async (_req, res) => {
  try { await (square as any).remote(() => 1); } catch (e) { return res.json({ message: (e as Error).message }); }
  res.json({});
});
export const api = app.webApp({}, () => web);
`;

async function serveApp(t) {
  const box = sandbox(t, { "app.ts": app });
  const trace = join(box.dir, "trace.log");
  const proc = box.spawn(["serve", "app.ts"], { env: { TRACE_FILE: trace } });
  await proc.waitFor(/ready in/);
  const url = proc.stdout.match(/api\s+(http:\S+)/)[1];
  return { box, proc, url, trace };
}

const json = async (url) => {
  const r = await request(url, { timeoutMs: 20_000 });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
};

test(".remote() runs in the function's own worker, .local() in the caller; secrets and env reach only the declaring function", async (t) => {
  const { url, box } = await serveApp(t);
  const res = await json(url);
  assert.equal(res.sq, 144);
  assert.notEqual(res.remote.pid, res.web);
  assert.equal(res.local.pid, res.web);
  assert.equal(res.remote.secret, null);
  const run = await box.run(["run", "app.ts::withSecret"], { env: { TRACE_FILE: join(box.dir, "t2.log") } });
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.secret, "s3cr3t-value");
  assert.equal(out.extra, "x");
  const other = JSON.parse((await box.run(["run", "app.ts::whoami"], { env: { TRACE_FILE: join(box.dir, "t3.log") } })).stdout);
  assert.equal(other.secret, null);
  assert.equal(other.extra, null);
});

test(".map yields results in input order; .spawn returns a FunctionCall whose get() times out until ready", async (t) => {
  const { url } = await serveApp(t);
  assert.deepEqual(await json(`${url}/map`), [5, 4, 3, 2, 1]);
  const spawned = await json(`${url}/spawn`);
  assert.match(spawned.id, /^fc-/);
  assert.equal(spawned.early, "TimeoutError");
  assert.equal(spawned.value, 7);
});

test("a remote error keeps its name, message and remote stack; an uncloneable argument names the function", async (t) => {
  const { url } = await serveApp(t);
  const err = await json(`${url}/errors`);
  assert.equal(err.name, "RangeError");
  assert.equal(err.message, "out of range: 42");
  assert.match(err.stack, /app\.ts:\d+/);
  const clone = await json(`${url}/clone`);
  assert.match(clone.message, /function "square": an argument cannot cross a process boundary/);
});

test("a worker that dies mid-call rejects that call clearly; the next call gets a fresh worker", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const env = { TRACE_FILE: join(box.dir, "trace.log") };
  const dead = await box.run(["run", "app.ts::dies", "--input", "7"], { env });
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /function "dies": its worker w\d+ died during the call/);
  const { url } = await serveApp(t);
  const a = await json(url);
  const b = await json(url);
  assert.equal(a.sq, 144);
  assert.equal(b.sq, 144);
});

test("a call past its timeout is killed with FunctionTimeoutError; a fresh worker serves the next call", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const env = { TRACE_FILE: join(box.dir, "trace.log") };
  const started = Date.now();
  const slow = await box.run(["run", "app.ts::sleepy", "--input", "5000"], { env });
  assert.equal(slow.code, 1);
  assert.match(slow.stderr, /FunctionTimeoutError: function "sleepy" timed out after 1s; its worker was killed/);
  assert.ok(Date.now() - started < 4500, "killed at the timeout, not after the sleep");
  const fast = await box.run(["run", "app.ts::sleepy", "--input", "10"], { env });
  assert.equal(fast.code, 0, fast.stderr);
  assert.equal(JSON.parse(fast.stdout), "awake");
});

test("retries: a failing call is attempted again per its Retries policy", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const trace = join(box.dir, "trace.log");
  const res = await box.run(["run", "app.ts::flaky"], { env: { TRACE_FILE: trace } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout), "ok after 3");
  assert.equal(readFileSync(trace, "utf8").trim().split("\n").length, 3);
});

test("maxContainers 1 and concurrency 1: parallel calls never overlap", async (t) => {
  const box = sandbox(t, {
    "app.ts": app + `
app.localEntrypoint(async () => { console.log(JSON.stringify(await Promise.all([1, 2, 3].map((i) => serial.remote(i))))); });
`,
  });
  const trace = join(box.dir, "trace.log");
  const res = await box.run(["run", "app.ts"], { env: { TRACE_FILE: trace } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), "[1,2,3]");
  const events = readFileSync(trace, "utf8").trim().split("\n").map((l) => l.split(" "));
  assert.equal(new Set(events.map((e) => e[1])).size, 1, "one worker");
  let open = 0;
  for (const [name] of events) {
    open += name.includes("start") ? 1 : -1;
    assert.ok(open <= 1, "overlap");
  }
});

test("Function.fromName calls deployed and served apps; unknown names are NotFoundError", async (t) => {
  const { box } = await serveApp(t);
  const script = `
import { Function } from ${JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href)};
const out = {};
out.served = await Function.fromName("fns", "square").remote(6);
try { await Function.fromName("fns", "nope").remote(); } catch (e) { out.fn = [e.name, e.message]; }
try { await Function.fromName("ghost", "square").remote(); } catch (e) { out.app = [e.name, e.message]; }
console.log(JSON.stringify(out));
`;
  box.write({ "client.mjs": script });
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, ["client.mjs"], { cwd: box.dir, env: box.env, encoding: "utf8", timeout: 20_000 });
  const out = JSON.parse(r.stdout);
  assert.equal(out.served, 36);
  assert.deepEqual(out.fn, ["NotFoundError", 'app "fns" has no function "nope"']);
  assert.equal(out.app[0], "NotFoundError");
  assert.match(out.app[1], /no running app named "ghost"/);
  // A deployed app too.
  box.write({ "calc.ts": `import { App } from "nodal";\nexport const app = new App("calc");\nexport const triple = app.function({}, async (x: number) => x * 3);\n` });
  assert.equal((await box.run(["deploy", "calc.ts"])).code, 0);
  box.write({ "c2.mjs": script.replace('"fns", "square").remote(6)', '"calc", "triple").remote(5)') });
  const r2 = spawnSync(process.execPath, ["c2.mjs"], { cwd: box.dir, env: box.env, encoding: "utf8", timeout: 20_000 });
  assert.equal(JSON.parse(r2.stdout).served, 15);
});

test("minContainers keeps a warm worker before any call", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";\nexport const app = new App("warm");\nexport const hot = app.function({ minContainers: 2 }, async () => process.pid);\n`,
  });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  await waitUntil(async () => JSON.parse((await box.run(["app", "show", "warm", "--json"])).stdout).pids.workers.length === 2, { what: "2 warm workers" });
  const show = JSON.parse((await box.run(["app", "show", "warm", "--json"])).stdout);
  const script = `import { Function } from ${JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href)};\nconsole.log(await Function.fromName("warm", "hot").remote());\n`;
  box.write({ "c.mjs": script });
  const { spawnSync } = await import("node:child_process");
  const pid = Number(spawnSync(process.execPath, ["c.mjs"], { cwd: box.dir, env: box.env, encoding: "utf8" }).stdout);
  assert.ok(show.pids.workers.includes(pid), "served by a warm worker");
});

test("a function calls another function with .remote() from its own worker", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const res = await box.run(["run", "app.ts::chain", "--input", "3"], { env: { TRACE_FILE: join(box.dir, "trace.log") } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout), 10);
});
