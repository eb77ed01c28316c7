import { rmSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { Builder, BuildError } from "../loader/build.js";
import type { Target } from "../loader/target.js";
import { Engine, type EngineEvent, type LogEntry } from "../engine/engine.js";
import { homeDir } from "../registry/home.js";
import { newAppId, saveApp, type AppRecord } from "../registry/apps.js";
import { processStartTime } from "../registry/proc.js";
import { lifecycle, style } from "../ui/output.js";
import { Watcher } from "./watcher.js";

export interface ServeOptions {
  host: string;
  port?: number;
}

const STOP_GRACE_MS = 3000;

/** Prints one function's output line: `api | hello`. */
export function printLog(entry: LogEntry): void {
  const stream = entry.stream === "stderr" ? process.stderr : process.stdout;
  stream.write(`${style("dim", `${entry.function} |`, stream)} ${entry.line}\n`);
}

export function printEngineEvent(event: EngineEvent): void {
  switch (event.type) {
    case "worker-exit": {
      const how = event.signal ? `was killed by ${event.signal}` : `exited with code ${event.code}`;
      return lifecycle(`worker ${event.worker} of "${event.fn}" ${how}; restarting in ${event.restartInMs} ms`, process.stderr);
    }
    case "worker-restarted":
      return lifecycle(`worker ${event.worker} of "${event.fn}" restarted`);
    case "worker-restart-failed":
      return lifecycle(`restart of "${event.fn}" failed: ${event.error}`, process.stderr);
  }
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
  const engine = new Engine({
    file: target.file,
    ...(target.selector ? { selector: target.selector } : {}),
    host: opts.host,
    basePort: opts.port ?? 8000,
    ...(opts.port !== undefined ? { pinnedPort: opts.port } : {}),
    serveWeb: true,
    spares: 1,
    drainGraceMs: 10_000,
    onLog: printLog,
    onEvent: printEngineEvent,
  });
  const started = performance.now();
  let record: AppRecord;
  try {
    const build = await builder.build();
    const first = await engine.activate(build);
    record = {
      id,
      name: first.version.manifest.appName,
      state: "ephemeral",
      version: first.version.n,
      file: target.path,
      createdAt: new Date().toISOString(),
      stoppedAt: null,
      pid: process.pid,
      pidStart: processStartTime(process.pid) ?? null,
      urls: first.urls,
      functions: first.version.manifest.functions.map((f) => f.name),
    };
    saveApp(record);
    lifecycle(`serving ${style("bold", record.name)} (${id}) from ${target.file}`);
    printUrls(first.urls, first.version.manifest.functions.length);
  } catch (error) {
    await engine.stop(0);
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
      const changed = [...triggers].map((f) => relative(process.cwd(), f) || f);
      triggers.clear();
      const t0 = since;
      try {
        const build = await builder.build();
        if (again) continue; // superseded: build the newest state instead
        await watcher.setFiles(build.inputs);
        if (build.hash === current.build.hash) {
          lifecycle(`${changed.join(", ")} changed; the build is identical, nothing to reload`);
          continue;
        }
        const act = await engine.activate(build);
        current = act.version;
        const ms = Math.round(performance.now() - t0);
        lifecycle(`reloaded ${style("green", `v${current.n}`)} in ${ms} ms (changed: ${changed.join(", ")})`);
        const urlsChanged = JSON.stringify(act.urls) !== JSON.stringify(record.urls);
        record = { ...record, version: current.n, urls: act.urls, functions: current.manifest.functions.map((f) => f.name) };
        saveApp(record);
        if (urlsChanged) printUrls(act.urls, current.manifest.functions.length);
      } catch (error) {
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
  lifecycle(`ready in ${Math.round(performance.now() - started)} ms; watching ${current.build.inputs.length} file(s) for changes`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  lifecycle(`${signal} received; stopping (press Ctrl-C again to force)`);
  const force = () => void engine.stop(0);
  process.once("SIGINT", force);
  await watcher.close();
  await engine.stop(STOP_GRACE_MS);
  await builder.dispose();
  saveApp({ ...record, state: "stopped", stoppedAt: new Date().toISOString() });
  rmSync(buildDir, { recursive: true, force: true });
  lifecycle("stopped");
  return signal === "SIGINT" ? 130 : 143;
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
