import { rmSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { Builder, BuildError } from "../loader/build.js";
import type { Target } from "../loader/target.js";
import { homeDir } from "../registry/home.js";
import { newAppId } from "../registry/apps.js";
import type { LogRecord } from "../logs/record.js";
import { AppHost } from "../engine/host.js";
import { lifecycle, style } from "../ui/output.js";
import { QUIET_MS, Watcher } from "./watcher.js";

export interface ServeOptions {
  host: string;
  /** Run the app's schedules too, as `modal serve` does (`--no-schedules` turns them off). */
  schedules: boolean;
  port?: number;
}

const STOP_GRACE_MS = 3000;

/** Prints a log record: a function's line as `api | hello`, the app's own as a lifecycle line. */
export function printRecord(record: LogRecord): void {
  if (record.stream === "system") {
    if (record.function !== "nodal") lifecycle(`${record.function}: ${record.line}`, process.stderr);
    return;
  }
  const stream = record.stream === "stderr" ? process.stderr : process.stdout;
  stream.write(`${style("dim", `${record.function} |`, stream)} ${record.line}\n`);
}

/**
 * `nodal serve`: watcher → builder → engine, in the foreground. Builds are serialised; a burst
 * of changes during a build runs one more build after it; a failed build or load leaves the
 * last good version serving. Resolves with the exit code once a signal stopped everything.
 */
export async function serve(target: Target, opts: ServeOptions): Promise<number> {
  const id = newAppId();
  const buildDir = homeDir("builds", id);
  const builder = new Builder(target.path, buildDir);
  const host = new AppHost({
    kind: "ephemeral",
    schedules: opts.schedules,
    file: target.file,
    path: target.path,
    echo: printRecord,
    engine: {
      file: target.file,
      ...(target.selector ? { selector: target.selector } : {}),
      host: opts.host,
      basePort: opts.port ?? 8000,
      ...(opts.port !== undefined ? { pinnedPort: opts.port } : {}),
      serveWeb: true,
      spares: 1,
    },
  });
  const engine = host.engine;
  const started = performance.now();
  try {
    const first = await host.start(await builder.build(), 1, { id });
    lifecycle(`serving ${style("bold", host.record!.name)} (${id}) from ${target.file}`);
    printUrls(first.urls, first.version.manifest.functions.length);
  } catch (error) {
    await host.stop(0);
    await builder.dispose();
    rmSync(buildDir, { recursive: true, force: true });
    throw error;
  }

  let current = engine.current!;
  let running = false;
  let again = false;
  const triggers = new Set<string>();
  let since = 0;
  const watcher = new Watcher((files) => {
    if (triggers.size === 0) since = performance.now();
    for (const f of files) triggers.add(f);
    if (running) again = true;
    else void reload();
  });
  const reload = async (): Promise<void> => {
    running = true;
    do {
      again = false;
      // Files stay in `triggers` until a report names them: a superseded round's files are
      // reported with the round that finally swaps.
      const round = [...triggers];
      const changed = round.map((f) => relative(process.cwd(), f) || f).sort();
      const reported = () => {
        for (const f of round) triggers.delete(f);
        if (triggers.size > 0) since = performance.now();
      };
      const t0 = since;
      const buildStarted = performance.now();
      try {
        const build = await builder.build();
        // Swap only once the burst of file events has been quiet for a moment.
        const quietIn = QUIET_MS - (performance.now() - watcher.lastEventAt);
        if (quietIn > 0) await new Promise((r) => setTimeout(r, quietIn));
        if (again) continue; // superseded: build the newest state instead
        if (build.hash === current.build.hash) {
          reported();
          await watcher.setFiles(build.inputs, buildStarted);
          lifecycle(`${changed.join(", ")} changed; the build is identical, nothing to reload`);
          continue;
        }
        const urlsBefore = JSON.stringify(engine.urls);
        const act = await host.activate(build, current.n + 1);
        current = act.version;
        reported();
        // Watch what this version imports before saying it is live.
        await watcher.setFiles(build.inputs, buildStarted);
        const ms = Math.round(performance.now() - t0);
        lifecycle(`reloaded ${style("green", `v${current.n}`)} in ${ms} ms (changed: ${changed.join(", ")})`);
        host.system(`reloaded v${current.n} (changed: ${changed.join(", ")})`);
        if (JSON.stringify(act.urls) !== urlsBefore) printUrls(act.urls, current.manifest.functions.length);
      } catch (error) {
        reported();
        if (error instanceof BuildError) {
          const files = error.messages.flatMap((m) => (m.location?.file ? [m.location.file] : []));
          await watcher.setFiles([...new Set([...current.build.inputs, ...files.map((f) => resolvePath(builder, f))])]);
        }
        const msg = (error as Error).message;
        lifecycle(`${style("red", "reload failed")} (still serving v${current.n}; changed: ${changed.join(", ")}):\n${msg}`, process.stderr);
      }
    } while (again);
    running = false;
  };
  await watcher.setFiles(current.build.inputs);
  // Stops on a signal, or when `nodal app stop` asks through the control socket. Listening
  // before "ready" is printed: whoever reads that line may signal at once.
  const stopRequested = new Promise<NodeJS.Signals | undefined>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    host.onStopRequested = () => resolve(undefined);
  });
  lifecycle(`ready in ${Math.round(performance.now() - started)} ms; watching ${current.build.inputs.length} file(s) for changes`);
  const signal = await stopRequested;
  lifecycle(`${signal ? `${signal} received` : "stop requested"}; stopping${signal ? " (press Ctrl-C again to force)" : ""}`);
  process.once("SIGINT", () => void engine.stop(0));
  await watcher.close();
  await host.stop(STOP_GRACE_MS);
  await builder.dispose();
  rmSync(buildDir, { recursive: true, force: true });
  lifecycle("stopped");
  return signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 0;
}

function resolvePath(builder: Builder, file: string): string {
  return resolve(dirname(builder.entry), file);
}

function printUrls(urls: Record<string, string>, functionCount: number): void {
  const names = Object.keys(urls);
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const [fn, url] of Object.entries(urls)) process.stdout.write(`  ${fn.padEnd(width)}  ${style("cyan", url)}\n`);
  const others = functionCount - names.length;
  if (others > 0) process.stdout.write(`  ${style("dim", `+ ${others} function${others > 1 ? "s" : ""} without a URL`)}\n`);
}
