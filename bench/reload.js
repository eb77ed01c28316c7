// Part `reload`: how fast an edit is served, and how long requests are refused meanwhile, for
// nodal serve and the usual Node watchers, on the same tiny express app.
//
// Per tool (one after the other, never concurrently): a fresh temp dir, start the tool, wait
// until GET / answers, then N edits alternating an in-place write and an atomic save (write a
// temp file, rename it over the original). Each edit changes the version string GET / returns.
// From just before the write, GET / is polled on a fresh connection (a new request 2 ms after
// the previous one ended) until the body is the new version: that is the edit's latency. The
// refused time of an edit is the sum of the gaps from each failed attempt (connection error or
// non-200) to the next attempt. An edit not served within EDIT_TIMEOUT_MS is "missed".
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_DIR, NODAL_BIN, fmtMs, freePort, get, now, percentile, sleep, startTool, tail, tempProject } from "./lib.js";

export const title = "Hot reload (`reload`)";

const START_TIMEOUT_MS = 30_000;
const EDIT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 2_000;
const POLL_GAP_MS = 2;
const BETWEEN_EDITS_MS = 300;
const SETTLE_MS = 300;

const route = (version) => `web.get("/", (_req, res) => { res.type("text/plain").send(${JSON.stringify(version)}); });`;

const nodalApp = (version) => `import express from "express";
import { App } from "nodal";

export const app = new App("bench-reload");
const web = express();
${route(version)}
export const api = app.webApp({}, () => web);
`;

const plainServer = (version) => `import express from "express";

const web = express();
${route(version)}
web.listen(Number(process.env.PORT), "127.0.0.1");
`;

/** The tools compared: the file edited, its content for a version, and how to start it. */
const ALL_TOOLS = [
  {
    name: "nodal serve",
    file: "app.ts",
    source: nodalApp,
    command: (port, dir) => ({
      cmd: NODAL_BIN,
      args: ["serve", "app.ts", "--port", String(port)],
      env: { NODAL_HOME: join(dir, ".nodal-home") },
    }),
  },
  {
    name: "tsx watch",
    file: "server.ts",
    source: plainServer,
    command: (port) => ({ cmd: join(BIN_DIR, "tsx"), args: ["watch", "server.ts"], env: { PORT: String(port) } }),
  },
  {
    name: "node --watch",
    file: "server.js",
    source: plainServer,
    command: (port) => ({ cmd: process.execPath, args: ["--watch", "server.js"], env: { PORT: String(port) } }),
  },
  {
    name: "nodemon",
    file: "server.js",
    source: plainServer,
    command: (port) => ({ cmd: join(BIN_DIR, "nodemon"), args: ["--quiet", "--delay", "0", "server.js"], env: { PORT: String(port) } }),
  },
];

/** BENCH_TOOLS=nodal,tsx narrows a run to some tools (for quick local checks). */
const TOOLS = ALL_TOOLS.filter((t) => !process.env.BENCH_TOOLS || process.env.BENCH_TOOLS.split(",").some((n) => t.name.includes(n)));

/** The exact command line shown in the notes (paths relative to the repo / temp dir). */
const shownCommand = {
  "nodal serve": "bin/nodal serve app.ts --port PORT",
  "tsx watch": "tsx watch server.ts",
  "node --watch": "node --watch server.js",
  nodemon: "nodemon --quiet --delay 0 server.js",
};

/** Polls GET / until the body is `version`: { ok, ms, refusedMs, failed, requests, last }. */
export async function waitForVersion(port, version, t0, timeoutMs) {
  let refusedMs = 0;
  let failedAt = null;
  let failed = 0;
  let requests = 0;
  let last = "";
  for (;;) {
    const start = now();
    if (failedAt !== null) {
      refusedMs += start - failedAt;
      failedAt = null;
    }
    if (start - t0 > timeoutMs) return { ok: false, ms: start - t0, refusedMs, failed, requests, last };
    const r = await get(port, "/", Math.min(REQUEST_TIMEOUT_MS, Math.max(1, t0 + timeoutMs - start)));
    const end = now();
    requests++;
    if (r.ok && r.body === version) return { ok: true, ms: end - t0, refusedMs, failed, requests, last };
    if (!r.ok) {
      failedAt = start;
      failed++;
      last = r.error ?? `HTTP ${r.status}`;
    } else last = `old body ${JSON.stringify(r.body.slice(0, 40))}`;
    await sleep(POLL_GAP_MS);
  }
}

/** One full pass of one tool: { started, startMs, error, edits: [{ kind, ok, ms, refusedMs, failed }] }. */
async function passOf(tool, { edits, log }) {
  const project = tempProject(tool.name.replace(/\W+/g, ""));
  const nonce = Math.random().toString(36).slice(2, 8);
  const versionOf = (i) => `bench-${nonce}-v${i}`;
  const file = join(project.dir, tool.file);
  writeFileSync(file, tool.source(versionOf(0)));
  const port = await freePort();
  const { cmd, args, env } = tool.command(port, project.dir);
  const result = { started: false, startMs: undefined, error: null, edits: [], selfReported: [] };
  const t0 = now();
  const proc = startTool(cmd, args, { cwd: project.dir, env });
  try {
    // Started = the first version is served; fail fast if the tool exits.
    const ready = await Promise.race([
      waitForVersion(port, versionOf(0), t0, START_TIMEOUT_MS),
      proc.exitPromise.then(() => ({ exited: true })),
    ]);
    if (ready.exited || !ready.ok) {
      const why = proc.spawnError
        ? proc.spawnError.message
        : ready.exited
          ? proc.exitInfo
          : `no answer within ${START_TIMEOUT_MS / 1000} s (last: ${ready.last})`;
      result.error = `${why}${proc.output.trim() ? `: ${tail(proc.output)}` : ""}`;
      return result;
    }
    result.started = true;
    result.startMs = ready.ms;
    log(`  ${tool.name}: serving after ${fmtMs(ready.ms)} ms`);
    await sleep(SETTLE_MS);

    for (let i = 1; i <= edits; i++) {
      const kind = i % 2 === 1 ? "in-place" : "atomic";
      const version = versionOf(i);
      const content = tool.source(version);
      const start = now();
      if (kind === "in-place") writeFileSync(file, content);
      else {
        writeFileSync(`${file}.tmp`, content);
        renameSync(`${file}.tmp`, file);
      }
      const r = await waitForVersion(port, version, start, EDIT_TIMEOUT_MS);
      result.edits.push({ index: i, kind, ok: r.ok, ms: r.ms, refusedMs: r.refusedMs, failed: r.failed, requests: r.requests });
      log(
        `  ${tool.name}: edit ${i}/${edits} (${kind}) ${
          r.ok ? `${fmtMs(r.ms)} ms, refused ${fmtMs(r.refusedMs)} ms` : `MISSED (last: ${r.last})`
        }`,
      );
      if (proc.exited) {
        result.error = `${proc.exitInfo} during edit ${i}: ${tail(proc.output)}`;
        break;
      }
      await sleep(BETWEEN_EDITS_MS);
    }
    return result;
  } finally {
    await proc.stop();
    // nodal prints "[nodal] HH:MM:SS reloaded v2 in 41 ms (changed: app.ts)": kept as a cross-check.
    result.selfReported = [...proc.output.matchAll(/reloaded v\d+ in (\d+) ms/g)].map((m) => Number(m[1]));
    await project.remove();
  }
}

export async function run(opts) {
  const edits = opts.edits ?? 20;
  const runs = opts.runs ?? 1;
  const log = opts.log ?? (() => {});
  const perTool = new Map(TOOLS.map((t) => [t.name, { starts: [], errors: [], edits: [], selfReported: [] }]));
  for (let r = 1; r <= runs; r++) {
    for (const tool of TOOLS) {
      log(`reload: run ${r}/${runs}, ${tool.name}`);
      const res = await passOf(tool, { edits, log });
      const acc = perTool.get(tool.name);
      if (res.started) acc.starts.push(res.startMs);
      if (res.error) acc.errors.push(res.error);
      acc.edits.push(...res.edits);
      acc.selfReported.push(...res.selfReported);
    }
  }

  const summary = TOOLS.map((tool) => {
    const acc = perTool.get(tool.name);
    const landed = acc.edits.filter((e) => e.ok);
    const lat = landed.map((e) => e.ms);
    const refused = landed.map((e) => e.refusedMs);
    const missedBy = (kind) => acc.edits.filter((e) => !e.ok && e.kind === kind).length;
    return {
      name: tool.name,
      failed: acc.starts.length === 0,
      errors: acc.errors,
      tried: acc.edits.length,
      planned: edits * runs,
      selfReported: acc.selfReported,
      startP50: percentile(acc.starts, 50),
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      max: lat.length ? Math.max(...lat) : undefined,
      missed: acc.edits.length - landed.length,
      missedInPlace: missedBy("in-place"),
      missedAtomic: missedBy("atomic"),
      refusedP50: percentile(refused, 50),
      refusedMax: refused.length ? Math.max(...refused) : undefined,
      failedRequests: landed.reduce((s, e) => s + e.failed, 0),
      p50InPlace: percentile(landed.filter((e) => e.kind === "in-place").map((e) => e.ms), 50),
      p50Atomic: percentile(landed.filter((e) => e.kind === "atomic").map((e) => e.ms), 50),
    };
  });

  const nodal = summary[0];
  const ratio = (s) => {
    if (s === nodal) return "—";
    if (nodal.p50 === undefined || s.p50 === undefined) return "n/a";
    return `${(nodal.p50 / s.p50).toFixed(2)}×`;
  };
  const table = [
    ["tool", "first answer (ms)", "p50 (ms)", "p90 (ms)", "max (ms)", "missed edits", "refused per reload p50 (ms)", "refused max (ms)", "nodal p50 ÷ tool p50"],
    ...summary.map((s) =>
      s.failed
        ? [s.name, `failed: ${s.errors[0] ?? "did not start"}`, "—", "—", "—", "—", "—", "—", "—"]
        : [
            s.name,
            fmtMs(s.startP50),
            fmtMs(s.p50),
            fmtMs(s.p90),
            fmtMs(s.max),
            `${s.missed}/${s.planned}` +
              (s.missed ? ` (${s.missedAtomic} atomic, ${s.missedInPlace} in-place)` : "") +
              (s.tried < s.planned ? ` (${s.planned - s.tried} not tried)` : ""),
            fmtMs(s.refusedP50),
            fmtMs(s.refusedMax),
            ratio(s),
          ],
    ),
  ];

  const notes = [];
  const ratios = summary.filter((s) => s !== nodal && !s.failed && s.p50 !== undefined && nodal.p50 !== undefined);
  if (ratios.length) notes.push(`nodal p50 = ${ratios.map((s) => `${(nodal.p50 / s.p50).toFixed(2)}× ${s.name}`).join(", ")}.`);
  notes.push(
    `p50 by kind of save (in-place / atomic, ms): ${summary
      .filter((s) => !s.failed)
      .map((s) => `${s.name} ${fmtMs(s.p50InPlace)} / ${fmtMs(s.p50Atomic)}`)
      .join("; ")}.`,
  );
  notes.push(
    `Failed requests during edits that landed: ${summary.filter((s) => !s.failed).map((s) => `${s.name} ${s.failedRequests}`).join(", ")}.`,
  );
  for (const s of summary) {
    if (s.missed) {
      // The first edit that went unserved, and the one before it in the same pass.
      const edits = perTool.get(s.name).edits;
      const first = edits.findIndex((e) => !e.ok);
      const prev = edits[first].index > 1 ? edits[first - 1] : undefined;
      const afterAtomic = prev !== undefined && prev.ok && prev.kind === "atomic";
      notes.push(
        `${s.name} missed ${s.missed} edit(s) (${s.missedAtomic} atomic, ${s.missedInPlace} in-place); the first was edit ${edits[first].index} (${edits[first].kind})` +
          (afterAtomic ? ", right after an atomic save that it did pick up" : "") +
          (s.name === "node --watch" && afterAtomic
            ? ": node --watch watches the file itself (its inode), so once a rename has replaced the file it sees no further change to it."
            : "."),
      );
    }
    for (const e of s.errors) if (!s.failed) notes.push(`${s.name}: ${e}`);
    if (s.failed) notes.push(`${s.name} failed: ${s.errors.join("; ")}`);
  }
  if (nodal.selfReported.length) {
    notes.push(
      `nodal's own "reloaded vN in N ms" lines (from its watcher reporting the change to the new version live; excludes file-event detection): p50 ${percentile(nodal.selfReported, 50)} ms, max ${Math.max(...nodal.selfReported)} ms.`,
    );
  }
  notes.push(
    `${edits} edits per tool per run × ${runs} run(s), alternating in-place writes and atomic saves (write FILE.tmp, rename over FILE); ` +
      `latency = write → first 200 with the new body, polling GET / on a fresh connection ${POLL_GAP_MS} ms after the previous request ended; ` +
      `refused = sum of the gaps from a failed request (connection refused/reset, timeout or non-200) to the next one; ` +
      `missed = not served within ${EDIT_TIMEOUT_MS / 1000} s; ${BETWEEN_EDITS_MS} ms pause between edits; "first answer" = spawn → first response (median over runs).`,
  );
  notes.push(`Commands: ${TOOLS.map((t) => `\`${shownCommand[t.name]}\``).join(", ")}; all on the same express app (nodal: \`app.webApp\`; the others: \`web.listen\`).`);
  return { title, table, notes, summary };
}

