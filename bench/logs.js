// Part `logs`: a 100,000-line burst (GET /print?n=100000 prints `line 1` … `line 100000` with
// console.log, then answers) on an app deployed with nodal and on the same app under pm2 (fork
// mode). The app's log file is followed from before the request: lag = time from the response
// (the last line was printed before it was sent) until every line is in the file. Then, for
// nodal, what `nodal app logs NAME --tail 100000 --json --function api --source stdout` returns:
// lines lost, duplicated, out of order; for pm2, the same counts on its out log file.
import os from "node:os";
import { join } from "node:path";
import { fmtMs, freePort, get, now, sleep } from "./lib.js";
import {
  LogFollower,
  NodalSandbox,
  POLL_GAP_MS,
  Pm2Sandbox,
  check,
  lineStats,
  loadavg,
  median,
  nodalApp,
  plainServer,
  portOf,
  takeCleanupProblems,
  waitForBody,
} from "./sandboxes.js";

export const title = "Log burst (`logs`)";

const LINES = 100_000;
const BURST_TIMEOUT_MS = 120_000;
/** After the response, how long to wait for the last lines to become readable. */
const READABLE_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const SETTLE_MS = 1_000;

/** `line N` in a nodal log record (one JSON object a line) of function api on stdout. */
/** `line N` in nodal's log: a record holds one `line` or, for a chunk of output, `lines`. */
const nodalMatch = (l) => {
  let r;
  try {
    r = JSON.parse(l);
  } catch {
    return undefined;
  }
  if (r.stream !== "stdout" || r.function !== "api") return undefined;
  const nums = (r.lines ?? [r.line]).map((x) => /^line (\d+)$/.exec(x)).filter(Boolean).map((m) => Number(m[1]));
  return nums.length ? nums : undefined;
};
/** `line N` in pm2's out log (the raw output). */
const pm2Match = (l) => {
  const m = /^line (\d+)$/.exec(l);
  return m ? Number(m[1]) : undefined;
};

/**
 * Follows `file` while GET /print?n=LINES runs, then until every line is in it (bounded):
 * { responseMs, lagMs, file: lineStats of the whole file }. The follower only looks for the
 * last line's text while the burst is written (cheap, so it takes little CPU from the tool
 * under test); once seen, the bytes read up to then are parsed to check every line was in.
 */
async function burst(port, file, match, needle) {
  const follower = new LogFollower(file, needle);
  let lastSeenAt;
  let bytesAtLastSeen;
  let following = true;
  const follow = (async () => {
    while (following) {
      if (follower.poll()) {
        lastSeenAt = now();
        bytesAtLastSeen = follower.bytes;
        return;
      }
      await sleep(POLL_GAP_MS);
    }
  })();
  try {
    const t0 = now();
    const r = await get(port, `/print?n=${LINES}`, BURST_TIMEOUT_MS);
    const responseAt = now();
    if (!r.ok || r.body !== `printed ${LINES}`) {
      throw new Error(`GET /print?n=${LINES}: ${r.error ?? `HTTP ${r.status} ${JSON.stringify(r.body?.slice(0, 80))}`}`);
    }
    const deadline = responseAt + READABLE_TIMEOUT_MS;
    while (lastSeenAt === undefined && now() < deadline) await sleep(5);
    following = false;
    await follow;
    let lagMs;
    let lagNote = "";
    if (lastSeenAt !== undefined) {
      const atThen = follower.stats(match, LINES, bytesAtLastSeen);
      if (atThen.distinct === LINES) lagMs = Math.max(0, lastSeenAt - responseAt);
      else {
        // The last line came before others: keep reading (parsing each time) until all are in.
        lagNote = `line ${LINES} was in the file before ${atThen.lost} others`;
        while (now() < deadline) {
          follower.poll();
          if (follower.stats(match, LINES).distinct === LINES) {
            lagMs = Math.max(0, now() - responseAt);
            break;
          }
          await sleep(50);
        }
      }
    }
    // Anything written after all lines were in (a duplicate, say) counts too.
    await sleep(200);
    follower.poll();
    return { responseMs: responseAt - t0, lagMs, lagNote, file: follower.stats(match, LINES) };
  } finally {
    following = false;
    await follow;
    follower.close();
  }
}

async function nodalRun() {
  const sb = new NodalSandbox("logs-nodal");
  try {
    sb.write("app.ts", nodalApp("hello"));
    const out = await sb.deploy("app.ts");
    const port = portOf(out.urls.api);
    const up = await waitForBody(port, "hello", now(), START_TIMEOUT_MS);
    if (!up.ok) throw new Error(`nodal: no 200 (last: ${up.last})`);
    await sleep(SETTLE_MS);
    const file = join(sb.home, "logs", out.id, "app.log");
    const b = await burst(port, file, nodalMatch, `"line ${LINES}"`);
    // What a user reads back through the CLI.
    const r = check(
      await sb.run(["app", "logs", out.name, "--tail", String(LINES), "--json", "--function", "api", "--source", "stdout"], 60_000),
      "nodal app logs",
    );
    const numbers = [];
    for (const l of r.stdout.split("\n")) {
      if (!l) continue;
      const m = /^line (\d+)$/.exec(JSON.parse(l).line ?? "");
      if (m) numbers.push(Number(m[1]));
    }
    return { ...b, cli: { ...lineStats(numbers, LINES), ms: r.ms } };
  } finally {
    await sb.close();
  }
}

async function pm2Run() {
  const sb = new Pm2Sandbox("logs-pm2");
  try {
    sb.write("server.js", plainServer("hello"));
    const port = await freePort();
    check(await sb.run(["start", "server.js", "--name", "server"], { env: { PORT: String(port) } }), "pm2 start");
    await sb.waitOnline(1);
    const up = await waitForBody(port, "hello", now(), START_TIMEOUT_MS);
    if (!up.ok) throw new Error(`pm2: no 200 (last: ${up.last})`);
    await sleep(SETTLE_MS);
    const b = await burst(port, sb.logFile("server"), pm2Match, `line ${LINES}\n`);
    return { ...b, cli: undefined };
  } finally {
    await sb.close();
  }
}

export async function run(opts) {
  const runs = opts.runs ?? 3;
  const log = opts.log ?? (() => {});
  const loadAtStart = loadavg();
  const tools = [
    { name: "nodal deploy", fn: nodalRun, results: [] },
    { name: "pm2 (fork mode)", fn: pm2Run, results: [] },
  ];
  const errors = [];
  for (let r = 1; r <= runs; r++) {
    for (const t of tools) {
      log(`logs: run ${r}/${runs}, ${t.name}`);
      try {
        const res = await t.fn();
        t.results.push(res);
        log(
          `  response after ${fmtMs(res.responseMs)} ms; all ${LINES} lines in the file ${res.lagMs === undefined ? "NEVER" : `${fmtMs(res.lagMs)} ms after it`}; file: ${res.file.lost} lost, ${res.file.duplicates} dup, ${res.file.outOfOrder} out of order` +
            (res.cli ? `; CLI: ${res.cli.distinct} readable, ${res.cli.lost} lost, ${res.cli.duplicates} dup, ${res.cli.outOfOrder} out of order (${fmtMs(res.cli.ms)} ms)` : ""),
        );
        if (res.lagNote) errors.push(`${t.name}, run ${r}: ${res.lagNote}`);
      } catch (error) {
        errors.push(`${t.name}, run ${r}: ${error.message}`);
        log(`  FAILED: ${error.message}`);
      }
    }
  }
  const loadAtEnd = loadavg();

  const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
  const table = [
    ["tool", "runs", "lines readable (worst run)", "lost (all runs)", "duplicates (all runs)", "out of order (all runs)", "lag p50 (ms)", "lag max (ms)", "burst response p50 (ms)", "request → all readable p50 (ms)"],
    ...tools.map((t) => {
      const rs = t.results;
      if (!rs.length) return [t.name, `0/${runs}`, "—", "—", "—", "—", "—", "—", "—", "—"];
      // nodal: what the CLI returns; pm2: its out log file.
      const view = (x) => x.cli ?? x.file;
      const lags = rs.map((x) => x.lagMs).filter((v) => v !== undefined);
      const never = rs.length - lags.length;
      return [
        t.name,
        `${rs.length}/${runs}`,
        `${Math.min(...rs.map((x) => view(x).distinct))}/${LINES}`,
        String(sum(rs, (x) => view(x).lost)),
        String(sum(rs, (x) => view(x).duplicates)),
        String(sum(rs, (x) => view(x).outOfOrder)),
        fmtMs(median(lags)) + (never ? ` (${never} run(s) never complete)` : ""),
        lags.length ? fmtMs(Math.max(...lags)) : "—",
        fmtMs(median(rs.map((x) => x.responseMs))),
        fmtMs(median(rs.filter((x) => x.lagMs !== undefined).map((x) => x.responseMs + x.lagMs))),
      ];
    }),
  ];
  const [nodal, pm2] = tools;
  const notes = [];
  const nodalLag = median(nodal.results.map((x) => x.lagMs).filter((v) => v !== undefined));
  const pm2Lag = median(pm2.results.map((x) => x.lagMs).filter((v) => v !== undefined));
  notes.push(
    `Targets for nodal: 0 lines lost, lag ≤ 20 ms. Lag p50 nodal ${fmtMs(nodalLag)} ms vs pm2 ${fmtMs(pm2Lag)} ms.`,
  );
  notes.push(
    `How: per run a fresh NODAL_HOME / PM2_HOME, the app deployed (\`nodal deploy app.ts --json\`) or started (\`pm2 start server.js --name server\`, fork mode), idle ${SETTLE_MS / 1000} s, then one GET /print?n=${LINES} (the handler prints \`line 1\`…\`line ${LINES}\` with console.log, then answers). ` +
      `The log file ($NODAL_HOME/logs/<app id>/app.log, JSON lines; PM2_HOME/logs/server-out.log, raw lines) is read incrementally every ${POLL_GAP_MS} ms from before the request; lag = from the response's arrival until all ${LINES} distinct \`line N\` are in the file (0 if they were in before the response arrived); while the burst is written the follower only searches the new bytes for the last line (so it takes little CPU from the tool under test), then checks that every line was in the bytes read up to that moment; not complete within ${READABLE_TIMEOUT_MS / 1000} s = "never".`,
  );
  if (nodal.results.length) {
    const f = nodal.results;
    notes.push(
      `nodal's counts in the table are what \`nodal app logs NAME --tail ${LINES} --json --function api --source stdout\` printed after the lines were in the file (it took p50 ${fmtMs(median(f.map((x) => x.cli.ms)))} ms); ` +
        `the log file itself had ${sum(f, (x) => x.file.lost)} lost, ${sum(f, (x) => x.file.duplicates)} duplicates, ${sum(f, (x) => x.file.outOfOrder)} out of order over all runs. pm2's counts are on its out log file.`,
    );
  }
  notes.push(`Runs interleaved (nodal, pm2, nodal, …), ${runs} each; "burst response" is GET /print's whole round trip (printing ${LINES} lines included; a tool that reads the app's output slower makes the app's console.log wait, which shows here rather than in the lag); "request → all readable" is burst response + lag.`);
  for (const e of errors) notes.push(`Error — ${e}`);
  const cleanup = takeCleanupProblems();
  if (cleanup.length) notes.push(`Cleanup had to force: ${cleanup.slice(0, 5).join(" | ")}${cleanup.length > 5 ? ` (and ${cleanup.length - 5} more)` : ""}.`);
  notes.push(`Load average at the start of this part: ${loadAtStart}; at its end: ${loadAtEnd} (${os.cpus().length} cores).`);
  return { title, table, notes };
}
