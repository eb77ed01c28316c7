// Part `pod`: `nodal start` (what a container runs) against the same express app started bare
// with `node server.js`, interleaved in one run:
//  (a) spawn → first 200 from the app (median of the runs);
//  (b) RSS of the idle pod, every process it started (nodal: the engine and its web worker)
//      against the bare process, sampled after a settle time.
// Targets (issue #13): start ≤ bare + 50 ms; RSS ≤ bare + 30 MB.
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODAL_BIN, ROOT, freePort, fmtMs, now, sleep, startTool, tempProject } from "./lib.js";
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

/**
 * The project as an exported image holds it: the portable snapshot `app.mjs` (what `nodal
 * export kubernetes` writes) with `nodal` and `express` in the node_modules beside it.
 */
async function podProject(project) {
  writeFileSync(join(project.dir, "app.ts"), nodalApp("hello"));
  writeFileSync(join(project.dir, "server.js"), plainServer("hello"));
  writeFileSync(join(project.dir, "package.json"), `{ "private": true, "type": "commonjs" }\n`);
  rmSync(join(project.dir, "node_modules")); // tempProject links the repo's; an image has its own
  mkdirSync(join(project.dir, "node_modules"));
  symlinkSync(ROOT, join(project.dir, "node_modules", "nodal"));
  symlinkSync(join(ROOT, "node_modules", "express"), join(project.dir, "node_modules", "express"));
  const { Builder } = await import(join(ROOT, "dist", "modules", "loader", "build.js"));
  const builder = new Builder(join(project.dir, "app.ts"), join(project.dir, "out"), { portable: true });
  try {
    copyFileSync((await builder.build()).file, join(project.dir, "app.mjs"));
  } finally {
    await builder.dispose();
  }
}

export async function run(opts) {
  const runs = opts.runs ?? 7;
  const project = tempProject("pod");
  const tools = {
    snapshot: { args: ["start", "app.mjs"], results: [] },
    source: { args: ["start", "app.ts"], results: [] },
    bare: { args: null, results: [] },
  };
  try {
    await podProject(project);
    for (let i = 0; i < runs; i++) {
      const sample = i === 0 || i === runs - 1;
      // Interleaved, and rotating which goes first, so drift on a noisy machine hits all.
      const names = Object.keys(tools);
      const order = names.map((_, k) => names[(k + i) % names.length]);
      for (const name of order) {
        const port = await freePort();
        const health = await freePort();
        const tool = tools[name];
        const [cmd, args] = tool.args ? [NODAL_BIN, [...tool.args, "--port", String(port), "--health-port", String(health)]] : [process.execPath, ["server.js"]];
        tool.results.push(await measure(project, cmd, args, port, sample));
      }
      opts.log?.(`pod: run ${i + 1}/${runs}: ${names.map((n) => `${n} ${fmtMs(tools[n].results.at(-1).ms)} ms`).join(", ")}`);
    }
  } finally {
    await project.remove();
  }
  const nodal = tools.snapshot.results;
  const bare = tools.bare.results;
  const ms = (xs) => median(xs.map((x) => x.ms));
  const rss = (xs) => median(xs.filter((x) => x.rss !== undefined).map((x) => x.rss));
  const startDelta = ms(nodal) - ms(bare);
  const rssDelta = (rss(nodal) - rss(bare)) / 1024;
  return {
    title,
    table: [
      ["measure", "nodal start app.mjs (the image's snapshot)", "nodal start app.ts (built at start)", "bare node server.js", "snapshot − bare", "target"],
      ["spawn → first 200, p50 (ms)", fmtMs(ms(nodal)), fmtMs(ms(tools.source.results)), fmtMs(ms(bare)), `${startDelta >= 0 ? "+" : ""}${fmtMs(startDelta)}`, `≤ +50 ${startDelta <= 50 ? "✓" : "✗"}`],
      ["idle RSS, all processes (MiB)", fmtMiB(rss(nodal)), fmtMiB(rss(tools.source.results)), fmtMiB(rss(bare)), `+${rssDelta.toFixed(1)}`, `≤ +28.6 MiB (30 MB) ${rssDelta * 1.048576 <= 30 ? "✓" : "✗"}`],
    ],
    notes: [
      `${runs} interleaved runs each (order rotating); RSS sampled ${IDLE_MS / 1000} s after the first 200, on the first and last runs. A pod runs \`nodal start app.mjs\` on the portable snapshot \`nodal export kubernetes\` writes (no esbuild at start); nodal start runs the engine and one web worker, two Node processes where bare is one.`,
      `load average during the run: ${loadavg()}`,
    ],
  };
}
