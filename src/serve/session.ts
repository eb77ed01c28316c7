import { dashboardLink } from "../dashboard/link.js";
import { basePort } from "../engine/front-door.js";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { controlSocketPath } from "../engine/control.js";
import { AppHost } from "../engine/host.js";
import { Builder } from "../loader/build.js";
import type { Target } from "../loader/target.js";
import { newAppId, saveApp } from "../registry/apps.js";
import { homeDir } from "../registry/home.js";
import { lifecycle, style } from "../ui/output.js";
import { progress } from "../ui/progress.js";
import { stderr } from "../ui/stdio.js";
import { killChildren } from "./force.js";
import { ServePipeline } from "./pipeline.js";
import { printRecord, printUrls } from "./print.js";
import { Watcher } from "./watcher.js";

export interface ServeOptions {
  host: string;
  /** Run the app's schedules too, as `modal serve` does (`--no-schedules` turns them off). */
  schedules: boolean;
  port?: number;
}

/**
 * Files next to the app that say which packages it may import: installing one (`npm install
 * left-pad`) changes them, and the build that failed on the missing package is tried again.
 */
const PACKAGE_FILES = ["package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock"];

/**
 * `nodal serve`: starts the app, then hands every change to the pipeline (see ServePipeline)
 * until a signal or `nodal app stop` ends it. Resolves with the exit code.
 */
export async function serve(target: Target, opts: ServeOptions): Promise<number> {
  const id = newAppId();
  const buildDir = homeDir("builds", id);
  const builder = new Builder(target.path, buildDir);
  // While a stop's spinner shows, a line the app prints clears the spinner's line first; the
  // spinner draws itself again under it.
  let spinning = false;
  const host = new AppHost({
    kind: "ephemeral",
    schedules: opts.schedules,
    file: target.file,
    path: target.path,
    echo: (record) => {
      if (spinning) stderr.write("\r\u001b[2K");
      printRecord(record);
    },
    engine: {
      file: target.file,
      ...(target.selector ? { selector: target.selector } : {}),
      host: opts.host,
      basePort: opts.port ?? basePort(),
      ...(opts.port !== undefined ? { pinnedPort: opts.port } : {}),
      serveWeb: true,
      spares: 1,
    },
  });
  const started = performance.now();
  try {
    const first = await host.start(await builder.build(), 1, { id });
    lifecycle(`serving ${style("bold", host.record!.name)} (${id}) from ${target.file}`);
    printUrls(first.urls, first.version.manifest.functions.length);
    lifecycle(`dashboard: ${dashboardLink(host.record!.name)} (with \`nodal dashboard\` running)`);
    const firstWeb = first.version.manifest.functions.find((f) => f.kind === "web");
    if (opts.port !== undefined && firstWeb?.port !== undefined && firstWeb.port !== opts.port) {
      lifecycle(`--port ${opts.port} is ignored: ${firstWeb.name} pins port: ${firstWeb.port} in ${target.file}, and the file's port wins`);
    }
  } catch (error) {
    await host.stop(0);
    await builder.dispose();
    rmSync(buildDir, { recursive: true, force: true });
    throw error;
  }

  const current = host.engine.current!;
  const watcher = new Watcher((files) => pipeline.dispatch({ type: "changed", files }), { dir: dirname(builder.entry), names: PACKAGE_FILES });
  const print = {
    line: (message: string, error?: boolean) => lifecycle(message, error ? process.stderr : process.stdout),
    urls: printUrls,
    waiting: (text: string) => {
      const spinner = progress();
      spinner.step(text);
      spinning = true;
      return () => {
        spinning = false;
        spinner.done();
      };
    },
  };
  const pipeline = new ServePipeline({ watcher, builder, host, kill: () => killChildren(), print }, current);
  await watcher.setFiles(current.build.inputs);
  // Listening before "ready" is printed: whoever reads that line may signal at once. Every
  // signal goes to the pipeline: the first stops, a second while stopping forces.
  const onSignal = (signal: NodeJS.Signals) => pipeline.dispatch({ type: "stop", signal });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  host.onStopRequested = (capMs) => pipeline.dispatch({ type: "stop", signal: undefined, ...(capMs !== undefined ? { capMs } : {}) });
  lifecycle(`ready in ${Math.round(performance.now() - started)} ms; watching ${current.build.inputs.length} file(s) for changes`);

  const ending = await pipeline.ended;
  if (ending.forced) {
    // The graceful stop is still pending, and may never end: record the stop ourselves.
    if (host.record) {
      rmSync(controlSocketPath(host.record.id), { force: true });
      saveApp({ ...host.record, state: "stopped", stoppedAt: new Date().toISOString() });
    }
  } else {
    await builder.dispose();
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  rmSync(buildDir, { recursive: true, force: true });
  lifecycle("stopped");
  return ending.code;
}
