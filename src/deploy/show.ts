import { resolveApp } from "../registry/resolve.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import type { AppStatus, FunctionStatus } from "../engine/status.js";
import type { AppStats } from "../metrics/app-metrics.js";
import { style, table } from "../ui/output.js";
import { stdout } from "../ui/stdio.js";

/** A function as shown: from the running app's status, or from the record of a stopped one. */
type Shown = Pick<FunctionStatus, "name" | "kind"> & Partial<FunctionStatus>;

/** `nodal app show`: the record, plus the live status from the app itself when it runs. */
export async function showApp(name: string, json: boolean): Promise<void> {
  const app = resolveApp(name);
  let status: AppStatus | undefined;
  let stats: AppStats | undefined;
  if (app.live === "deployed" || app.live === "ephemeral") {
    status = await controlRequest(controlSocketPath(app.id), "status", {}, 5000).catch(() => undefined);
    if (json && status) stats = (await controlRequest(controlSocketPath(app.id), "metrics", {}, 5000).catch(() => undefined))?.stats;
  }
  const functions: Shown[] = status?.functions ?? app.functions.map((f) => ({ name: f, kind: app.urls[f] ? ("web" as const) : ("function" as const), ...(app.urls[f] ? { url: app.urls[f] } : {}) }));
  const out = {
    id: app.id,
    name: app.name,
    state: app.live,
    version: app.version,
    file: app.file,
    createdAt: app.createdAt,
    stoppedAt: app.stoppedAt,
    pids: status ? { supervisor: status.pid, workers: status.workers.map((w) => w.pid) } : null,
    workers: status?.workers ?? [],
    restarts: status?.restarts ?? {},
    health: status?.health ?? {},
    memoryStops: status?.memoryStops ?? {},
    functions,
    /** Calls, errors, latency, in-flight and containers per function; null when the app is not running. */
    stats: stats ?? null,
  };
  if (json) {
    stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  const lines = [
    `${style("bold", app.name)} (${app.id})  ${app.live}  v${app.version}`,
    `source   ${app.file}`,
    `created  ${app.createdAt}${app.stoppedAt ? `   stopped ${app.stoppedAt}` : ""}`,
  ];
  if (status) {
    const workers = status.workers.map((w) => `${w.pid} (${w.function})`).join(", ");
    lines.push(`pids     supervisor ${status.pid}; workers ${workers || "-"}`);
  }
  const crashes = Object.entries(status?.restarts ?? {}).filter(([, n]) => n > 0);
  if (crashes.length) lines.push(style("red", `restarts ${crashes.map(([fn, n]) => `${fn}: ${n} crash restart${n > 1 ? "s" : ""}`).join("; ")}`));
  const stops = Object.entries(status?.memoryStops ?? {});
  if (stops.length) lines.push(style("red", `memory   ${stops.map(([fn, n]) => `${fn}: ${n} worker${n > 1 ? "s" : ""} stopped over the memory limit`).join("; ")}`));
  for (const [fn, h] of Object.entries(status?.health ?? {})) {
    if (h.state !== "restarting") continue;
    const exit = h.lastExit ? (h.lastExit.signal ? `killed by ${h.lastExit.signal}` : `exited with code ${h.lastExit.code}`) : "down";
    lines.push(style("red", `${fn.padEnd(8)} restarting: ${exit} at ${h.lastExit?.at ?? "?"}; next attempt at ${h.nextAttemptAt ?? "?"}`));
  }
  lines.push("");
  const rows = functions.map((f) => [
    f.name,
    f.kind,
    f.url ?? f.schedule ?? "-",
    f.nextRun ?? "-",
    f.lastRun ? `${f.lastRun.outcome} at ${f.lastRun.startedAt}` : "-",
    Object.entries(f.volumes ?? {}).map(([m, v]) => `${v}:${m}`).join(" ") || "-",
    (f.secrets ?? []).join(" ") || "-",
    f.containers ? `${f.containers.running} (${f.containers.reason})` : "-",
  ]);
  lines.push(table(["Function", "Kind", "URL / schedule", "Next run", "Last run", "Volumes", "Secrets", "Containers"], rows));
  stdout.write(lines.join("\n") + "\n");
}
