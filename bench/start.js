// Part `start`: nodal deploy against pm2 on the same tiny express app —
//  (a) cold start: spawn of the CLI → first 200 from the app (nodal: a fresh NODAL_HOME, the URL
//      read from `deploy --json` as soon as it is printed; pm2: a fresh PM2_HOME so the daemon
//      start is included = "cold", and a daemon already running = "warm"); and, as the floor
//      under any tool on this machine, the same app started bare with `node server.js`;
//  (b) redeploy: spawn of `nodal deploy` of a changed file / `pm2 reload` → first 200 with the
//      new body, and the failed requests meanwhile;
//  (c) `nodal app list --json` with 1/10/50 deployed apps against `pm2 jlist` with 1/10/50
//      processes (median of 10 invocations);
//  (d) RSS of one idle app: all its processes (nodal: supervisor, web worker, spare) against the
//      pm2 daemon plus the app process;
//  (e) what each of nodal's start-up tricks buys on this Node, each against the same thing
//      without it.
// One tool at a time; every app is stopped and every process started here killed afterwards.
import os from "node:os";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ROOT, fmtMs, freePort, now, sleep, startTool, tempProject } from "./lib.js";
import {
  NodalSandbox,
  POLL_GAP_MS,
  Pm2Sandbox,
  check,
  cmdline,
  exitOf,
  fmtMiB,
  loadavg,
  median,
  nodalApp,
  plainServer,
  portOf,
  rssKiB,
  runCommand,
  takeCleanupProblems,
  waitForBody,
  waitForJson,
} from "./sandboxes.js";

export const title = "Deploy and start (`start`)";

const START_TIMEOUT_MS = 30_000;
const SETTLE_MS = 1_000;
const IDLE_MS = 3_000;
/** BENCH_LIST_COUNTS=1,3 narrows (c) for quick local checks. */
const LIST_COUNTS = (process.env.BENCH_LIST_COUNTS ?? "1,10,50").split(",").map(Number);
const LIST_INVOCATIONS = 20;
/** The deploy target and the pm2 cold figure it was set against (issue #3). */
const ISSUE_TARGET_MS = 250;
const ISSUE_PM2_COLD_MS = 452;
/** Below this much free memory no further app is deployed for (c). */
const MIN_FREE_BYTES = 1.5 * 2 ** 30;

// ---------------------------------------------------------------------------------------------
// (a) cold start

async function nodalCold() {
  const sb = new NodalSandbox("start-nodal");
  try {
    sb.write("app.ts", nodalApp("hello"));
    const t0 = now();
    const p = sb.spawnDeploy("app.ts");
    const out = await waitForJson(p, START_TIMEOUT_MS);
    if (!out.ok) throw new Error(`nodal deploy: ${out.error}`);
    const port = portOf(out.value.urls.api);
    const r = await waitForBody(port, "hello", t0, START_TIMEOUT_MS);
    if (!r.ok) throw new Error(`nodal: no 200 within ${START_TIMEOUT_MS / 1000} s (last: ${r.last})`);
    const code = await exitOf(p);
    const exitMs = now() - t0;
    if (code !== 0) throw new Error(`nodal deploy exited with ${code}`);
    return { ms: r.ms, jsonMs: out.at - t0, exitMs, failed: r.failed };
  } finally {
    await sb.close();
  }
}

async function pm2Start({ warm }) {
  const sb = new Pm2Sandbox(warm ? "start-pm2warm" : "start-pm2cold");
  try {
    sb.write("server.js", plainServer("hello"));
    const port = await freePort();
    if (warm) {
      check(await sb.run(["ping"]), "pm2 ping");
      await sleep(SETTLE_MS);
    }
    const t0 = now();
    const p = sb.spawn(["start", "server.js", "--name", "server"], { env: { PORT: String(port) } });
    const r = await waitForBody(port, "hello", t0, START_TIMEOUT_MS, {
      stopIf: () => (p.done && p.code !== 0 ? `pm2 exited with ${p.code}` : false),
    });
    if (!r.ok) throw new Error(`pm2: no 200 within ${START_TIMEOUT_MS / 1000} s (last: ${r.last})`);
    const code = await exitOf(p);
    const exitMs = now() - t0;
    if (code !== 0) throw new Error(`pm2 start exited with ${code}`);
    return { ms: r.ms, exitMs, failed: r.failed };
  } finally {
    await sb.close();
  }
}

/** `node server.js` → first 200: what starting the app costs before any tool adds its share. */
async function bareStart() {
  const project = tempProject("start-bare");
  let proc;
  try {
    writeFileSync(join(project.dir, "server.js"), plainServer("hello"));
    writeFileSync(join(project.dir, "package.json"), `{ "private": true, "type": "commonjs" }\n`);
    const port = await freePort();
    const t0 = now();
    proc = startTool(process.execPath, ["server.js"], { cwd: project.dir, env: { PORT: String(port) } });
    const r = await waitForBody(port, "hello", t0, START_TIMEOUT_MS, { stopIf: () => (proc.exited ? proc.exitInfo : false) });
    if (!r.ok) throw new Error(`node server.js: no 200 within ${START_TIMEOUT_MS / 1000} s (last: ${r.last}; ${proc.output.trim().slice(-200)})`);
    return { ms: r.ms, failed: r.failed };
  } finally {
    await proc?.stop();
    await project.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) redeploy

async function nodalRedeploys(runs, log) {
  const sb = new NodalSandbox("redeploy-nodal");
  const results = [];
  try {
    sb.write("app.ts", nodalApp("hello v0"));
    const first = await sb.deploy("app.ts");
    const port = portOf(first.urls.api);
    await sleep(SETTLE_MS);
    for (let i = 1; i <= runs; i++) {
      const body = `hello v${i}`;
      sb.write("app.ts", nodalApp(body));
      const t0 = now();
      const p = sb.spawnDeploy("app.ts");
      const r = await waitForBody(port, body, t0, START_TIMEOUT_MS, {
        stopIf: () => (p.done && p.code !== 0 ? `nodal deploy exited with ${p.code}` : false),
      });
      const code = await exitOf(p);
      const exitMs = now() - t0;
      if (!r.ok) throw new Error(`nodal redeploy ${i}: new body not served (last: ${r.last})`);
      if (code !== 0) throw new Error(`nodal redeploy ${i} exited with ${code}`);
      const out = JSON.parse(p.stdout);
      if (out.skipped) throw new Error(`nodal redeploy ${i} was skipped`);
      results.push({ ms: r.ms, exitMs, failed: r.failed, requests: r.requests });
      log(`  nodal redeploy ${i}/${runs}: ${fmtMs(r.ms)} ms (CLI exit ${fmtMs(exitMs)} ms, ${r.failed} failed requests)`);
      await sleep(SETTLE_MS);
    }
    return results;
  } finally {
    await sb.close();
  }
}

async function pm2Reloads(runs, log) {
  const sb = new Pm2Sandbox("redeploy-pm2");
  const results = [];
  try {
    sb.write("server.js", plainServer("hello v0"));
    const port = await freePort();
    const env = { PORT: String(port) };
    check(await sb.run(["start", "server.js", "--name", "server"], { env }), "pm2 start");
    const up = await waitForBody(port, "hello v0", now(), START_TIMEOUT_MS);
    if (!up.ok) throw new Error(`pm2: no 200 after start (last: ${up.last})`);
    await sleep(SETTLE_MS);
    for (let i = 1; i <= runs; i++) {
      const body = `hello v${i}`;
      sb.write("server.js", plainServer(body));
      const t0 = now();
      const p = sb.spawn(["reload", "server"], { env });
      const r = await waitForBody(port, body, t0, START_TIMEOUT_MS, {
        stopIf: () => (p.done && p.code !== 0 ? `pm2 reload exited with ${p.code}` : false),
      });
      const code = await exitOf(p);
      const exitMs = now() - t0;
      if (!r.ok) throw new Error(`pm2 reload ${i}: new body not served (last: ${r.last})`);
      if (code !== 0) throw new Error(`pm2 reload ${i} exited with ${code}`);
      results.push({ ms: r.ms, exitMs, failed: r.failed, requests: r.requests });
      log(`  pm2 reload ${i}/${runs}: ${fmtMs(r.ms)} ms (CLI exit ${fmtMs(exitMs)} ms, ${r.failed} failed requests)`);
      await sleep(SETTLE_MS);
    }
    return results;
  } finally {
    await sb.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (c) list latency and (d) idle RSS

async function timeInvocations(invoke, expectCount, what) {
  const times = [];
  for (let i = 0; i < LIST_INVOCATIONS; i++) {
    const r = check(await invoke(), what);
    const list = JSON.parse(r.stdout.slice(r.stdout.indexOf("[")));
    if (list.length !== expectCount) throw new Error(`${what} listed ${list.length} entries, expected ${expectCount}`);
    times.push(r.ms);
  }
  return times;
}

const rssOf = (pids) => pids.map((pid) => ({ pid, kib: rssKiB(pid), cmd: cmdline(pid) })).filter((p) => p.kib !== undefined);
const sumKiB = (procs) => procs.reduce((s, p) => s + p.kib, 0);

async function nodalList(log) {
  const sb = new NodalSandbox("list-nodal");
  const res = { lists: {}, rss: undefined, deployMs: [], stoppedAt: undefined };
  try {
    sb.write("app.ts", nodalApp("hello"));
    let deployed = 0;
    for (const count of LIST_COUNTS) {
      while (deployed < count) {
        if (os.freemem() < MIN_FREE_BYTES) {
          res.stoppedAt = `only ${deployed} apps: less than ${(MIN_FREE_BYTES / 2 ** 30).toFixed(1)} GiB free`;
          return res;
        }
        const out = await sb.deploy("app.ts", `app-${deployed + 1}`);
        res.deployMs.push(out.ms);
        deployed++;
      }
      log(`  nodal: ${deployed} app(s) deployed`);
      if (count === 1) {
        await sleep(IDLE_MS);
        const show = await sb.show("app-1");
        const supervisor = rssOf([show.pids.supervisor]);
        const workers = rssOf(show.pids.workers);
        const known = new Set([show.pids.supervisor, ...show.pids.workers]);
        const others = rssOf(sb.pids().filter((p) => !known.has(p)));
        res.rss = { supervisor, workers, others, total: sumKiB([...supervisor, ...workers, ...others]) };
        log(`  nodal: idle app RSS ${fmtMiB(res.rss.total)} MiB (supervisor ${fmtMiB(sumKiB(supervisor))} MiB)`);
      }
      await sleep(SETTLE_MS);
      res.lists[count] = await timeInvocations(() => sb.run(["app", "list", "--json"]), count, "nodal app list --json");
      log(`  nodal app list with ${count} app(s): median ${fmtMs(median(res.lists[count]))} ms`);
    }
    return res;
  } finally {
    await sb.close();
  }
}

async function pm2List(log) {
  const sb = new Pm2Sandbox("list-pm2");
  const res = { lists: {}, rss: undefined, startMs: [], stoppedAt: undefined };
  try {
    sb.write("server.js", plainServer("hello"));
    let started = 0;
    for (const count of LIST_COUNTS) {
      while (started < count) {
        if (os.freemem() < MIN_FREE_BYTES) {
          res.stoppedAt = `only ${started} processes: less than ${(MIN_FREE_BYTES / 2 ** 30).toFixed(1)} GiB free`;
          return res;
        }
        const port = await freePort();
        const r = check(await sb.run(["start", "server.js", "--name", `s-${started + 1}`], { env: { PORT: String(port) } }), "pm2 start");
        res.startMs.push(r.ms);
        started++;
      }
      const list = await sb.waitOnline(count);
      log(`  pm2: ${started} process(es) online`);
      if (count === 1) {
        await sleep(IDLE_MS);
        const daemon = rssOf([sb.daemonPid()].filter(Boolean));
        const apps = rssOf(list.map((p) => p.pid));
        const known = new Set([...daemon, ...apps].map((p) => p.pid));
        const others = rssOf(sb.pids().filter((p) => !known.has(p)));
        res.rss = { daemon, apps, others, total: sumKiB([...daemon, ...apps, ...others]) };
        log(`  pm2: idle app RSS ${fmtMiB(res.rss.total)} MiB (daemon ${fmtMiB(sumKiB(daemon))} MiB)`);
      }
      await sleep(SETTLE_MS);
      res.lists[count] = await timeInvocations(() => sb.run(["jlist"]), count, "pm2 jlist");
      log(`  pm2 jlist with ${count} process(es): median ${fmtMs(median(res.lists[count]))} ms`);
    }
    return res;
  } finally {
    await sb.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (e) what each start-up trick buys: each measured against the same thing without it, the two
// alternating, TRICK_PAIRS times, on this Node

const TRICK_PAIRS = 20;
const SYSTEM_CERTS = "/etc/ssl/certs/ca-certificates.crt";

/** Medians of `a()` and `b()` (each resolving to ms), run alternately. */
async function paired(a, b) {
  const as = [];
  const bs = [];
  for (let i = 0; i < TRICK_PAIRS; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return { with: median(as), without: median(bs) };
}

/** Spawn → exit of `node ARGS` (checked to exit 0), in ms. */
async function nodeMs(args, { cwd = ROOT, env = {} } = {}) {
  return check(await runCommand(process.execPath, args, { cwd, env }), `node ${args.join(" ")}`).ms;
}

/** ms that `node -e CODE` prints: a cost measured inside a fresh process, free of its start-up. */
async function insideMs(code) {
  return Number(check(await runCommand(process.execPath, ["-e", code], { cwd: ROOT, env: {} }), "node -e").stdout);
}

/**
 * In the supervisor (dist/supervisor/main.cjs, with an IPC channel as a deploy starts it): the
 * time from forking the app's first worker to the supervisor's own code being loaded and ready
 * (runSupervisor's first act is to handle SIGTERM). Forking first gives the worker that head start.
 */
async function supervisorHeadStartMs(dir) {
  const preload = join(dir, "fork-probe.cjs");
  writeFileSync(
    preload,
    `const cp = require("node:child_process");
const fork = cp.fork;
let forkedAt;
cp.fork = function (...args) { forkedAt ??= performance.now(); return fork.apply(this, args); };
const on = process.on;
let sent = false;
process.on = function (event, fn) {
  if (event === "SIGTERM" && !sent) { sent = true; process.send({ forkedAt, readyAt: performance.now() }); }
  return on.call(this, event, fn);
};
`,
  );
  const child = spawn(process.execPath, ["--require", preload, join(ROOT, "dist", "supervisor", "main.cjs")], {
    cwd: dir,
    env: { ...process.env, NODAL_HOME: join(dir, "home") },
    stdio: ["ignore", "ignore", "ignore", "ipc"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const msg = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the supervisor did not report within 10 s")), 10_000);
      child.once("message", (m) => (clearTimeout(timer), resolve(m)));
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`the supervisor exited (${code}) before reporting`))));
    });
    if (msg.forkedAt === undefined) throw new Error("the supervisor reported before forking a worker");
    return msg.readyAt - msg.forkedAt;
  } finally {
    // SIGTERM: a supervisor never told what to run kills its first worker and exits.
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A copy of bin/ and the CLI bundle without its code cache (node_modules linked). */
function withoutCodeCache(dir) {
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "dist"));
  for (const f of ["bin/nodal.cjs", "bin/require-bundle.cjs", "dist/cli.cjs", "package.json"]) copyFileSync(join(ROOT, f), join(dir, f));
  return join(dir, "bin", "nodal.cjs");
}

async function startTricks(log) {
  const project = tempProject("start-tricks");
  const { dir } = project;
  try {
    const home = join(dir, "home");
    const env = { NODAL_HOME: home };
    const list = ["app", "list", "--json"];
    const tricks = [];
    const add = (name, r, unit, what) => {
      tricks.push({ name, ...r, unit, what });
      log(`  ${name}: ${fmtMs(r.with)} against ${fmtMs(r.without)} ${unit}`);
    };
    writeFileSync(join(dir, "empty.cjs"), "");
    writeFileSync(join(dir, "empty.mjs"), "");
    const copied = withoutCodeCache(join(dir, "copy"));
    const unbundled = `const { main } = await import(${JSON.stringify(join(ROOT, "dist", "modules", "cli.js"))}); process.exitCode = await main(${JSON.stringify(list)});`;
    const bin = join(ROOT, "bin", "nodal.cjs");
    add(
      "bundling (with the CommonJS format)",
      await paired(() => nodeMs([bin, ...list], { env }), () => nodeMs(["--input-type=module", "-e", unbundled], { env })),
      "ms",
      "`app list --json`: the CLI bundle against the same modules unbundled as ES modules (dist/modules, packages from node_modules)",
    );
    add(
      "CommonJS CLI and supervisor",
      await paired(() => nodeMs(["empty.cjs"], { cwd: dir }), () => nodeMs(["empty.mjs"], { cwd: dir })),
      "ms",
      "an empty CommonJS file against an empty ES module: what starting the ES module loader adds to a process",
    );
    add(
      "V8 code cache",
      await paired(() => nodeMs([bin, ...list], { env }), () => nodeMs([copied, ...list], { env })),
      "ms",
      "`app list --json` with dist/cli.cjs.cache against a copy of the bundle without it",
    );
    add(
      "lazy child_process for commander",
      await paired(
        () => insideMs("const t = performance.now(); console.log(performance.now() - t)"),
        () => insideMs(`const t = performance.now(); require("node:child_process"); console.log(performance.now() - t)`),
      ),
      "ms",
      "loading node:child_process in a fresh process, which commander would do in every command",
    );
    const certs = process.env.NODE_EXTRA_CA_CERTS || SYSTEM_CERTS;
    add(
      "the NODE_EXTRA_CA_CERTS round trip",
      await paired(() => nodeMs(["-e", "0"], { env: { NODE_EXTRA_CA_CERTS: undefined } }), () => nodeMs(["-e", "0"], { env: { NODE_EXTRA_CA_CERTS: certs } })),
      "ms",
      `\`node -e 0\` without NODE_EXTRA_CA_CERTS against with it (${certs}): what the CLI and the supervisor would pay at start`,
    );
    const heads = [];
    for (let i = 0; i < TRICK_PAIRS; i++) heads.push(await supervisorHeadStartMs(dir));
    add(
      "the worker forked before the supervisor loads",
      { with: 0, without: median(heads), alone: true },
      "ms",
      "in the supervisor, from forking the first worker to its own code being loaded: how much later the worker would start otherwise",
    );
    return tricks;
  } finally {
    await project.remove();
  }
}

// ---------------------------------------------------------------------------------------------

const range = (vs) => (vs.length ? `${fmtMs(Math.min(...vs))}–${fmtMs(Math.max(...vs))}` : "—");
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? "—" : `${(a / b).toFixed(2)}×`);

export async function run(opts) {
  const runs = opts.runs ?? 5;
  const log = opts.log ?? (() => {});
  const loadAtStart = loadavg();
  const errors = [];
  const attempt = async (what, fn) => {
    try {
      return await fn();
    } catch (error) {
      errors.push(`${what}: ${error.message}`);
      log(`  ${what} FAILED: ${error.message}`);
      return undefined;
    }
  };

  // (a) Interleaved, so slow drift of the machine's load hits every tool alike.
  const cold = { nodal: [], pm2Cold: [], pm2Warm: [], bare: [] };
  for (let r = 1; r <= runs; r++) {
    log(`start: cold run ${r}/${runs}`);
    const n = await attempt(`nodal cold run ${r}`, nodalCold);
    if (n) cold.nodal.push(n);
    const c = await attempt(`pm2 cold run ${r}`, () => pm2Start({ warm: false }));
    if (c) cold.pm2Cold.push(c);
    const w = await attempt(`pm2 warm run ${r}`, () => pm2Start({ warm: true }));
    if (w) cold.pm2Warm.push(w);
    const b = await attempt(`bare node run ${r}`, bareStart);
    if (b) cold.bare.push(b);
    log(
      `  nodal ${fmtMs(n?.ms)} ms (JSON at ${fmtMs(n?.jsonMs)} ms), pm2 cold ${fmtMs(c?.ms)} ms, pm2 warm ${fmtMs(w?.ms)} ms, bare node ${fmtMs(b?.ms)} ms`,
    );
  }

  // (b)
  log("start: redeploys");
  const reNodal = (await attempt("nodal redeploys", () => nodalRedeploys(runs, log))) ?? [];
  const rePm2 = (await attempt("pm2 reloads", () => pm2Reloads(runs, log))) ?? [];

  // (c) + (d)
  log("start: list latency and idle RSS");
  const listNodal = await attempt("nodal app list", () => nodalList(log));
  const listPm2 = await attempt("pm2 jlist", () => pm2List(log));
  // The floor under any CLI invocation here: starting node itself.
  const nodeFloor = [];
  for (let i = 0; i < LIST_INVOCATIONS; i++) nodeFloor.push((await runCommand(process.execPath, ["-e", "0"], { cwd: ROOT, env: {} })).ms);
  // (e)
  log("start: what each start-up trick buys");
  const tricks = (await attempt("start-up tricks", () => startTricks(log))) ?? [];
  const loadAtEnd = loadavg();

  const p50 = (xs, key = "ms") => median(xs.map((x) => x[key]));
  const coldNodal = p50(cold.nodal);
  const coldPm2 = p50(cold.pm2Cold);
  const warmPm2 = p50(cold.pm2Warm);
  const coldBare = p50(cold.bare);
  const reN = p50(reNodal);
  const reP = p50(rePm2);
  const failedSum = (xs) => (xs.length ? String(xs.reduce((s, x) => s + x.failed, 0)) : "—");
  const listMed = (res, c) => (res?.lists[c] ? median(res.lists[c]) : undefined);
  const nodalRss = listNodal?.rss;
  const pm2Rss = listPm2?.rss;
  const supKiB = nodalRss ? sumKiB(nodalRss.supervisor) : undefined;
  const daemonKiB = pm2Rss ? sumKiB(pm2Rss.daemon) : undefined;

  const table = [
    ["measure", "nodal", "peer (pm2; bare node where named)", "nodal ÷ peer", "target (nodal)"],
    ["cold deploy → first 200, p50 (ms) — pm2 cold: fresh PM2_HOME, daemon start included", fmtMs(coldNodal), fmtMs(coldPm2), ratio(coldNodal, coldPm2), "≤ 250"],
    ["cold deploy → first 200, p50 (ms) — pm2 warm: daemon already running", fmtMs(coldNodal), fmtMs(warmPm2), ratio(coldNodal, warmPm2), "—"],
    ["start → first 200, p50 (ms) — the same app bare, `node server.js` (no tool: the floor)", fmtMs(coldNodal), fmtMs(coldBare), ratio(coldNodal, coldBare), "—"],
    ["redeploy → first 200 with the new body, p50 (ms) — pm2: `pm2 reload`", fmtMs(reN), fmtMs(reP), ratio(reN, reP), "—"],
    ["failed requests while redeploying (all runs)", failedSum(reNodal), failedSum(rePm2), "—", "0"],
    ...LIST_COUNTS.map((c) => [
      `\`app list --json\` / \`pm2 jlist\` with ${c} app${c > 1 ? "s" : ""}, median (ms)`,
      fmtMs(listMed(listNodal, c)),
      fmtMs(listMed(listPm2, c)),
      ratio(listMed(listNodal, c), listMed(listPm2, c)),
      c === 50 ? "≤ 70 (with 50)" : "—",
    ]),
    ["RSS of one idle app, all its processes (MiB) — pm2: daemon + app", fmtMiB(nodalRss?.total), fmtMiB(pm2Rss?.total), ratio(nodalRss?.total, pm2Rss?.total), "≤ 110"],
    ["RSS of the supervisor alone / the pm2 daemon alone (MiB)", fmtMiB(supKiB), fmtMiB(daemonKiB), ratio(supKiB, daemonKiB), "≤ 45"],
  ];

  const notes = [];
  notes.push(
    `Cold start, ${runs} run(s) each, interleaved (min–max, ms): nodal ${range(cold.nodal.map((x) => x.ms))}, pm2 cold ${range(cold.pm2Cold.map((x) => x.ms))}, pm2 warm ${range(cold.pm2Warm.map((x) => x.ms))}, bare node ${range(cold.bare.map((x) => x.ms))}. ` +
      `nodal's deploy printed its JSON (URL known) at p50 ${fmtMs(p50(cold.nodal, "jsonMs"))} ms and exited at p50 ${fmtMs(p50(cold.nodal, "exitMs"))} ms; ` +
      `\`pm2 start\` exited at p50 ${fmtMs(p50(cold.pm2Cold, "exitMs"))} ms (cold) / ${fmtMs(p50(cold.pm2Warm, "exitMs"))} ms (warm).`,
  );
  notes.push(
    `How: a fresh temp dir per run; nodal: a fresh NODAL_HOME, time from spawning \`bin/nodal deploy app.ts --json\` until the first 200 from the URL read from its output (polled as soon as the JSON is complete); ` +
      `pm2: the port is known in advance, so \`GET /\` is polled from the spawn of \`pm2 start server.js --name server\` (PORT in its env); "cold" = a fresh PM2_HOME (daemon spawned by that command), "warm" = \`pm2 ping\` started the daemon 1 s earlier; bare: \`node server.js\` (PORT in its env), polled from its spawn, as pm2. ` +
      `Polling: a fresh connection per request, the next ${POLL_GAP_MS} ms after the previous one ended.`,
  );
  if (coldPm2 !== undefined && coldNodal !== undefined) {
    notes.push(
      `Calibration: the deploy target (≤ 250 ms) was set on a machine where pm2 cold measured ${ISSUE_PM2_COLD_MS} ms, i.e. ${(ISSUE_TARGET_MS / ISSUE_PM2_COLD_MS).toFixed(2)}× pm2 cold. ` +
        `Here pm2 cold measured ${fmtMs(coldPm2)} ms, so the same ratio is ${fmtMs((coldPm2 * ISSUE_TARGET_MS) / ISSUE_PM2_COLD_MS)} ms; nodal is at ${ratio(coldNodal, coldPm2)} pm2 cold` +
        (coldBare !== undefined ? ` and ${ratio(coldNodal, coldBare)} the bare \`node server.js\` start (${fmtMs(coldBare)} ms), which no tool can beat.` : "."),
    );
  }
  notes.push(
    `Redeploy: ${runs} successive redeploys of one running app, each changing the body; time from spawning \`nodal deploy app.ts --json\` / \`pm2 reload server\` until the first 200 with the new body, polling the (unchanged) port throughout; min–max nodal ${range(reNodal.map((x) => x.ms))}, pm2 ${range(rePm2.map((x) => x.ms))} ms; ` +
      `the CLI exited at p50 nodal ${fmtMs(p50(reNodal, "exitMs"))} ms, pm2 ${fmtMs(p50(rePm2, "exitMs"))} ms. pm2 runs the app in fork mode, where \`reload\` is a restart (the failed requests are the gap).`,
  );
  if (listNodal || listPm2) {
    const ranges = (res) => LIST_COUNTS.filter((c) => res?.lists[c]).map((c) => `${c}: ${range(res.lists[c])}`).join(", ");
    notes.push(
      `List: apps deployed one after the other (\`nodal deploy app.ts --json --name app-N\`, median ${fmtMs(median(listNodal?.deployMs ?? []))} ms each; \`pm2 start server.js --name s-N\`, median ${fmtMs(median(listPm2?.startMs ?? []))} ms each), then ${LIST_INVOCATIONS} sequential invocations timed from spawn to exit, each checked to list every app; ` +
        `min–max (ms) nodal ${ranges(listNodal)}; pm2 ${ranges(listPm2)}. For scale, \`node -e 0\` takes ${fmtMs(median(nodeFloor))} ms (median of ${LIST_INVOCATIONS}) on this machine.` +
        (listNodal?.stoppedAt ? ` nodal: ${listNodal.stoppedAt}.` : "") +
        (listPm2?.stoppedAt ? ` pm2: ${listPm2.stoppedAt}.` : ""),
    );
  }
  if (nodalRss || pm2Rss) {
    const parts = (procs, label) => procs.map((p) => `${label} ${fmtMiB(p.kib)}`).join(" + ");
    const other = (procs) => procs.map((p) => `${basename(p.cmd.split(" ")[1] ?? p.cmd)} ${fmtMiB(p.kib)}`).join(" + ");
    notes.push(
      `RSS = sum of VmRSS from /proc, ${IDLE_MS / 1000} s after the first app was up and before any list call. ` +
        (nodalRss
          ? `nodal: ${[parts(nodalRss.supervisor, "supervisor"), parts(nodalRss.workers, "web worker"), nodalRss.others.length ? `other processes with its NODAL_HOME (the spare worker): ${other(nodalRss.others)}` : ""].filter(Boolean).join(" + ")} MiB. `
          : "") +
        (pm2Rss
          ? `pm2: ${[parts(pm2Rss.daemon, "daemon"), parts(pm2Rss.apps, "app"), pm2Rss.others.length ? `others ${other(pm2Rss.others)}` : ""].filter(Boolean).join(" + ")} MiB.`
          : ""),
    );
  }
  if (nodalRss && supKiB !== undefined) {
    const mb = (kib) => ((kib * 1024) / 1e6).toFixed(1);
    notes.push(
      `Units: MiB (1 MiB = 1.049 MB). In MB: nodal's supervisor ${mb(supKiB)}, the whole idle app ${mb(nodalRss.total)}; pm2's daemon ${daemonKiB !== undefined ? mb(daemonKiB) : "—"}, daemon + app ${pm2Rss ? mb(pm2Rss.total) : "—"}.`,
    );
  }
  if (process.env.NODE_EXTRA_CA_CERTS) {
    notes.push(
      "NODE_EXTRA_CA_CERTS is set here: Node 20 parses that certificate file as it starts (the `node -e 0` figure above pays for it). " +
        "Each tool runs as its users run it: `bin/nodal` (what `nodal` on PATH is) starts the CLI without the variable, the supervisor starts without it, and the app's workers get it back, so they pay for it; " +
        "`node_modules/.bin/pm2` runs with it, as do pm2's daemon and app. The section “Deploy and start (`start`) — without NODE_EXTRA_CA_CERTS” further down has this part without it.",
    );
  }
  for (const t of tricks) {
    notes.push(
      t.alone
        ? `Start-up trick — ${t.name}: ${fmtMs(t.without)} ${t.unit} saved (median of ${TRICK_PAIRS}). Measured: ${t.what}.`
        : `Start-up trick — ${t.name}: ${fmtMs(t.with)} ${t.unit} with it, ${fmtMs(t.without)} without (${fmtMs(t.without - t.with)} ${t.unit} saved; medians of ${TRICK_PAIRS} each, alternating). Measured: ${t.what}.`,
    );
  }
  for (const e of errors) notes.push(`Error — ${e}`);
  const cleanup = takeCleanupProblems();
  if (cleanup.length) notes.push(`Cleanup had to force: ${cleanup.slice(0, 5).join(" | ")}${cleanup.length > 5 ? ` (and ${cleanup.length - 5} more)` : ""}.`);
  notes.push(`Load average at the start of this part: ${loadAtStart}; at its end: ${loadAtEnd} (${os.cpus().length} cores).`);
  return { title, table, notes };
}
