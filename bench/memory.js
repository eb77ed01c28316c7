// Part `memory`: does a long-lived nodal process keep what each reload or redeploy leaves
// behind? The resident set (VmRSS in /proc/PID/status) of
//   - the `nodal serve` process, after 10 … 1,000 reloads (edit app.ts, wait for its
//     "reloaded vN" line, then the next edit), and
//   - a deployed app's supervisor, after 10 … N redeploys (`nodal deploy app.ts` of a changed
//     file, each a real swap).
// Workers are separate processes and are not counted; how many are alive at each checkpoint is
// (a leaked worker would show there, not in the RSS).
// Target: serve's RSS after 1,000 reloads within 10 MB of its RSS after 10.
import { spawn } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODAL_BIN, freePort, get, now, pidsWithEnv, sleep, startTool, tail, tempProject } from "./lib.js";

export const title = "Memory across reloads and redeploys (`memory`)";

const RELOAD_TIMEOUT_MS = 30_000;
const DEPLOY_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 30_000;
const TARGET_MB = 10;

const appSource = (version) => `import express from "express";
import { App } from "nodal";

export const app = new App("bench-memory");
const web = express();
web.get("/", (_req, res) => { res.type("text/plain").send(${JSON.stringify(version)}); });
export const api = app.webApp({}, () => web);
`;

/** VmRSS of `pid` in MB, or undefined when it is gone. */
function rssMb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "latin1").match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Checkpoints: 10, then about every tenth of the way, and the last. */
function checkpoints(total) {
  const points = new Set([Math.min(10, total), total]);
  for (const f of [0.1, 0.25, 0.5, 0.75]) if (Math.round(total * f) > 10) points.add(Math.round(total * f));
  return [...points].sort((a, b) => a - b);
}

/** Polls GET / until it answers `body`; true if it did within `timeoutMs`. */
async function served(port, body, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const r = await get(port, "/", 2000);
    if (r.ok && r.body === body) return true;
    await sleep(20);
  }
  return false;
}

async function serveRun(reloads, { log }) {
  const project = tempProject("memory-serve");
  const file = join(project.dir, "app.ts");
  const nonce = Math.random().toString(36).slice(2, 8);
  const versionOf = (i) => `mem-${nonce}-v${i}`;
  writeFileSync(file, appSource(versionOf(0)));
  const port = await freePort();
  const proc = startTool(NODAL_BIN, ["serve", "app.ts", "--port", String(port)], {
    cwd: project.dir,
    env: { NODAL_HOME: join(project.dir, ".nodal-home") },
  });
  // The newest "reloaded vN" line, and whoever waits for one.
  let reloaded = 1;
  let waiter;
  let text = "";
  const onData = (d) => {
    text = (text + d).slice(-4096);
    for (const m of text.matchAll(/reloaded v(\d+) in/g)) reloaded = Math.max(reloaded, Number(m[1]));
    text = text.slice(text.lastIndexOf("\n") + 1);
    if (waiter && reloaded >= waiter.n) waiter.resolve(true);
  };
  proc.child.stdout.on("data", onData);
  proc.child.stderr.on("data", onData);
  const reloadedTo = (n) =>
    new Promise((resolve) => {
      if (reloaded >= n) return resolve(true);
      const timer = setTimeout(() => resolve(false), RELOAD_TIMEOUT_MS);
      const exited = proc.exitPromise.then(() => resolve(false));
      waiter = {
        n,
        resolve: (v) => {
          clearTimeout(timer);
          void exited;
          waiter = undefined;
          resolve(v);
        },
      };
    });
  const samples = [];
  const points = checkpoints(reloads);
  try {
    if (!(await Promise.race([served(port, versionOf(0), START_TIMEOUT_MS), proc.exitPromise.then(() => false)]))) {
      throw new Error(`nodal serve did not answer: ${proc.exitInfo ?? ""} ${tail(proc.output)}`);
    }
    samples.push({ after: 0, rss: rssMb(proc.child.pid), workers: workersOf(proc.tag, proc.child.pid) });
    const started = now();
    for (let i = 1; i <= reloads; i++) {
      // Alternating in-place writes and atomic saves, as editors do.
      if (i % 2) writeFileSync(file, appSource(versionOf(i)));
      else {
        writeFileSync(`${file}.tmp`, appSource(versionOf(i)));
        renameSync(`${file}.tmp`, file);
      }
      if (!(await reloadedTo(i + 1))) throw new Error(`reload ${i} did not happen within ${RELOAD_TIMEOUT_MS / 1000} s: ${tail(proc.output)}`);
      if (points.includes(i)) {
        if (!(await served(port, versionOf(i), 10_000))) throw new Error(`v${i + 1} is not served after its reload line`);
        const s = { after: i, rss: rssMb(proc.child.pid), workers: workersOf(proc.tag, proc.child.pid) };
        samples.push(s);
        log(`  serve: ${i} reloads, RSS ${s.rss?.toFixed(1)} MB, ${s.workers} child processes (${((now() - started) / 1000).toFixed(0)} s)`);
      }
    }
    return { samples };
  } finally {
    await proc.stop();
    await project.remove();
  }
}

/** Live processes with `tag` other than `parent` (a serve's workers and spares). */
function workersOf(tag, parent) {
  return pidsWithEnv("NODAL_BENCH_TAG", tag).filter((p) => p !== parent).length;
}

/** Runs the CLI to completion (bounded): { code, output }. */
function cli(args, { cwd, env }) {
  return new Promise((resolve) => {
    const child = spawn(NODAL_BIN, args, { cwd, env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), DEPLOY_TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, output });
    });
  });
}

async function deployRun(redeploys, { log }) {
  const project = tempProject("memory-deploy");
  const file = join(project.dir, "app.ts");
  const tag = `${process.pid}-mem-${Math.random().toString(36).slice(2, 8)}`;
  const env = { NODAL_HOME: join(project.dir, ".nodal-home"), NODAL_BENCH_TAG: tag };
  const nonce = Math.random().toString(36).slice(2, 8);
  const versionOf = (i) => `mem-${nonce}-d${i}`;
  const samples = [];
  const points = checkpoints(redeploys);
  const deployed = async (i) => {
    writeFileSync(file, appSource(versionOf(i)));
    const r = await cli(["deploy", "app.ts", "--json"], { cwd: project.dir, env });
    if (r.code !== 0) throw new Error(`deploy ${i} failed (${r.code}): ${tail(r.output)}`);
    return JSON.parse(r.output.slice(r.output.indexOf("{")));
  };
  try {
    const first = await deployed(0);
    const url = new URL(Object.values(first.urls)[0]);
    const list = JSON.parse((await cli(["app", "list", "--json"], { cwd: project.dir, env })).output);
    const pid = list.find((a) => a.name === "bench-memory" && a.state === "deployed")?.pid;
    if (!pid) throw new Error(`no live supervisor in app list: ${JSON.stringify(list)}`);
    samples.push({ after: 0, rss: rssMb(pid), workers: workersOf(tag, pid) });
    const started = now();
    for (let i = 1; i <= redeploys; i++) {
      const r = await deployed(i);
      if (r.version !== i + 1) throw new Error(`redeploy ${i} made v${r.version}, not v${i + 1} (a new supervisor?)`);
      if (points.includes(i)) {
        if (!(await served(Number(url.port), versionOf(i), 10_000))) throw new Error(`v${i + 1} is not served after its deploy`);
        const s = { after: i, rss: rssMb(pid), workers: workersOf(tag, pid) };
        samples.push(s);
        log(`  supervisor: ${i} redeploys, RSS ${s.rss?.toFixed(1)} MB, ${s.workers} child processes (${((now() - started) / 1000).toFixed(0)} s)`);
      }
    }
    return { samples };
  } finally {
    await cli(["app", "stop", "bench-memory"], { cwd: project.dir, env });
    const deadline = now() + 5000;
    for (let left = pidsWithEnv("NODAL_BENCH_TAG", tag); left.length && now() < deadline; left = pidsWithEnv("NODAL_BENCH_TAG", tag)) {
      for (const p of left) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      await sleep(50);
    }
    await project.remove();
  }
}

export async function run(opts) {
  const reloads = opts.edits ?? 1000;
  const redeploys = Number(process.env.BENCH_REDEPLOYS ?? 200);
  const log = opts.log ?? (() => {});
  const only = process.env.BENCH_MEMORY; // "serve" or "deploy" narrows a run
  const rows = [];
  const notes = [];
  const mb = (v) => (v === undefined ? "—" : v.toFixed(1));
  const add = (what, unit, { samples }) => {
    const at10 = samples.find((s) => s.after === Math.min(10, samples.at(-1).after));
    const last = samples.at(-1);
    const growth = last.rss - at10.rss;
    const per = last.after > at10.after ? (growth * 1024) / (last.after - at10.after) : undefined;
    rows.push([what, mb(samples[0].rss), mb(at10.rss), `${mb(last.rss)} (after ${last.after})`, `${growth >= 0 ? "+" : ""}${mb(growth)}`, per === undefined ? "—" : `${per.toFixed(1)} KB`]);
    notes.push(`${what}, RSS by ${unit} (MB; its live child processes — workers, spares, esbuild — in brackets): ${samples.map((s) => `${s.after}: ${mb(s.rss)} [${s.workers}]`).join(", ")}.`);
    return growth;
  };
  if (only !== "deploy") {
    log(`memory: nodal serve, ${reloads} reloads`);
    const growth = add("nodal serve", "reloads", await serveRun(reloads, { log }));
    if (reloads >= 1000) notes.unshift(`Target: serve's RSS after 1,000 reloads within ${TARGET_MB} MB of after 10: ${growth <= TARGET_MB ? "met" : "missed"} (${growth >= 0 ? "+" : ""}${mb(growth)} MB).`);
  }
  if (only !== "serve") {
    log(`memory: deployed supervisor, ${redeploys} redeploys`);
    add("deploy supervisor", "redeploys", await deployRun(redeploys, { log }));
  }
  notes.push(
    `serve: \`bin/nodal serve app.ts --port PORT\` on a one-route express app; each reload is an edit of app.ts (alternating in-place writes and atomic saves) that changes the body of GET /, and the next edit waits for the "reloaded vN" line; ` +
      `at each checkpoint GET / must answer the newest version before RSS is read. supervisor: \`bin/nodal deploy app.ts\` of the same app, changed each time (BENCH_REDEPLOYS, default 200). ` +
      `RSS = VmRSS of that one process from /proc (its workers are separate processes); V8 collects garbage when it likes, so a few MB either way is noise.`,
  );
  const table = [["process", "RSS at start (MB)", "after 10 (MB)", "at the end (MB)", "growth 10 → end (MB)", "per reload or redeploy"], ...rows];
  return { title, table, notes };
}
