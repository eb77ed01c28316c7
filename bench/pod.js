// Part `pod`: `nodal start` (what a container runs) against the same express app started bare
// with `node server.js`, interleaved in one run:
//  (a) spawn → first 200 from the app (median of the runs);
//  (b) RSS of the idle pod, every process it started (nodal: the engine and its web worker)
//      against the bare process, sampled after a settle time.
// Targets (issue #13): start ≤ bare + 50 ms; RSS ≤ bare + 30 MB.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODAL_BIN, freePort, fmtMs, now, sleep, startTool, tempProject } from "./lib.js";
import { fmtMiB, loadavg, median, nodalApp, pidsWithEnv, plainServer, rssKiB, waitForBody } from "./sandboxes.js";

export const title = "A pod: `nodal start` against bare `node server.js` (`pod`)";

const START_TIMEOUT_MS = 30_000;
const IDLE_MS = 3_000;

/** Spawns `cmd args` in `project`, measures spawn → first 200, samples the tree's RSS once idle. */
async function measure(project, cmd, args, port, measureRss) {
  const t0 = now();
  const tool = startTool(cmd, args, { cwd: project.dir, env: { PORT: String(port) } });
  try {
    const r = await waitForBody(port, "hello", t0, START_TIMEOUT_MS, { stopIf: () => (tool.exited ? tool.exitInfo : false) });
    if (!r.ok) throw new Error(`${cmd} ${args.join(" ")}: no 200 within ${START_TIMEOUT_MS / 1000} s (${r.last}; ${tool.output.trim().slice(-300)})`);
    let rss;
    if (measureRss) {
      await sleep(IDLE_MS);
      rss = pidsWithEnv("NODAL_BENCH_TAG", tool.tag).reduce((sum, pid) => sum + (rssKiB(pid) ?? 0), 0);
    }
    return { ms: r.ms, rss };
  } finally {
    await tool.stop();
  }
}

export async function run(opts) {
  const runs = opts.runs ?? 7;
  const project = tempProject("pod");
  const nodal = [];
  const bare = [];
  try {
    writeFileSync(join(project.dir, "app.ts"), nodalApp("hello"));
    writeFileSync(join(project.dir, "server.js"), plainServer("hello"));
    writeFileSync(join(project.dir, "package.json"), `{ "private": true, "type": "commonjs" }\n`);
    for (let i = 0; i < runs; i++) {
      const last = i === runs - 1;
      // Interleaved, and alternating which goes first, so drift on a noisy machine hits both.
      const order = i % 2 === 0 ? ["nodal", "bare"] : ["bare", "nodal"];
      for (const which of order) {
        const port = await freePort();
        const health = await freePort();
        if (which === "nodal") nodal.push(await measure(project, NODAL_BIN, ["start", "app.ts", "--port", String(port), "--health-port", String(health)], port, last || i === 0));
        else bare.push(await measure(project, process.execPath, ["server.js"], port, last || i === 0));
      }
      opts.log?.(`pod: run ${i + 1}/${runs}: nodal start ${fmtMs(nodal.at(-1).ms)} ms, bare ${fmtMs(bare.at(-1).ms)} ms`);
    }
  } finally {
    await project.remove();
  }
  const ms = (xs) => median(xs.map((x) => x.ms));
  const rss = (xs) => median(xs.filter((x) => x.rss !== undefined).map((x) => x.rss));
  const startDelta = ms(nodal) - ms(bare);
  const rssDelta = (rss(nodal) - rss(bare)) / 1024;
  return {
    title,
    table: [
      ["measure", "nodal start", "bare node server.js", "nodal − bare", "target"],
      ["spawn → first 200, p50 (ms)", fmtMs(ms(nodal)), fmtMs(ms(bare)), `${startDelta >= 0 ? "+" : ""}${fmtMs(startDelta)}`, `≤ +50 ${startDelta <= 50 ? "✓" : "✗"}`],
      ["idle RSS, all processes (MiB)", fmtMiB(rss(nodal)), fmtMiB(rss(bare)), `+${rssDelta.toFixed(1)}`, `≤ +28.6 MiB (30 MB) ${rssDelta * 1.048576 <= 30 ? "✓" : "✗"}`],
    ],
    notes: [
      `${runs} interleaved runs each (order alternating); RSS sampled ${IDLE_MS / 1000} s after the first 200, on the first and last runs. nodal start runs the engine and one web worker (two Node processes) where bare is one.`,
      `load average during the run: ${loadavg()}`,
    ],
  };
}
