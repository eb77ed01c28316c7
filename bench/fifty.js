// Part `fifty`: memory of 50 idle deployed apps, nodal against pm2, in one run (issue #16).
//  (a) nodal: 50 deploys of the same one-route express app (`--name app-N`, each on its own
//      port), `scaledownWindow: 2`; once every web function has scaled to zero, the RSS of every
//      process of that NODAL_HOME (50 supervisors). Then the first request to each of 5 apps
//      after its scale-down → 200 (its worker starts), next to bare `node server.js` → 200.
//  (b) pm2: the same app as `server.js`, 50 `pm2 start --name app-N` (PORT each), the RSS of
//      the daemon and its 50 processes once all are online and a settle time has passed.
// Targets: nodal ≤ 0.75× pm2's total; first request after scale-down ≤ bare start + 50 ms,
// 0 refused.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmtMs, freePort, now, sleep, startTool, tempProject } from "./lib.js";
import { NodalSandbox, Pm2Sandbox, check, loadavg, median, plainServer, rssKiB, waitForBody } from "./sandboxes.js";

export const title = "50 idle deployed apps against pm2 (`fifty`)";

const APPS = Number(process.env.BENCH_APPS ?? 50);
const SCALEDOWN_S = 2;
const SETTLE_MS = 3_000;
const PROBES = 5;

/** One of the 50: a one-route express app whose worker scales to zero when idle (the dashboard part deploys it too). */
export const idleApp = (name) => `import express from "express";
import { App } from "nodal";
export const app = new App(${JSON.stringify(name)});
const web = express();
web.get("/", (_req, res) => { res.type("text/plain").send("hello"); });
export const api = app.webApp({ scaledownWindow: ${SCALEDOWN_S} }, () => web);
`;

const total = (pids) => pids.reduce((sum, pid) => sum + (rssKiB(pid) ?? 0), 0);

async function nodalFifty(log) {
  const sb = new NodalSandbox("fifty-nodal");
  try {
    sb.write("app.ts", idleApp("fifty"));
    const urls = [];
    for (let i = 0; i < APPS; i++) {
      const out = await sb.deploy("app.ts", `app-${i}`);
      urls.push(out.urls.api);
      if ((i + 1) % 10 === 0) log?.(`fifty: nodal ${i + 1}/${APPS} deployed`);
    }
    // Every web function at zero: only the supervisors are left.
    const deadline = now() + 120_000;
    for (;;) {
      const shows = await Promise.all(Array.from({ length: APPS }, (_, i) => sb.show(`app-${i}`)));
      if (shows.every((s) => s.pids.workers.length === 0)) break;
      if (now() > deadline) throw new Error("nodal: not every app scaled to zero within 120 s");
      await sleep(500);
    }
    await sleep(SETTLE_MS);
    const pids = sb.pids();
    const rss = total(pids);
    // The first request after a scale-down starts a worker; it waits, never refused.
    const firsts = [];
    for (const url of urls.slice(0, PROBES)) {
      const port = Number(new URL(url).port);
      const r = await waitForBody(port, "hello", now(), 30_000);
      if (!r.ok) throw new Error(`nodal: ${url} did not answer after its scale-down (${r.last})`);
      firsts.push({ ms: r.ms, failed: r.failed });
    }
    return { rss, processes: pids.length, firsts };
  } finally {
    await sb.close();
  }
}

async function pm2Fifty(log) {
  const sb = new Pm2Sandbox("fifty-pm2");
  try {
    sb.write("server.js", plainServer("hello"));
    sb.write("package.json", `{ "private": true, "type": "commonjs" }\n`);
    for (let i = 0; i < APPS; i++) {
      const port = await freePort();
      check(await sb.run(["start", "server.js", "--name", `app-${i}`], { env: { PORT: String(port) }, timeoutMs: 60_000 }), `pm2 start app-${i}`);
      if ((i + 1) % 10 === 0) log?.(`fifty: pm2 ${i + 1}/${APPS} started`);
    }
    await sb.waitOnline(APPS, 60_000);
    await sleep(SETTLE_MS);
    const pids = sb.pids();
    return { rss: total(pids), processes: pids.length };
  } finally {
    await sb.close();
  }
}

/** `node server.js` → first 200, the floor under a worker's start. */
async function bareStarts(runs) {
  const project = tempProject("fifty-bare");
  const out = [];
  try {
    writeFileSync(join(project.dir, "server.js"), plainServer("hello"));
    writeFileSync(join(project.dir, "package.json"), `{ "private": true, "type": "commonjs" }\n`);
    for (let i = 0; i < runs; i++) {
      const port = await freePort();
      const t0 = now();
      const tool = startTool(process.execPath, ["server.js"], { cwd: project.dir, env: { PORT: String(port) } });
      try {
        const r = await waitForBody(port, "hello", t0, 30_000);
        if (!r.ok) throw new Error(`node server.js: no 200 (${r.last})`);
        out.push(r.ms);
      } finally {
        await tool.stop();
      }
    }
  } finally {
    await project.remove();
  }
  return out;
}

export async function run(opts) {
  const log = opts.log;
  const nodal = await nodalFifty(log);
  const pm2 = await pm2Fifty(log);
  const bare = await bareStarts(PROBES);
  const mb = (kib) => (kib * 1024) / 1e6;
  const ratio = nodal.rss / pm2.rss;
  const first = median(nodal.firsts.map((f) => f.ms));
  const bareMs = median(bare);
  const refused = nodal.firsts.reduce((n, f) => n + f.failed, 0);
  return {
    title,
    table: [
      ["measure", "nodal", "pm2", "ratio / difference", "target"],
      [`RSS of ${APPS} idle apps, all processes (MB)`, `${mb(nodal.rss).toFixed(0)} (${nodal.processes} processes)`, `${mb(pm2.rss).toFixed(0)} (${pm2.processes} processes)`, `${ratio.toFixed(2)}×`, `≤ 0.75× ${ratio <= 0.75 ? "✓" : "✗"}`],
      ["idle RSS per app (MB)", (mb(nodal.rss) / APPS).toFixed(1), (mb(pm2.rss) / APPS).toFixed(1), "", ""],
      [`first request after scale-down → 200, p50 of ${PROBES} (ms)`, fmtMs(first), `bare node server.js: ${fmtMs(bareMs)}`, `${first - bareMs >= 0 ? "+" : ""}${fmtMs(first - bareMs)}`, `≤ bare + 50 ${first - bareMs <= 50 ? "✓" : "✗"}; refused ${refused}`],
    ],
    notes: [
      `nodal: ${APPS} × \`nodal deploy app.ts --name app-N\` of a one-route express app with \`scaledownWindow: ${SCALEDOWN_S}\`; RSS summed over every process of the NODAL_HOME once every app showed no worker, after ${SETTLE_MS / 1000} s. pm2: ${APPS} × \`pm2 start server.js --name app-N\` (fork mode) of the same app, the daemon included, after all were online and ${SETTLE_MS / 1000} s. MB = 10^6 bytes.`,
      `First request: GET / on a fresh connection until 200, polled 2 ms apart; "refused" counts failed attempts (none may fail: the front door holds the port).`,
      `load average during the run: ${loadavg()}`,
    ],
  };
}
