import type { Server } from "node:net";
import { appendFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { Scheduler } from "./scheduler.js";
import { describeSchedule } from "./schedule-time.js";
import type { BuildOutput } from "../loader/build.js";
import { Engine, type Activation, type EngineEvent, type EngineOptions, type LogEntry } from "./engine.js";
import { homeDir } from "../registry/home.js";
import { saveApp, type AppRecord } from "../registry/apps.js";
import { processStartTime } from "../registry/proc.js";
import { LogWriter } from "../logs/writer.js";
import type { LogRecord } from "../logs/record.js";
import { controlSocketPath, serveControl, type ControlHandler } from "./control.js";

export interface HostOptions {
  kind: "deployed" | "ephemeral";
  /** The app file as the user named it, and its absolute path. */
  file: string;
  path: string;
  engine: Omit<EngineOptions, "onLog" | "onEvent">;
  /** Also show each record (serve prints them to the terminal). */
  echo?: (record: LogRecord) => void;
  /** Extra control operations (deploy's `activate`). */
  control?: Record<string, ControlHandler>;
  /** Fire schedules (`serve --no-schedules` turns them off). */
  schedules: boolean;
}

/** Who the instance is: decided by `start` (a deploy learns its name only after loading). */
export interface Identity {
  id: string;
  /** Overrides the app's own name (`deploy --name`). */
  name?: string;
}

/**
 * One running app instance: the engine, its log file, its registry record and its control
 * socket. `nodal serve` runs a host in the foreground, the deploy supervisor runs one detached:
 * the same code in both.
 */
export class AppHost {
  readonly opts: HostOptions;
  readonly engine: Engine;
  #logs: LogWriter | undefined;
  /** Records from before `start` (a prepare's load output), written once the log opens. */
  #early: LogRecord[] = [];
  record: AppRecord | undefined;
  #control: Server | undefined;
  readonly scheduler: Scheduler | undefined;
  #runsFile: string | undefined;
  #stopped: Promise<void> | undefined;
  /** Called when `nodal app stop` asks this instance to stop; default: stop here. */
  onStopRequested: (() => void) | undefined;

  constructor(opts: HostOptions) {
    this.opts = opts;
    this.engine = new Engine({
      ...opts.engine,
      onLog: (e) => this.#logLines(e),
      onEvent: (e) => this.system(describeEvent(e), e.fn),
    });
    if (opts.schedules) {
      this.scheduler = new Scheduler({
        call: (fn, label, onRetry) => this.engine.call(fn, [], { label, onRetry }),
        log: (fn, source, line) => this.#log({ time: new Date().toISOString(), function: fn, source, stream: "system", line }),
        record: (run) => {
          if (this.#runsFile) appendFileSync(this.#runsFile, JSON.stringify(run) + "\n", { mode: 0o600 });
        },
      });
    }
  }

  /** A lifecycle line in the app's log (`stream: "system"`). */
  system(line: string, fn = "nodal"): void {
    this.#log({ time: new Date().toISOString(), function: fn, source: "nodal", stream: "system", line });
  }

  #logLines(e: LogEntry): void {
    const head = { time: e.time.toISOString(), function: e.function, source: e.worker, stream: e.stream };
    if (this.#logs) this.#logs.writeLines(head, e.lines);
    else for (const line of e.lines) this.#early.push({ ...head, line });
    if (this.opts.echo) for (const line of e.lines) this.opts.echo({ ...head, line });
  }

  #log(record: LogRecord): void {
    if (this.#logs) this.#logs.write(record);
    else this.#early.push(record);
    this.opts.echo?.(record);
  }

  /** Loads the first version, then records the instance and opens its control socket. */
  async start(build: BuildOutput, version: number, who: Identity): Promise<Activation> {
    this.#logs = new LogWriter(homeDir("logs", who.id));
    this.#runsFile = join(homeDir("logs", who.id), "runs.jsonl");
    for (const r of this.#early.splice(0)) this.#logs.write(r);
    const act = await this.engine.activate(build);
    const manifest = act.version.manifest;
    this.record = {
      id: who.id,
      name: who.name ?? manifest.appName,
      state: this.opts.kind,
      version,
      file: this.opts.path,
      createdAt: new Date().toISOString(),
      stoppedAt: null,
      pid: process.pid,
      pidStart: processStartTime(process.pid) ?? null,
      urls: act.urls,
      functions: manifest.functions.map((f) => f.name),
    };
    saveApp(this.record);
    this.#control = await serveControl(controlSocketPath(who.id), (op, body) => this.#handle(op, body));
    this.scheduler?.update(manifest, true);
    this.system(`${this.opts.kind === "deployed" ? "deployed" : "serving"} v${version}`);
    return act;
  }

  /**
   * Swaps in a new version (zero downtime); on failure the current one keeps serving.
   * `expectName`: refuse a build whose App is named otherwise (the file was renamed to
   * another app), before anything is swapped.
   */
  async activate(build: BuildOutput, version: number, expectName?: string): Promise<Activation> {
    const act = await this.engine.activate(build, expectName);
    this.record = {
      ...this.record!,
      version,
      urls: act.urls,
      functions: act.version.manifest.functions.map((f) => f.name),
    };
    saveApp(this.record);
    // A deploy restarts Periods (as Modal does); a serve reload keeps their rhythm.
    this.scheduler?.update(act.version.manifest, this.opts.kind === "deployed");
    return act;
  }

  status(): Record<string, unknown> {
    const v = this.engine.current;
    const schedules = this.scheduler?.status() ?? {};
    return {
      id: this.record?.id,
      version: this.record?.version,
      pid: process.pid,
      workerPids: this.engine.pids,
      urls: this.engine.urls,
      functions: v?.manifest.functions.map((f) => {
        const sched = schedules[f.name];
        return {
          name: f.name,
          kind: f.kind,
          ...(this.engine.urls[f.name] ? { url: this.engine.urls[f.name] } : {}),
          ...(f.schedule ? { schedule: describeSchedule(f.schedule) } : {}),
          ...(sched?.nextRun ? { nextRun: sched.nextRun } : {}),
          ...(sched?.lastRun ? { lastRun: { startedAt: sched.lastRun.startedAt, outcome: sched.lastRun.outcome, durationMs: sched.lastRun.durationMs, id: sched.lastRun.id } } : {}),
          volumes: f.volumes,
          secrets: f.secretNames,
        };
      }),
      restarts: this.engine.restartCounts,
      health: this.engine.health,
    };
  }

  async #handle(op: string, body: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case "ping":
        return { pid: process.pid };
      case "status":
        return this.status();
      case "warm":
        this.engine.warm();
        return {};
      case "call": {
        // Arguments and results travel as v8-serialized (structured clone) data, base64 in JSON.
        const args = deserialize(Buffer.from(String(body.args), "base64")) as unknown[];
        const value = await this.engine.call(String(body.fn), args);
        return { value: serialize(value).toString("base64") };
      }
      case "stop":
        setImmediate(() => (this.onStopRequested ? this.onStopRequested() : void this.stop(Number(body.graceMs ?? 10_000))));
        return { stopping: true };
      default: {
        const extra = this.opts.control?.[op];
        if (!extra) throw new Error(`unknown operation "${op}"`);
        return extra(op, body);
      }
    }
  }

  /** Graceful stop: ports closed, in-flight work finished within the grace period, state `stopped`. */
  stop(graceMs: number): Promise<void> {
    this.#stopped ??= (async () => {
      this.system(`stopping (grace ${graceMs} ms)`);
      this.#control?.close();
      this.scheduler?.stop();
      await this.engine.stop(graceMs);
      if (this.record) {
        rmSync(controlSocketPath(this.record.id), { force: true });
        this.record = { ...this.record, state: "stopped", stoppedAt: new Date().toISOString() };
        saveApp(this.record);
      }
      this.system("stopped");
      this.#logs?.close();
    })();
    return this.#stopped;
  }
}

export function describeEvent(event: EngineEvent): string {
  switch (event.type) {
    case "worker-exit": {
      const how = event.signal ? `was killed by ${event.signal}` : `exited with code ${event.code}`;
      return `worker ${event.worker} of "${event.fn}" ${how}; restarting in ${event.restartInMs} ms`;
    }
    case "worker-restarted":
      return `worker ${event.worker} of "${event.fn}" restarted`;
    case "worker-restart-failed":
      return `restart of "${event.fn}" failed: ${event.error}`;
    case "call-cut-off":
      return `call ${event.call} of "${event.fn}" was cut off by a redeploy or stop${event.retrying ? "; retrying it on the live version" : ""}`;
  }
}
