// Part `cron`: an every-second Cron in a deployed app for 30 s (--seconds N). Lateness is seen
// by the function itself: the time it starts minus the second it was planned for. Missed =
// seconds of the window with no run; duplicates = seconds with more than one.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { NODAL_BIN, fmtMs, percentile, sleep, tempProject } from "./lib.js";

const app = `import { appendFileSync } from "node:fs";
import { App, Cron } from "nodal";
export const app = new App("bench-cron");
export const tick = app.function({ schedule: new Cron("* * * * * *") }, async () => {
  appendFileSync(process.env.BENCH_TRACE!, Date.now() + "\\n");
});
`;

export async function run(opts) {
  const seconds = opts.seconds ?? 30;
  const log = opts.log ?? (() => {});
  const project = tempProject("cron");
  const trace = join(project.dir, "trace.log");
  const env = { ...process.env, NODAL_HOME: join(project.dir, ".nodal-home"), BENCH_TRACE: trace };
  writeFileSync(join(project.dir, "app.ts"), app);
  const cli = (...args) => spawnSync(NODAL_BIN, args, { cwd: project.dir, env, encoding: "utf8", timeout: 60_000 });
  try {
    const dep = cli("deploy", "app.ts");
    if (dep.status !== 0) throw new Error(`deploy failed: ${dep.stderr}`);
    log(`cron: deployed; watching ${seconds} s`);
    const from = Math.ceil(Date.now() / 1000) + 1; // the first whole second after the deploy settles
    await sleep((seconds + 2) * 1000);
    cli("app", "stop", "bench-cron");
    const stamps = existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n").map(Number) : [];
    const window = stamps.filter((t) => Math.floor(t / 1000) >= from && Math.floor(t / 1000) < from + seconds);
    const perSecond = new Map();
    for (const t of window) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    const missed = seconds - perSecond.size;
    const duplicates = [...perSecond.values()].reduce((n, c) => n + (c - 1), 0);
    const late = window.map((t) => t % 1000);
    return {
      title: "Every-second Cron (`cron`)",
      table: [
        ["runs", "lateness p50 (ms)", "lateness p99 (ms)", "lateness max (ms)", "missed", "duplicates"],
        [String(window.length), fmtMs(percentile(late, 50)), fmtMs(percentile(late, 99)), fmtMs(Math.max(...late)), String(missed), String(duplicates)],
      ],
      notes: [
        `A deployed app with \`new Cron("* * * * * *")\`, observed for ${seconds} s; lateness = the function's own \`Date.now()\` at entry minus the planned second (so it includes handing the run to the function's worker).`,
      ],
    };
  } finally {
    cli("app", "stop", "bench-cron");
    await project.remove();
  }
}
