// Part `reload-scale`: what a reload costs as an app grows. The same generated app, with 1, 100
// and 1,000 local TypeScript modules, runs under `nodal serve` and under `tsx watch` (one after
// the other, never concurrently); an edit to one leaf module must show in the next response.
//
// The app: modules mods/m0.ts … mods/m{N-1}.ts form a tree (module i imports modules
// 10i+1 … 10i+10), each small; GET / walks the whole tree and answers "MARKER COUNT", where
// COUNT is how many modules it visited (so a response proves all N are loaded) and MARKER is a
// string held by the deepest leaf, mods/m{N-1}.ts, the file each edit changes.
//
// Per tool and size: a fresh temp dir, start the tool, wait for the first answer, then E edits
// alternating in-place writes and atomic saves. Latency = write → first 200 whose body has the
// new marker (polled as in `reload`). Meanwhile a second request loop (a fresh connection
// every few ms, from the first edit to the end of the last) counts the requests that failed
// (refused, reset, timed out or non-200): nodal's target is 0 at every size.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitForVersion } from "./reload.js";
import { BIN_DIR, NODAL_BIN, fmtMs, freePort, get, now, percentile, sleep, startTool, tail, tempProject } from "./lib.js";

export const title = "Reload cost as the app grows (`reload-scale`)";

const SIZES = (process.env.BENCH_SIZES ?? "1,100,1000").split(",").map(Number);
const FANOUT = 10;
const START_TIMEOUT_MS = 60_000;
const EDIT_TIMEOUT_MS = 30_000;
const BETWEEN_EDITS_MS = 300;
const SETTLE_MS = 500;
const LOOP_GAP_MS = 5;
const LOOP_TIMEOUT_MS = 2_000;

const childrenOf = (i, n) => Array.from({ length: FANOUT }, (_, k) => FANOUT * i + 1 + k).filter((c) => c < n);

/** mods/m{i}.ts; the leaf that edits change carries the marker. */
function moduleSource(i, n, marker) {
  const kids = childrenOf(i, n);
  const imports = kids.map((c) => `import { visit as visit${c} } from "./m${c}.js";\n`).join("");
  const calls = kids.map((c) => `  visit${c}(acc);\n`).join("");
  const own = marker === undefined ? "" : `export const marker: string = ${JSON.stringify(marker)};\n`;
  return `${imports}type Acc = { count: number; marker: string };
${own}
export function visit(acc: Acc): void {
  acc.count += 1;
${own ? "  acc.marker = marker;\n" : ""}${calls}}
`;
}

const route = `web.get("/", (_req, res) => {
  const acc = { count: 0, marker: "" };
  visit(acc);
  res.type("text/plain").send(\`\${acc.marker} \${acc.count}\`);
});`;

const nodalApp = `import express from "express";
import { App } from "nodal";
import { visit } from "./mods/m0.js";

export const app = new App("bench-reload-scale");
const web = express();
${route}
export const api = app.webApp({}, () => web);
`;

const plainServer = `import express from "express";
import { visit } from "./mods/m0.js";

const web = express();
${route}
web.listen(Number(process.env.PORT), "127.0.0.1");
`;

const TOOLS = [
  {
    name: "nodal serve",
    entry: "app.ts",
    source: nodalApp,
    shown: "bin/nodal serve app.ts --port PORT",
    command: (port, dir) => ({ cmd: NODAL_BIN, args: ["serve", "app.ts", "--port", String(port)], env: { NODAL_HOME: join(dir, ".nodal-home") } }),
  },
  {
    name: "tsx watch",
    entry: "server.ts",
    source: plainServer,
    shown: "tsx watch server.ts",
    command: (port) => ({ cmd: join(BIN_DIR, "tsx"), args: ["watch", "server.ts"], env: { PORT: String(port) } }),
  },
].filter((t) => !process.env.BENCH_TOOLS || process.env.BENCH_TOOLS.split(",").some((n) => t.name.includes(n)));

/** Writes the app of `n` modules into `dir`; returns the leaf's path. */
function writeApp(dir, n, tool, marker) {
  mkdirSync(join(dir, "mods"));
  for (let i = 0; i < n; i++) writeFileSync(join(dir, "mods", `m${i}.ts`), moduleSource(i, n, i === n - 1 ? marker : undefined));
  writeFileSync(join(dir, tool.entry), tool.source);
  return join(dir, "mods", `m${n - 1}.ts`);
}

/** A request loop on fresh connections until `stop()`: { stop, counts: { ok, failed, byError } }. */
function requestLoop(port) {
  const counts = { ok: 0, failed: 0, byError: {} };
  let running = true;
  const done = (async () => {
    while (running) {
      const r = await get(port, "/", LOOP_TIMEOUT_MS);
      if (r.ok) counts.ok++;
      else {
        counts.failed++;
        const why = r.error ?? `HTTP ${r.status}`;
        counts.byError[why] = (counts.byError[why] ?? 0) + 1;
      }
      await sleep(LOOP_GAP_MS);
    }
  })();
  return {
    counts,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** One tool on one size: { started, startMs, error, edits: [{ ok, ms }], loop, selfReported, watching }. */
async function passOf(tool, n, { edits, log }) {
  const project = tempProject(`scale${n}`);
  const nonce = Math.random().toString(36).slice(2, 8);
  const markerOf = (i) => `bench-${nonce}-v${i}`;
  const leaf = writeApp(project.dir, n, tool, markerOf(0));
  const port = await freePort();
  const { cmd, args, env } = tool.command(port, project.dir);
  const result = { started: false, startMs: undefined, error: null, edits: [], loop: undefined, selfReported: [], watching: undefined };
  const t0 = now();
  const proc = startTool(cmd, args, { cwd: project.dir, env });
  let loop;
  try {
    const ready = await Promise.race([
      waitForVersion(port, `${markerOf(0)} ${n}`, t0, START_TIMEOUT_MS),
      proc.exitPromise.then(() => ({ exited: true })),
    ]);
    if (ready.exited || !ready.ok) {
      const why = proc.spawnError ? proc.spawnError.message : ready.exited ? proc.exitInfo : `no answer within ${START_TIMEOUT_MS / 1000} s (last: ${ready.last})`;
      result.error = `${why}${proc.output.trim() ? `: ${tail(proc.output)}` : ""}`;
      return result;
    }
    result.started = true;
    result.startMs = ready.ms;
    log(`  ${tool.name}, ${n} modules: serving after ${fmtMs(ready.ms)} ms`);
    await sleep(SETTLE_MS);
    loop = requestLoop(port);
    for (let i = 1; i <= edits; i++) {
      const kind = i % 2 === 1 ? "in-place" : "atomic";
      const expected = `${markerOf(i)} ${n}`;
      const content = moduleSource(n - 1, n, markerOf(i));
      const start = now();
      if (kind === "in-place") writeFileSync(leaf, content);
      else {
        writeFileSync(`${leaf}.tmp`, content);
        renameSync(`${leaf}.tmp`, leaf);
      }
      const r = await waitForVersion(port, expected, start, EDIT_TIMEOUT_MS);
      result.edits.push({ index: i, kind, ok: r.ok, ms: r.ms });
      log(`  ${tool.name}, ${n} modules: edit ${i}/${edits} (${kind}) ${r.ok ? `${fmtMs(r.ms)} ms` : `MISSED (last: ${r.last})`}`);
      if (proc.exited) {
        result.error = `${proc.exitInfo} during edit ${i}: ${tail(proc.output)}`;
        break;
      }
      await sleep(BETWEEN_EDITS_MS);
    }
    return result;
  } finally {
    if (loop) {
      await loop.stop();
      result.loop = loop.counts;
    }
    await proc.stop();
    result.selfReported = [...proc.output.matchAll(/reloaded v\d+ in (\d+) ms/g)].map((m) => Number(m[1]));
    result.watching = proc.output.match(/watching (\d+) file\(s\)/)?.[1];
    await project.remove();
  }
}

export async function run(opts) {
  const edits = opts.edits ?? 10;
  const runs = opts.runs ?? 1;
  const log = opts.log ?? (() => {});
  const rows = [];
  for (const n of SIZES) {
    const perTool = new Map(TOOLS.map((t) => [t.name, { starts: [], errors: [], edits: [], ok: 0, failed: 0, byError: {}, selfReported: [], watching: undefined }]));
    for (let r = 1; r <= runs; r++) {
      for (const tool of TOOLS) {
        log(`reload-scale: ${n} modules, run ${r}/${runs}, ${tool.name}`);
        const res = await passOf(tool, n, { edits, log });
        const acc = perTool.get(tool.name);
        if (res.started) acc.starts.push(res.startMs);
        if (res.error) acc.errors.push(res.error);
        acc.edits.push(...res.edits);
        acc.selfReported.push(...res.selfReported);
        acc.watching ??= res.watching;
        if (res.loop) {
          acc.ok += res.loop.ok;
          acc.failed += res.loop.failed;
          for (const [k, v] of Object.entries(res.loop.byError)) acc.byError[k] = (acc.byError[k] ?? 0) + v;
        }
      }
    }
    for (const tool of TOOLS) {
      const acc = perTool.get(tool.name);
      const landed = acc.edits.filter((e) => e.ok).map((e) => e.ms);
      rows.push({
        n,
        tool: tool.name,
        started: acc.starts.length > 0,
        errors: acc.errors,
        startP50: percentile(acc.starts, 50),
        p50: percentile(landed, 50),
        p90: percentile(landed, 90),
        max: landed.length ? Math.max(...landed) : undefined,
        missed: acc.edits.length - landed.length,
        planned: edits * runs,
        ok: acc.ok,
        failed: acc.failed,
        byError: acc.byError,
        selfP50: percentile(acc.selfReported, 50),
        watching: acc.watching,
      });
    }
  }

  const find = (n, name) => rows.find((r) => r.n === n && r.tool === name);
  const ratio = (r) => {
    if (r.tool === "nodal serve") return "—";
    const nodal = find(r.n, "nodal serve");
    return nodal?.p50 !== undefined && r.p50 !== undefined ? `${(nodal.p50 / r.p50).toFixed(2)}×` : "n/a";
  };
  const table = [
    ["modules", "tool", "first answer (ms)", "p50 (ms)", "p90 (ms)", "max (ms)", "missed edits", "failed requests (of all in the loop)", "nodal p50 ÷ tool p50"],
    ...rows.map((r) =>
      !r.started
        ? [String(r.n), r.tool, `failed: ${r.errors[0] ?? "did not start"}`, "—", "—", "—", "—", "—", "—"]
        : [
            String(r.n),
            r.tool,
            fmtMs(r.startP50),
            fmtMs(r.p50),
            fmtMs(r.p90),
            fmtMs(r.max),
            `${r.missed}/${r.planned}`,
            `${r.failed} of ${r.ok + r.failed}`,
            ratio(r),
          ],
    ),
  ];

  const notes = [];
  const nodalRows = rows.filter((r) => r.tool === "nodal serve" && r.started);
  const largest = nodalRows.at(-1);
  if (largest) {
    const tsx = find(largest.n, "tsx watch");
    notes.push(
      `Targets at ${largest.n} modules: nodal p50 ≤ 100 ms (${fmtMs(largest.p50)} ms: ${largest.p50 <= 100 ? "met" : "missed"})` +
        (tsx?.p50 !== undefined ? `, ≤ 0.2× tsx watch (${(largest.p50 / tsx.p50).toFixed(2)}×: ${largest.p50 / tsx.p50 <= 0.2 ? "met" : "missed"})` : "") +
        `; 0 failed requests at every size (${nodalRows.map((r) => `${r.n}: ${r.failed}`).join(", ")}: ${nodalRows.every((r) => r.failed === 0) ? "met" : "missed"}).`,
    );
  }
  if (nodalRows.some((r) => r.selfP50 !== undefined)) {
    notes.push(
      `nodal's own "reloaded vN in N ms" lines (first file event → new version live), p50: ${nodalRows.map((r) => `${r.n} modules ${r.selfP50 ?? "—"} ms`).join(", ")}; files it watched: ${nodalRows.map((r) => `${r.n} modules ${r.watching ?? "?"}`).join(", ")}.`,
    );
  }
  for (const r of rows) {
    if (r.failed) notes.push(`${r.tool}, ${r.n} modules: failed requests by cause: ${Object.entries(r.byError).map(([k, v]) => `${k} ${v}`).join(", ")}.`);
    for (const e of r.errors) if (r.started) notes.push(`${r.tool}, ${r.n} modules: ${e}`);
  }
  notes.push(
    `The app: N TypeScript modules in a tree (module i imports modules ${FANOUT}i+1…${FANOUT}i+${FANOUT}); GET / on an express app walks all of them and answers the deepest leaf's marker and the count of modules visited; each edit rewrites that leaf with a new marker. ` +
      `${edits} edits per tool and size × ${runs} run(s), alternating in-place writes and atomic saves; latency = write → first 200 with the new marker and the full count (GET / on a fresh connection, 2 ms after the previous one ended); ` +
      `a second loop requests GET / every ${LOOP_GAP_MS} ms from the first edit to the end of the last and counts failures (refused, reset, ${LOOP_TIMEOUT_MS / 1000} s timeout, non-200); missed = not served within ${EDIT_TIMEOUT_MS / 1000} s; ${BETWEEN_EDITS_MS} ms pause between edits.`,
  );
  notes.push(`Commands: ${TOOLS.map((t) => `\`${t.shown}\``).join(", ")}, one after the other on a fresh copy of the same app (nodal: \`app.webApp\`; tsx: \`web.listen\`).`);
  return { title, table, notes, rows };
}
