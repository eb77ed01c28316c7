// Part `remote`: `.remote()` round trips to a warm worker, and `.map` over 10,000 small inputs
// with 1 and 2 workers, measured inside the app (the local entrypoint of `nodal run`).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { NODAL_BIN, fmtMs, tempProject } from "./lib.js";

const app = (calls, inputs) => `import { App } from "nodal";
export const app = new App("bench-remote");
export const echo = app.function({ maxContainers: 1, concurrency: 1 }, async (x: number) => x);
export const one = app.function({ maxContainers: 1, concurrency: 64 }, async (x: number) => x + 1);
export const two = app.function({ minContainers: 2, maxContainers: 2, concurrency: 64 }, async (x: number) => x + 1);
app.localEntrypoint(async () => {
  for (let i = 0; i < 200; i++) await echo.remote(i); // warm up: worker started, code optimised
  const rtt: number[] = [];
  for (let i = 0; i < ${calls}; i++) {
    const t = performance.now();
    await echo.remote(i);
    rtt.push(performance.now() - t);
  }
  const mapRate = async (fn: typeof one) => {
    for await (const _ of fn.map([1, 2, 3, 4], { concurrency: 4 })); // start the workers
    const t = performance.now();
    let n = 0;
    for await (const _ of fn.map(Array.from({ length: ${inputs} }, (_, i) => i), { concurrency: 128 })) n++;
    return n / ((performance.now() - t) / 1000);
  };
  console.log("BENCH " + JSON.stringify({ rtt, one: await mapRate(one), two: await mapRate(two) }));
});
`;

export async function run(opts) {
  const calls = 2000;
  const inputs = 10_000;
  const log = opts.log ?? (() => {});
  const project = tempProject("remote");
  writeFileSync(join(project.dir, "app.ts"), app(calls, inputs));
  try {
    log("remote: nodal run app.ts");
    const r = spawnSync(NODAL_BIN, ["run", "app.ts"], {
      cwd: project.dir,
      env: { ...process.env, NODAL_HOME: join(project.dir, ".nodal-home") },
      encoding: "utf8",
      timeout: 120_000,
    });
    const line = r.stdout.split("\n").find((l) => l.startsWith("BENCH "));
    if (!line) throw new Error(`nodal run failed (${r.status}): ${r.stderr}`);
    const { rtt, one, two } = JSON.parse(line.slice(6));
    const sorted = [...rtt].sort((a, b) => a - b);
    const p = (q) => sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)];
    return {
      title: "Function calls (`remote`)",
      table: [
        ["measure", "value"],
        [`.remote() round trip to a warm worker, p50 (ms, ${calls} calls)`, fmtMs(p(50))],
        [".remote() round trip, p99 (ms)", fmtMs(p(99))],
        [`.map over ${inputs.toLocaleString("en")} inputs, 1 worker (inputs/s)`, Math.round(one).toLocaleString("en")],
        [`.map over ${inputs.toLocaleString("en")} inputs, 2 workers (inputs/s)`, Math.round(two).toLocaleString("en")],
      ],
      notes: [
        "Measured inside the app: the local entrypoint (`nodal run app.ts`) calls functions whose workers are started by the same engine; a call goes entrypoint worker → engine → function worker and back over IPC (structured clone).",
      ],
    };
  } finally {
    await project.remove();
  }
}
