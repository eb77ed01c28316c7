// Part `http`: requests/s of GET / ("hello") with autocannon (10 connections, 5 s after a 1 s
// warm-up) against the same express app run bare with `node server.js`, deployed with nodal (one
// web worker, the same with NODAL_METRICS=off, and two with minContainers: 2), under pm2 in fork
// mode and in cluster mode with 2 instances.
// Targets run one at a time, interleaved per run; each is started fresh and fully stopped after.
import autocannon from "autocannon";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { freePort, now, sleep, startTool, tail, tempProject } from "./lib.js";
import {
  NodalSandbox,
  Pm2Sandbox,
  check,
  loadavg,
  median,
  nodalApp,
  plainServer,
  portOf,
  takeCleanupProblems,
  waitForBody,
} from "./sandboxes.js";

export const title = "HTTP throughput (`http`)";

const CONNECTIONS = 10;
const WARMUP_S = 1;
const DURATION_S = 5;
const START_TIMEOUT_MS = 30_000;
const SETTLE_MS = 1_000;

/** autocannon against `url` for `seconds`, bounded: its result object. */
async function cannon(url, seconds) {
  const instance = autocannon({ url, connections: CONNECTIONS, duration: seconds });
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => {
      instance.stop();
      reject(new Error(`autocannon did not finish within ${seconds + 30} s`));
    }, (seconds + 30) * 1000);
  });
  try {
    return await Promise.race([instance, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Warm-up, then the measured run: { rps, latencyP50, latencyP99, errors, non2xx, total }. */
async function measure(port) {
  const url = `http://127.0.0.1:${port}/`;
  await cannon(url, WARMUP_S);
  const r = await cannon(url, DURATION_S);
  return {
    rps: r.requests.average,
    latencyP50: r.latency.p50,
    latencyP99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

async function ready(port) {
  const r = await waitForBody(port, "hello", now(), START_TIMEOUT_MS);
  if (!r.ok) throw new Error(`no 200 within ${START_TIMEOUT_MS / 1000} s (last: ${r.last})`);
  await sleep(SETTLE_MS);
}

const ALL_TARGETS = [
  {
    name: "node server.js (bare)",
    async run() {
      const project = tempProject("http-bare");
      const port = await freePort();
      writeFileSync(join(project.dir, "server.js"), plainServer("hello"));
      const proc = startTool(process.execPath, ["server.js"], { cwd: project.dir, env: { PORT: String(port) } });
      try {
        await Promise.race([ready(port), proc.exitPromise.then(() => Promise.reject(new Error(`node exited: ${tail(proc.output)}`)))]);
        return await measure(port);
      } finally {
        await proc.stop();
        await project.remove();
      }
    },
  },
  {
    name: "nodal deploy (1 worker)",
    run: () => nodalTarget("http-nodal", nodalApp("hello")),
  },
  {
    // What counting requests costs: the same deploy with counting switched off.
    name: "nodal, metrics off (1 worker, NODAL_METRICS=off)",
    run: () => nodalTarget("http-nodal-nometrics", nodalApp("hello"), { NODAL_METRICS: "off" }),
  },
  {
    name: "nodal deploy (2 workers: minContainers 2)",
    run: () => nodalTarget("http-nodal2", nodalApp("hello").replace("app.webApp({}", "app.webApp({ minContainers: 2 }")),
  },
  {
    name: "pm2 fork mode",
    async run() {
      return pm2Target([]);
    },
  },
  {
    name: "pm2 cluster mode, 2 instances",
    async run() {
      return pm2Target(["-i", "2"]);
    },
  },
];

/** Deploys `source` in a fresh NODAL_HOME (with `env` added to the deploy's) and measures its web function. */
async function nodalTarget(name, source, env = {}) {
  const sb = new NodalSandbox(name);
  Object.assign(sb.env, env);
  try {
    sb.write("app.ts", source);
    const out = await sb.deploy("app.ts");
    const port = portOf(out.urls.api);
    await ready(port);
    return await measure(port);
  } finally {
    await sb.close();
  }
}

/** BENCH_TARGETS=bare,nodal narrows a run to some targets (for quick local checks). */
const TARGETS = ALL_TARGETS.filter((t) => !process.env.BENCH_TARGETS || process.env.BENCH_TARGETS.split(",").some((n) => t.name.includes(n)));

async function pm2Target(extra) {
  const sb = new Pm2Sandbox(extra.length ? "http-pm2cluster" : "http-pm2fork");
  try {
    sb.write("server.js", plainServer("hello"));
    const port = await freePort();
    check(await sb.run(["start", "server.js", "--name", "server", ...extra], { env: { PORT: String(port) } }), "pm2 start");
    await sb.waitOnline(extra.length ? Number(extra[1]) : 1);
    await ready(port);
    return await measure(port);
  } finally {
    await sb.close();
  }
}

export async function run(opts) {
  const runs = opts.runs ?? 5;
  const log = opts.log ?? (() => {});
  const loadAtStart = loadavg();
  const results = new Map(TARGETS.map((t) => [t.name, []]));
  const errors = [];
  for (let r = 1; r <= runs; r++) {
    for (const t of TARGETS) {
      log(`http: run ${r}/${runs}, ${t.name}`);
      try {
        const m = await t.run();
        results.get(t.name).push({ ...m, run: r });
        log(`  ${m.rps.toFixed(0)} req/s, latency p50 ${m.latencyP50} ms, p99 ${m.latencyP99} ms, ${m.errors} errors, ${m.non2xx} non-2xx`);
      } catch (error) {
        errors.push(`${t.name}, run ${r}: ${error.message}`);
        log(`  FAILED: ${error.message}`);
      }
    }
  }
  const loadAtEnd = loadavg();

  const s = TARGETS.map((t) => {
    const ms = results.get(t.name);
    return {
      name: t.name,
      n: ms.length,
      rps: median(ms.map((m) => m.rps)),
      min: ms.length ? Math.min(...ms.map((m) => m.rps)) : undefined,
      max: ms.length ? Math.max(...ms.map((m) => m.rps)) : undefined,
      p50: median(ms.map((m) => m.latencyP50)),
      p99: median(ms.map((m) => m.latencyP99)),
      errors: ms.reduce((a, m) => a + m.errors + m.non2xx, 0),
    };
  });
  const find = (prefix) => s.find((x) => x.name.startsWith(prefix)) ?? { rps: undefined };
  const bare = find("node server.js");
  const nodal = find("nodal deploy (1");
  const nodal2 = find("nodal deploy (2");
  const metricsOff = find("nodal, metrics off");
  const cluster = find("pm2 cluster");
  const fmtR = (v) => (v === undefined ? "—" : v.toFixed(0));
  const ratio = (a, b) => (a === undefined || b === undefined ? "—" : `${(a / b).toFixed(2)}×`);
  const table = [
    ["target", "req/s p50 of runs", "req/s min–max", "latency p50 / p99 (ms)", "errors + non-2xx", "÷ bare", "nodal ÷ this"],
    ...s.map((x) => [
      x.name,
      fmtR(x.rps),
      x.n ? `${fmtR(x.min)}–${fmtR(x.max)}` : "—",
      x.n ? `${x.p50} / ${x.p99}` : "—",
      x.n ? String(x.errors) : "—",
      x === bare ? "—" : ratio(x.rps, bare.rps),
      x === nodal ? "—" : ratio(nodal.rps, x.rps),
    ]),
  ];
  // The machine's speed drifts between runs more than the differences measured here: the ratio
  // of two targets measured back to back in one run is steadier than the ratio of medians.
  const paired = (a, b) => {
    const byRun = new Map((results.get(b) ?? []).map((m) => [m.run, m.rps]));
    const each = (results.get(a) ?? []).filter((m) => byRun.has(m.run)).map((m) => m.rps / byRun.get(m.run));
    return { median: each.length ? median(each) : undefined, each };
  };
  const fmtPaired = ({ median: m, each }) =>
    m === undefined ? "—" : `${m.toFixed(2)}× (per run: ${each.map((x) => x.toFixed(2)).join(", ")})`;
  const name = (prefix) => ALL_TARGETS.find((t) => t.name.startsWith(prefix)).name;
  const pairedOne = paired(name("nodal deploy (1"), name("node server.js"));
  const pairedTwo = paired(name("nodal deploy (2"), name("pm2 cluster"));
  const pairedMetrics = paired(name("nodal deploy (1"), name("nodal, metrics off"));
  const notes = [];
  // Counting cannot make requests faster: the target is one-sided (on ÷ off ≥ 0.97).
  const metricsRatio = pairedMetrics.median ?? (nodal.rps !== undefined && metricsOff.rps !== undefined ? nodal.rps / metricsOff.rps : undefined);
  notes.push(
    `Metrics on ÷ off: nodal (1 worker) ÷ the same deploy with \`NODAL_METRICS=off\` (web workers count no request and send no stats) = ${fmtPaired(pairedMetrics)} taken within each run, ${ratio(nodal.rps, metricsOff.rps)} as a ratio of medians; target within 3% (≥ 0.97×) ${metricsRatio === undefined ? "—" : metricsRatio >= 0.97 ? "✓" : "✗"}.`,
  );
  notes.push(
    `nodal (1 worker) ÷ bare = ${ratio(nodal.rps, bare.rps)} (target ≥ 0.97×); nodal with 2 workers (\`app.webApp({ minContainers: 2 }, …)\`) ÷ pm2 cluster (2 instances) = ${ratio(nodal2.rps, cluster.rps)} (target ≥ 1×). The "nodal ÷ this" column compares the 1-worker deploy.`,
  );
  notes.push(
    `The same ratios taken within each run (the two targets measured back to back), median over runs: nodal (1 worker) ÷ bare ${fmtPaired(pairedOne)}; nodal (2 workers) ÷ pm2 cluster ${fmtPaired(pairedTwo)}. The machine's speed drifts between runs (see min–max), so these are the steadier figures.`,
  );
  notes.push(
    `How: per run, each target in turn is started fresh (nodal: \`nodal deploy app.ts --json\` in a fresh NODAL_HOME; pm2: \`pm2 start server.js --name server [-i 2]\` in a fresh PM2_HOME, waited until every instance is online), answers GET /, idles ${SETTLE_MS / 1000} s, then autocannon (programmatic API, in the bench process) with ${CONNECTIONS} connections for ${WARMUP_S} s (warm-up, discarded) and ${DURATION_S} s (measured); req/s = autocannon's mean of its per-second samples; ${runs} run(s), targets interleaved; the p50 column is the median over runs.`,
  );
  notes.push(
    `nodal's front door (the port) is held by the supervisor, which accepts each connection and passes the socket to the worker over IPC; the requests on it then go to the worker directly (autocannon keeps its 10 connections open, so the hand-off is paid 10 times per run). autocannon shares the 2 cores with the server processes, so every figure here is bounded by that.`,
  );
  for (const e of errors) notes.push(`Error — ${e}`);
  const cleanup = takeCleanupProblems();
  if (cleanup.length) notes.push(`Cleanup had to force: ${cleanup.slice(0, 5).join(" | ")}${cleanup.length > 5 ? ` (and ${cleanup.length - 5} more)` : ""}.`);
  notes.push(`Load average at the start of this part: ${loadAtStart}; at its end: ${loadAtEnd} (${os.cpus().length} cores).`);
  return { title, table, notes };
}
