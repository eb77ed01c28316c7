// Part `pod`: `nodal start` (what a container runs) against the same express app started bare
// with `node server.js`, interleaved in one run:
//  (a) spawn → first 200 from the app (median of the runs);
//  (b) memory of the idle pod, every process it started (nodal: the engine and its web worker)
//      against the bare process, sampled after a settle time: the physical pages they hold,
//      each counted once (what the pod costs the machine, as its container's memory counts
//      it), and the sum of their RSS (which counts the pages Node's processes share twice).
// The project is set up as the exported image is: the snapshot app.mjs, and the build's step
// `nodal start app.mjs --check` run with NODE_COMPILE_CACHE, which the pods' environment keeps
// (Node 22 and later write and read that cache; Node 20 ignores it). Bare `node server.js` runs
// without it, as a hand-written image would; a column shows it with a cache of its own too.
// Targets (issue #13): start ≤ bare + 50 ms; resident memory ≤ bare + 30 MB.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import moduleApi from "node:module";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { NODAL_BIN, ROOT, freePort, fmtMs, now, sleep, startTool, tempProject } from "./lib.js";
import { distinctResidentKiB, fmtMiB, loadavg, median, nodalApp, pidsWithEnv, plainServer, rssKiB, waitForBody } from "./sandboxes.js";

export const title = "A pod: `nodal start` against bare `node server.js` (`pod`)";

const START_TIMEOUT_MS = 30_000;
const IDLE_MS = 3_000;

/** Spawns `cmd args` in `project`, measures spawn → first 200, samples the tree's RSS once idle. */
async function measure(project, cmd, args, port, measureRss, env = {}) {
  const t0 = now();
  const tool = startTool(cmd, args, { cwd: project.dir, env: { PORT: String(port), ...env } });
  try {
    const r = await waitForBody(port, "hello", t0, START_TIMEOUT_MS, { stopIf: () => (tool.exited ? tool.exitInfo : false) });
    if (!r.ok) throw new Error(`${cmd} ${args.join(" ")}: no 200 within ${START_TIMEOUT_MS / 1000} s (${r.last}; ${tool.output.trim().slice(-300)})`);
    let rss, distinct;
    if (measureRss) {
      await sleep(IDLE_MS);
      const pids = pidsWithEnv("NODAL_BENCH_TAG", tool.tag);
      rss = pids.reduce((sum, pid) => sum + (rssKiB(pid) ?? 0), 0);
      distinct = distinctResidentKiB(pids);
    }
    return { ms: r.ms, rss, distinct };
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
  // The image's build step, with the image's NODE_COMPILE_CACHE (see the Dockerfile).
  const check = spawnSync(NODAL_BIN, ["start", "app.mjs", "--check"], { cwd: project.dir, env: { ...process.env, NODE_COMPILE_CACHE: cacheDir(project, "image") }, encoding: "utf8" });
  if (check.status !== 0) throw new Error(`bench pod: nodal start app.mjs --check failed: ${check.stderr}`);
  // A cache of bare server.js's own: one run of it that exits by itself (Node writes the cache
  // as it exits, and a SIGTERM without a handler gives it no chance).
  const warm = spawnSync(process.execPath, ["-e", "require('./server.js'); setTimeout(() => process.exit(0), 1000)"], { cwd: project.dir, env: { ...process.env, PORT: "0", NODE_COMPILE_CACHE: cacheDir(project, "bare") }, encoding: "utf8" });
  if (warm.status !== 0) throw new Error(`bench pod: warming bare's compile cache failed: ${warm.stderr}`);
}

const cacheDir = (project, name) => join(project.dir, ".cache", name);

/**
 * The environment of a run with the compile cache NAME, as it was written (an image's is
 * read-only to its pods; here a run could add to it as it exits, so each gets a fresh copy).
 */
function withCache(project, name) {
  const dir = cacheDir(project, `${name}-run`);
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(cacheDir(project, name))) cpSync(cacheDir(project, name), dir, { recursive: true });
  return { NODE_COMPILE_CACHE: dir };
}

const signed = (ms) => `${ms >= 0 ? "+" : ""}${fmtMs(ms)}`;

const compileCache = () => typeof moduleApi.enableCompileCache === "function";

/**
 * `nodal` as it would be without its start-up trick for pods (bin/nodal.cjs forks nodal start's
 * first worker before the CLI loads): copies of bin/nodal and bin/nodal.cjs beside them, the
 * prefork turned off. Returns the path of the copy of bin/nodal and a function removing both.
 */
function withoutPrefork() {
  const bin = join(ROOT, "bin");
  const cjs = readFileSync(join(bin, "nodal.cjs"), "utf8");
  const off = cjs.replace(/^const forStart = .*$/m, "const forStart = false;");
  const sh = readFileSync(join(bin, "nodal"), "utf8");
  const entry = sh.replace('"$dir/nodal.cjs"', '"$dir/.nodal-no-prefork.cjs"');
  if (off === cjs || entry === sh) throw new Error("bench pod: bin/nodal.cjs no longer has the prefork line this part turns off");
  writeFileSync(join(bin, ".nodal-no-prefork.cjs"), off);
  writeFileSync(join(bin, ".nodal-no-prefork"), entry);
  chmodSync(join(bin, ".nodal-no-prefork"), 0o755);
  return {
    path: join(bin, ".nodal-no-prefork"),
    remove: () => {
      rmSync(join(bin, ".nodal-no-prefork.cjs"), { force: true });
      rmSync(join(bin, ".nodal-no-prefork"), { force: true });
    },
  };
}

export async function run(opts) {
  const runs = opts.runs ?? 7;
  const project = tempProject("pod");
  const tools = {
    // As the exported Deployment runs it: one web function, on its port.
    snapshot: { args: ["start", "app.mjs", "--only", "api"], results: [] },
    source: { args: ["start", "app.ts", "--only", "api"], results: [] },
    noPrefork: { args: ["start", "app.mjs", "--only", "api"], bin: null, results: [] },
    bare: { args: null, results: [] },
    bareCached: { args: null, cached: true, results: [] },
  };
  const copy = withoutPrefork();
  tools.noPrefork.bin = copy.path;
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
        const [cmd, args] = tool.args ? [tool.bin ?? NODAL_BIN, [...tool.args, "--port", String(port), "--health-port", String(health)]] : [process.execPath, ["server.js"]];
        const env = tool.args ? withCache(project, "image") : tool.cached ? withCache(project, "bare") : {};
        tool.results.push(await measure(project, cmd, args, port, sample && !tool.cached, env));
      }
      opts.log?.(`pod: run ${i + 1}/${runs}: ${names.map((n) => `${n} ${fmtMs(tools[n].results.at(-1).ms)} ms`).join(", ")}`);
    }
  } finally {
    copy.remove();
    await project.remove();
  }
  const nodal = tools.snapshot.results;
  const bare = tools.bare.results;
  const ms = (xs) => median(xs.map((x) => x.ms));
  const rss = (xs, key = "rss") => median(xs.filter((x) => x[key] !== undefined).map((x) => x[key]));
  const startDelta = ms(nodal) - ms(bare);
  const rssDelta = (rss(nodal) - rss(bare)) / 1024;
  const distinct = (xs) => rss(xs, "distinct");
  const distinctDelta = (distinct(nodal) - distinct(bare)) / 1024;
  const memoryTarget = (delta) => `≤ +28.6 MiB (30 MB) ${delta * 1.048576 <= 30 ? "✓" : "✗"}`;
  return {
    title,
    table: [
      ["measure", "nodal start app.mjs (the image's snapshot)", "nodal start app.ts (built at start)", "bare node server.js", "snapshot − bare", "target"],
      ["spawn → first 200, p50 (ms)", fmtMs(ms(nodal)), fmtMs(ms(tools.source.results)), fmtMs(ms(bare)), signed(startDelta), `≤ +50 ${startDelta <= 50 ? "✓" : "✗"}`],
      ["spawn → first 200, bare with a compile cache of its own (ms)", "", "", fmtMs(ms(tools.bareCached.results)), signed(ms(nodal) - ms(tools.bareCached.results)), "(for comparison)"],
      Number.isNaN(distinctDelta)
        ? ["idle, pages held (MiB)", "not root: /proc/PID/pagemap shows no frames", "", "", "", memoryTarget(Infinity)]
        : ["idle, pages held, each once (MiB)", fmtMiB(distinct(nodal)), fmtMiB(distinct(tools.source.results)), fmtMiB(distinct(bare)), `+${distinctDelta.toFixed(1)}`, memoryTarget(distinctDelta)],
      ["idle, RSS summed over processes (MiB)", fmtMiB(rss(nodal)), fmtMiB(rss(tools.source.results)), fmtMiB(rss(bare)), `+${rssDelta.toFixed(1)}`, "(counts shared pages per process)"],
    ],
    notes: [
      `Start-up trick — nodal start's first worker forked before the CLI loads (bin/nodal.cjs hands it to the command): ${fmtMs(ms(tools.noPrefork.results) - ms(nodal))} ms saved (spawn → first 200 of the snapshot ${fmtMs(ms(nodal))} ms with it, ${fmtMs(ms(tools.noPrefork.results))} ms without; medians, interleaved with the rows above). Measured: a copy of bin/nodal.cjs with the prefork turned off, run the same way.`,
      compileCache()
        ? `Node ${process.versions.node} has a compile cache: the nodal columns ran with the image's NODE_COMPILE_CACHE, written by its build step \`nodal start app.mjs --check\`; bare node server.js without one (as a hand-written image runs it), and, in the second row, with one written by a run of its own.`
        : `Node ${process.versions.node} has no compile cache (Node 22 and later do): the image's NODE_COMPILE_CACHE changes nothing here, and both bare rows are the same measure.`,
      `${runs} interleaved runs each (order rotating); RSS sampled ${IDLE_MS / 1000} s after the first 200, on the first and last runs. A pod runs \`nodal start app.mjs --only api\` (as the exported Deployment does) on the portable snapshot \`nodal export kubernetes\` writes (no esbuild at start); nodal start runs the engine and one web worker, two Node processes where bare is one.`,
      `Memory: "pages held, each once" counts every physical page the pod's processes have resident once (from /proc/PID/pagemap, as root): what the pod costs the machine, and what its container's memory accounting sees. Summed RSS counts the pages two Node processes share (Node's code and libraries) twice; it is shown for comparison.`,
      `load average during the run: ${loadavg()}`,
    ],
  };
}
