// Part `cluster`: `.remote()` over Redis (cluster mode) with two replicas on loopback, next to
// a bare BullMQ producer and two bare BullMQ consumer processes on the same Redis (no nodal),
// and next to the local transport (the same call to a local worker pool, no Redis). Then the
// consuming side alone: one replica, and one bare consumer, each draining a queue filled
// beforehand, with the CPU each spends per call.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODAL_BIN, ROOT, defer, fmtMs, freePort, get, percentile, sleep, startTool, tempProject } from "./lib.js";

const CALLS = 1000; // sequential round trips
// Calls for the rate: about 5 s of calls at this machine's rate. A burst of 5,000 (about a
// second) moved by ±8 % from one round to the next with a single GC or scheduling hiccup.
const BURST = Number(process.env.BURST ?? 20_000);
const IN_FLIGHT = 64;
const DRAINED = Number(process.env.DRAINED ?? 30_000); // calls queued for the drain

const app = `import { App } from "nodal";
export const app = new App("bench-cluster");
export const echo = app.function({ maxContainers: 1, concurrency: ${IN_FLIGHT} }, async (x: number) => x);
export const bench = app.function({}, async () => {
  for (let i = 0; i < 200; i++) await echo.remote(i); // warm up: connections, code optimised
  const rtt: number[] = [];
  for (let i = 0; i < ${CALLS}; i++) {
    const t = performance.now();
    await echo.remote(i);
    rtt.push(performance.now() - t);
  }
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: ${IN_FLIGHT} }, async () => { while (next < ${BURST}) await echo.remote(next++); }));
  return { rtt, rate: ${BURST} / ((performance.now() - t) / 1000) };
});
`;

// The same round trip with nothing but BullMQ: add a job, wait for it with the library's own
// QueueEvents idiom (job.waitUntilFinished); two consumer processes, like the two replicas.
const bareConsumer = `import { Worker } from "bullmq";
const w = new Worker("echo", async (job) => job.data.x, { connection: { host: "127.0.0.1", port: Number(process.argv[2]), maxRetriesPerRequest: null }, prefix: process.argv[3] ?? "bare", concurrency: ${IN_FLIGHT} });
w.on("ready", () => console.log("READY"));
`;
const bareProducer = `import { Queue, QueueEvents } from "bullmq";
const connection = { host: "127.0.0.1", port: Number(process.argv[2]), maxRetriesPerRequest: null };
const queue = new Queue("echo", { connection, prefix: "bare" });
const events = new QueueEvents("echo", { connection, prefix: "bare" });
await events.waitUntilReady();
const opts = { removeOnComplete: { age: 86400 }, removeOnFail: { age: 86400 } };
const call = async (x) => (await queue.add("echo", { x }, opts)).waitUntilFinished(events);
for (let i = 0; i < 200; i++) await call(i);
const rtt = [];
for (let i = 0; i < ${CALLS}; i++) { const t = performance.now(); await call(i); rtt.push(performance.now() - t); }
let next = 0;
const t = performance.now();
await Promise.all(Array.from({ length: ${IN_FLIGHT} }, async () => { while (next < ${BURST}) await call(next++); }));
console.log("BENCH " + JSON.stringify({ rtt, rate: ${BURST} / ((performance.now() - t) / 1000) }));
process.exit(0);
`;

async function startRedis(log) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-bench-redis-"));
  const port = await freePort();
  const child = spawn("redis-server", ["--save", "", "--appendonly", "no", "--dir", dir, "--port", String(port), "--bind", "127.0.0.1"], { stdio: "ignore" });
  const stop = defer(async () => {
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    if (r.stdout?.trim() === "PONG") break;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port}`);
    await sleep(50);
  }
  log(`cluster: redis-server on ${port}`);
  return { port, pid: child.pid, url: `redis://127.0.0.1:${port}`, stop };
}

async function waitReady(tool, port, what) {
  const deadline = Date.now() + 60_000;
  while ((await get(port, "/readyz").catch(() => ({ status: 0 }))).status !== 200) {
    if (tool.exited || Date.now() > deadline) throw new Error(`${what} did not get ready: ${tool.output}`);
    await sleep(50);
  }
}

function stats(rtt, rate) {
  return { p50: percentile(rtt, 50), p99: percentile(rtt, 99), rate };
}

/** `nodal start app.ts --call bench` with the given extra args; its result is the last stdout line. */
function nodalBench(dir, extra) {
  const r = spawnSync(NODAL_BIN, ["start", "app.ts", "--call", "bench", ...extra], { cwd: dir, encoding: "utf8", timeout: 300_000, env: { ...process.env, NO_COLOR: "1" } });
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.status !== 0) throw new Error(`nodal start --call bench failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const { rtt, rate } = JSON.parse(last);
  return stats(rtt, rate);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The run with the median rate (its latencies kept with it). */
function medianRun(runs) {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)];
}

/** The bare library: a producer process and two consumer processes. */
async function bareRun(dir, redis, tools) {
  const consumers = [0, 1].map(() => startTool(process.execPath, ["consumer.mjs", String(redis.port)], { cwd: dir }));
  tools.push(...consumers);
  try {
    for (const c of consumers) {
      const deadline = Date.now() + 30_000;
      while (!c.output.includes("READY")) {
        if (c.exited || Date.now() > deadline) throw new Error(`bare consumer did not start: ${c.output}`);
        await sleep(20);
      }
    }
    const p = spawnSync(process.execPath, ["producer.mjs", String(redis.port)], { cwd: dir, encoding: "utf8", timeout: 300_000 });
    const line = p.stdout.split("\n").find((l) => l.startsWith("BENCH "));
    if (!line) throw new Error(`bare producer failed (${p.status}): ${p.stderr.slice(-2000)}`);
    const raw = JSON.parse(line.slice(6));
    return stats(raw.rtt, raw.rate);
  } finally {
    for (const c of consumers) await c.stop();
  }
}

/** CPU time (ms) a process has used, from /proc (user + system). */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** The pid and its children (a replica's engine and its worker). */
function treeCpuMs(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {}
  return cpuMs(pid) + kids.reduce((sum, k) => sum + cpuMs(k), 0);
}

/**
 * The consuming side alone: `DRAINED` calls are queued first (nodal's by its own client, as a
 * caller pod queues them; bare's by BullMQ's Queue), then one consumer drains them. Timed from
 * the 1,000th call done to the last: calls/s, and CPU per call of the consumer's processes and
 * of Redis.
 */
async function drainRun(kind, dir, redis, tools) {
  const { Queue } = await import("bullmq");
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const prefix = kind === "bare" ? "drain-bare" : "nodal:bench-cluster";
  const queue = new Queue("echo", { connection, prefix });
  // The cluster rounds' calls stay completed in nodal's queue (results are kept): counted from empty.
  await queue.obliterate({ force: true });
  try {
    if (kind === "bare") {
      const opts = { removeOnComplete: { age: 86400 }, removeOnFail: { age: 86400 } };
      for (let i = 0; i < DRAINED; i += 1000) await queue.addBulk(Array.from({ length: 1000 }, (_, k) => ({ name: "echo", data: { x: i + k }, opts })));
    } else {
      const { ClusterClient } = await import(join(ROOT, "dist", "modules", "cluster", "client.js"));
      const client = new ClusterClient(redis.url);
      try {
        for (let i = 0; i < DRAINED; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, k) => client.spawn("bench-cluster", "echo", [i + k])));
      } finally {
        await client.close();
      }
    }
    const consumer =
      kind === "bare"
        ? startTool(process.execPath, ["consumer.mjs", String(redis.port), "drain-bare"], { cwd: dir })
        : startTool(NODAL_BIN, ["start", "app.ts", "--only", "echo", "--cluster", redis.url, "--health-port", String(await freePort())], { cwd: dir });
    tools.push(consumer);
    try {
      const deadline = Date.now() + 300_000;
      let from;
      for (;;) {
        const done = await queue.getCompletedCount();
        if (!from && done >= 1000) from = { t: performance.now(), done, cpu: treeCpuMs(consumer.child.pid), redis: cpuMs(redis.pid) };
        if (done >= DRAINED) {
          const calls = done - from.done;
          const ms = performance.now() - from.t;
          return {
            rate: (calls * 1000) / ms,
            cpuUs: ((treeCpuMs(consumer.child.pid) - from.cpu) * 1000) / calls,
            redisUs: ((cpuMs(redis.pid) - from.redis) * 1000) / calls,
          };
        }
        if (consumer.exited || Date.now() > deadline) throw new Error(`drain (${kind}) did not finish: ${consumer.output}`);
        await sleep(20);
      }
    } finally {
      await consumer.stop();
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** nodal: two replicas of echo, and a pod whose function calls it. */
async function clusterRun(dir, redis, tools) {
  const replicas = [];
  try {
    for (let i = 0; i < 2; i++) {
      const health = await freePort();
      const r = startTool(NODAL_BIN, ["start", "app.ts", "--only", "echo", "--cluster", redis.url, "--health-port", String(health)], { cwd: dir });
      tools.push(r);
      replicas.push([r, health]);
    }
    for (const [r, health] of replicas) await waitReady(r, health, "a replica");
    return nodalBench(dir, ["--only", "bench", "--cluster", redis.url]);
  } finally {
    for (const [r] of replicas) await r.stop();
  }
}

export async function run(opts) {
  const log = opts.log ?? (() => {});
  const project = tempProject("cluster");
  writeFileSync(join(project.dir, "app.ts"), app);
  writeFileSync(join(project.dir, "consumer.mjs"), bareConsumer);
  writeFileSync(join(project.dir, "producer.mjs"), bareProducer);
  const redis = await startRedis(log);
  const tools = [];
  try {
    log("cluster: local transport (nodal start --call bench, no --cluster)");
    const local = nodalBench(project.dir, []);

    // The machine's speed drifts between runs more than the difference measured here: bare
    // and nodal run back to back in each of `runs` rounds, and the ratio is taken per round.
    const runs = opts.runs ?? 3;
    const bares = [];
    const clusters = [];
    for (let r = 1; r <= runs; r++) {
      log(`cluster: run ${r}/${runs}, bare BullMQ, two consumer processes`);
      bares.push(await bareRun(project.dir, redis, tools));
      log(`cluster: run ${r}/${runs}, nodal, two replicas of echo (nodal start --only echo --cluster)`);
      clusters.push(await clusterRun(project.dir, redis, tools));
    }
    const ratios = clusters.map((c, i) => c.rate / bares[i].rate);

    const drains = { bare: [], nodal: [] };
    for (let r = 1; r <= runs; r++) {
      for (const kind of ["bare", "nodal"]) {
        log(`cluster: run ${r}/${runs}, draining ${DRAINED.toLocaleString("en")} queued calls with one ${kind === "bare" ? "bare consumer" : "replica"}`);
        drains[kind].push(await drainRun(kind, project.dir, redis, tools));
      }
    }
    const drain = { bare: medianRun(drains.bare), nodal: medianRun(drains.nodal) };
    const bare = medianRun(bares);
    const cluster = medianRun(clusters);

    const row = (name, s) => [name, fmtMs(s.p50), fmtMs(s.p99), Math.round(s.rate).toLocaleString("en")];
    return {
      title: "Cross-pod calls over Redis (`cluster`)",
      table: [
        ["transport", "round trip p50 (ms)", "p99 (ms)", `calls/s (${IN_FLIGHT} in flight)`],
        row("nodal, cluster mode: Redis + BullMQ, 2 replicas", cluster),
        row("bare BullMQ (Queue + QueueEvents, 2 Worker processes)", bare),
        row("nodal, local transport (worker pool, IPC)", local),
      ],
      notes: [
        `Loopback, one redis-server (7.0, no persistence). ${CALLS} sequential calls after 200 warm-up calls, then ${BURST.toLocaleString("en")} calls with ${IN_FLIGHT} in flight. nodal's calls are made by a function's worker in a \`nodal start --only bench --call bench\` pod: worker → its engine → Redis → a replica's engine → its worker, and back. The bare run is the library alone: a producer process and two consumer processes, the consumer's processor returning its input.`,
        `The consuming side alone, draining ${DRAINED.toLocaleString("en")} calls queued beforehand (median of ${runs}): one nodal replica (its engine and its worker) ${Math.round(drain.nodal.rate).toLocaleString("en")} calls/s, ${drain.nodal.cpuUs.toFixed(1)} µs of CPU per call (Redis ${drain.nodal.redisUs.toFixed(1)}); one bare consumer ${Math.round(drain.bare.rate).toLocaleString("en")} calls/s, ${drain.bare.cpuUs.toFixed(1)} µs (Redis ${drain.bare.redisUs.toFixed(1)}). The difference is what a replica adds to each call: the hop to the worker process that runs the function, and the engine's part (its timeout, the decoding of arguments and result).`,
        `Cluster mode and bare BullMQ: the median of ${runs} rounds, each running the bare library then nodal on the same Redis. Cluster mode against the bare library, taken within each round: median ${median(ratios).toFixed(3)}× its calls/s (per round: ${ratios.map((x) => x.toFixed(3)).join(", ")}; target ≥ 0.8×); p50 ${fmtMs(cluster.p50)} ms (target ≤ 3 ms).`,
      ],
    };
  } finally {
    for (const t of tools) await t.stop();
    await redis.stop();
    await project.remove();
  }
}
