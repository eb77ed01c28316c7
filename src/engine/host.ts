import type { Server } from "node:net";
import { nodeCrypto } from "../lazy.js";
import { appendFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { UserError } from "../errors.js";
import type { BuildOutput } from "../loader/build.js";
import type { AppManifest } from "../loader/manifest.js";
import { homeDir, nodalHome } from "../registry/home.js";
import { saveApp, type AppRecord } from "../registry/apps.js";
import { processStartTime } from "../registry/proc.js";
import { LogWriter } from "../logs/writer.js";
import type { LogRecord } from "../logs/record.js";
import { controlSocketPath, serveControl, type ControlHandlers } from "./control.js";
import { Engine, type Activation, type EngineEvent, type EngineOptions, type LogEntry } from "./engine.js";
import { describeSchedule } from "./schedule-time.js";
import { Scheduler, type RunRecord, type SchedulerHost } from "./scheduler.js";
import { publicManifest, type AppStatus } from "./status.js";
import { SpawnedCalls } from "./spawned.js";
import type { AppStats, ScheduleRun } from "../metrics/app-metrics.js";

/** How many recent runs per scheduled function the app keeps in memory for its stats. */
const RUN_HISTORY = 50;

/** What the engine reports to its host. */
export type EngineHooks = Pick<EngineOptions, "onLog" | "onEvent">;

/** Where an app's log records go: its log file under NODAL_HOME, or (a container) stdout. */
export interface LogSink {
  write(record: LogRecord): void;
  /** Lines sharing time, function, source and stream (one read from a worker's pipe). */
  writeLines(head: Omit<LogRecord, "line">, lines: string[]): void;
  close(): void;
}

export interface HostOptions {
  kind: "deployed" | "ephemeral" | "container";
  /** The app file as the user named it, and its absolute path. */
  file: string;
  path: string;
  engine: Omit<EngineOptions, "onLog" | "onEvent">;
  /** Also show each record (serve prints them to the terminal). */
  echo?: (record: LogRecord) => void;
  /** Stored versions by number (a deployed app's; `activate` swaps to them). Serve has none. */
  versions?: (n: number) => { build: BuildOutput; n: number };
  /** Fire schedules (`serve --no-schedules` turns them off). */
  schedules: boolean;
  /** The engine and the scheduler, made for this host (tests pass fakes). */
  makeEngine?: (opts: EngineOptions) => Engine;
  makeScheduler?: (host: SchedulerHost) => Scheduler;
  /**
   * A container (`nodal start`): records go to this sink, and nothing is written under
   * NODAL_HOME — no registry record, no control socket, no log file.
   */
  sink?: LogSink;
}

/** Who the instance is: decided by `start` (a deploy learns its name only after loading). */
export interface Identity {
  id: string;
  /** Overrides the app's own name (`deploy --name`). */
  name?: string;
}

/**
 * One running app instance: the engine, its scheduler, its log file, its registry record and
 * its control socket. `nodal serve` runs a host in the foreground, the deploy supervisor runs
 * one detached: the same code in both.
 */
export class AppHost {
  readonly opts: HostOptions;
  readonly engine: Engine;
  readonly scheduler: Scheduler | undefined;
  #logs: LogSink | undefined;
  /** Records from before `start` (a prepare's load output), written once the log opens. */
  #early: LogRecord[] = [];
  record: AppRecord | undefined;
  #control: Server | undefined;
  #runsFile: string | undefined;
  #stopped: Promise<void> | undefined;
  /** How many `app run`s wait for a scheduled run, per function. */
  #runWaiters = new Map<string, number>();
  /** Results of scheduled runs by run id, kept only while an `app run` of the function waits. */
  #runResults = new Map<string, { fn: string; value: unknown }>();
  /** Recent scheduled runs per function, oldest first (at most RUN_HISTORY each). */
  #runHistory = new Map<string, ScheduleRun[]>();
  /** Called when `nodal app stop` asks this instance to stop (with its `--grace`); default: stop here. */
  onStopRequested: ((capMs?: number) => void) | undefined;

  constructor(opts: HostOptions) {
    this.opts = opts;
    this.engine = (opts.makeEngine ?? ((o) => new Engine(o)))({
      ...opts.engine,
      onLog: (e) => this.#logLines(e),
      onEvent: (e) => this.system(describeEvent(e), e.fn),
    });
    if (opts.schedules) {
      this.scheduler = (opts.makeScheduler ?? ((h) => new Scheduler(h)))({
        call: async (fn, label, onRetry) => {
          const value = await this.engine.call(fn, [], { label, onRetry, callId: label });
          // A run asked for by `app run` hands its result back to the one who asked.
          if (this.#runWaiters.has(fn)) this.#runResults.set(label, { fn, value });
          return value;
        },
        log: (fn, source, line) => this.#log({ time: new Date().toISOString(), function: fn, source, stream: "system", line }),
        record: (run) => {
          const history = this.#runHistory.get(run.fn) ?? [];
          history.push({ id: run.id, startedAt: run.startedAt, outcome: run.outcome, durationMs: run.durationMs });
          this.#runHistory.set(run.fn, history.slice(-RUN_HISTORY));
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
    const sink = this.opts.sink;
    this.#logs = sink ?? new LogWriter(homeDir("logs", who.id));
    if (!sink) this.#runsFile = join(homeDir("logs", who.id), "runs.jsonl");
    for (const r of this.#early.splice(0)) this.#logs.write(r);
    const act = await this.engine.activate(build);
    const manifest = act.version.manifest;
    this.record = {
      id: who.id,
      name: who.name ?? manifest.appName,
      state: this.opts.kind === "deployed" ? "deployed" : "ephemeral",
      version,
      file: this.opts.path,
      createdAt: new Date().toISOString(),
      stoppedAt: null,
      pid: process.pid,
      pidStart: processStartTime(process.pid) ?? null,
      urls: act.urls,
      functions: manifest.functions.map((f) => f.name),
    };
    if (!sink) {
      const app = this.record.name;
      this.engine.spawned = new SpawnedCalls({ app, appId: who.id, dir: join(nodalHome(), "calls", app) });
      saveApp(this.record);
      this.#control = await serveControl(controlSocketPath(who.id), this.#handlers());
    }
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
    this.#recordVersion(act, version);
    // A deploy restarts Periods (as Modal does); a serve reload keeps their rhythm.
    this.scheduler?.update(act.version.manifest, this.opts.kind === "deployed");
    return act;
  }

  #recordVersion(act: Activation, version: number): void {
    this.record = { ...this.record!, version, urls: act.urls, functions: act.version.manifest.functions.map((f) => f.name) };
    if (!this.opts.sink) saveApp(this.record);
  }

  /**
   * New workers for the current version: each loads the build afresh, so secrets and packages
   * are read again. With `ifSecretsChanged`, only when the declared secrets' values differ from
   * the running ones (the new workers are loaded to find out, then dropped when equal).
   */
  async rollover(ifSecretsChanged = false): Promise<{ rolled: boolean; version: number; urls: Record<string, string> }> {
    const current = this.engine.current;
    if (!current || !this.record) throw new UserError("E_INVALID_STATE", "the app has not started yet");
    const version = this.record.version;
    if (ifSecretsChanged) {
      const fresh = await this.engine.prepare(current.build);
      if (secretsFingerprint(fresh) === secretsFingerprint(current.manifest)) {
        await this.engine.discardPrepared();
        return { rolled: false, version, urls: this.engine.urls };
      }
    }
    const act = await this.engine.activate(current.build);
    this.#recordVersion(act, version);
    this.scheduler?.update(act.version.manifest, false);
    this.system(`rolled over v${version}: new workers, secrets and packages read again`);
    return { rolled: true, version, urls: act.urls };
  }

  status(): AppStatus {
    const v = this.engine.current;
    const schedules = this.scheduler?.status() ?? {};
    const urls = this.engine.urls;
    const containers = this.engine.containers;
    return {
      id: this.record?.id ?? "",
      version: this.record?.version ?? 0,
      pid: process.pid,
      workers: this.engine.workers,
      urls,
      functions: (v?.manifest.functions ?? []).map((f) => {
        const sched = schedules[f.name];
        const running = containers[f.name];
        const last = sched?.lastRun;
        return {
          name: f.name,
          kind: f.kind,
          ...(urls[f.name] ? { url: urls[f.name] } : {}),
          ...(f.schedule ? { schedule: describeSchedule(f.schedule) } : {}),
          ...(sched?.nextRun ? { nextRun: sched.nextRun } : {}),
          ...(last ? { lastRun: { startedAt: last.startedAt, outcome: last.outcome, durationMs: last.durationMs, id: last.id } } : {}),
          volumes: f.volumes,
          secrets: f.secretNames,
          ...(running ? { containers: running } : {}),
        };
      }),
      restarts: this.engine.restartCounts,
      health: this.engine.health,
      memoryStops: this.engine.memoryStops,
    };
  }

  /** The figures of the live version's functions and schedules (see AppMetrics). */
  stats(): Promise<AppStats> {
    const functions = (this.engine.current?.manifest.functions ?? []).map((f) => ({ name: f.name, kind: f.kind }));
    return this.engine.metrics.snapshot(functions, this.engine.workers, this.engine.restartCounts, Object.fromEntries(this.#runHistory));
  }

  /** The control socket's operations; the compiler checks that every one is answered. */
  #handlers(): ControlHandlers {
    return {
      ping: async () => ({ pid: process.pid }),
      status: async () => this.status(),
      record: async () => {
        if (this.record) saveApp(this.record);
        return { id: this.record?.id ?? "" };
      },
      warm: async () => {
        this.engine.warm();
        return {};
      },
      call: async ({ fn, args }) => {
        // Arguments and results travel as v8-serialized (structured clone) data, base64 in JSON.
        const value = await this.engine.call(fn, deserialize(Buffer.from(args, "base64")) as unknown[]);
        return { value: serialize(value).toString("base64") };
      },
      run: async ({ fn, args }) => {
        const input = deserialize(Buffer.from(args, "base64")) as unknown[];
        const value = await this.#runNow(fn, input);
        return { value: serialize(value.value).toString("base64"), ...(value.runId ? { runId: value.runId } : {}) };
      },
      calls: async ({ fn }) => ({ calls: this.engine.calls.list(fn) }),
      spawn: async ({ fn, args }) => {
        const id = this.engine.spawn(fn, deserialize(Buffer.from(args, "base64")) as unknown[]);
        if (!id) throw new UserError("E_INVALID_STATE", "this app stores no spawned calls");
        return { id };
      },
      callResult: async ({ id, waitMs }) => {
        const record = await this.engine.spawned?.wait(id, Math.min(waitMs, 300_000));
        return { ...(record ? { record } : {}), running: this.engine.spawned?.has(id) ?? false };
      },
      cancel: async ({ id }) => ({ cancelled: this.engine.spawned?.cancel(id) ?? false }),
      metrics: async ({ prometheus }) => ({
        stats: await this.stats(),
        ...(prometheus ? { prometheus: await this.engine.metrics.prometheus({ app: this.record?.name ?? "" }) } : {}),
      }),
      stop: async ({ graceMs }) => {
        setImmediate(() => (this.onStopRequested ? this.onStopRequested(graceMs) : void this.stop(graceMs)));
        return { stopping: true, graceMs: Math.min(graceMs ?? Infinity, this.engine.longestTimeoutMs) };
      },
      activate: async ({ version, expectName }) => {
        if (!this.opts.versions) {
          throw new UserError("E_INVALID_STATE", `app "${this.record?.name}" is served, not deployed: it reloads when its files change`);
        }
        const next = this.opts.versions(version);
        const act = await this.activate(next.build, next.n, expectName);
        this.system(`deployed v${next.n}`);
        return { urls: act.urls, version: next.n, manifest: publicManifest(act.version.manifest) };
      },
      rollover: async ({ ifSecretsChanged }) => this.rollover(ifSecretsChanged),
    };
  }

  /**
   * `nodal app run`: a function run now in the app's workers. A scheduled one fires as a tick
   * of its schedule (recorded in runs.jsonl, shown as its last run; its retries apply); any
   * other goes through `engine.call`, as `.remote()` does.
   */
  async #runNow(fn: string, args: unknown[]): Promise<{ value: unknown; runId?: string }> {
    const spec = this.engine.current?.manifest.functions.find((f) => f.name === fn);
    if (spec?.kind === "web") {
      const url = this.engine.urls[fn];
      throw new UserError("E_INVALID_INPUT", `"${fn}" is a web function; call it over HTTP`, url ? `its URL: ${url}` : undefined);
    }
    if (!spec?.schedule || !this.scheduler) return { value: await this.engine.call(fn, args) };
    if (args.length > 0) throw new UserError("E_INVALID_INPUT", `"${fn}" is a scheduled function: it takes no input`, "run it without --input");
    this.#runWaiters.set(fn, (this.#runWaiters.get(fn) ?? 0) + 1);
    let run: RunRecord;
    let value: unknown;
    try {
      run = await this.scheduler.fireNow(fn);
      value = this.#runResults.get(run.id)?.value;
    } finally {
      const left = this.#runWaiters.get(fn)! - 1;
      if (left > 0) this.#runWaiters.set(fn, left);
      else {
        this.#runWaiters.delete(fn);
        for (const [id, r] of this.#runResults) if (r.fn === fn) this.#runResults.delete(id);
      }
    }
    if (run.outcome === "skipped") {
      throw new UserError("E_INVALID_STATE", `a run of "${fn}" is still going; this one was skipped (${run.id})`, `see \`nodal app logs ${this.record?.name ?? ""} --function ${fn}\``);
    }
    if (run.outcome !== "success") throw new UserError("E_FUNCTION_FAILED", `run ${run.id} of "${fn}" ${run.outcome === "timeout" ? "timed out" : "failed"}: ${run.error ?? ""}`);
    return { value, runId: run.id };
  }

  /**
   * Graceful stop: ports closed, work in flight finished within its function's timeout (or
   * `capMs` when shorter), state `stopped`. `stillDeployed`: a deployed app ended by a signal
   * (the machine shutting down) keeps its desired state, so `nodal resurrect` starts it again;
   * only `nodal app stop` stops one on purpose.
   */
  stop(capMs?: number, stillDeployed = false): Promise<void> {
    this.#stopped ??= (async () => {
      this.system(`stopping${capMs !== undefined ? ` (work in flight gets at most ${capMs} ms)` : ""}`);
      this.#control?.close();
      this.scheduler?.stop();
      await this.engine.stop(capMs);
      if (this.record && !this.opts.sink) {
        rmSync(controlSocketPath(this.record.id), { force: true });
        if (!stillDeployed) {
          this.record = { ...this.record, state: "stopped", stoppedAt: new Date().toISOString() };
          saveApp(this.record);
        }
      }
      this.system(stillDeployed ? "stopped by a signal; still deployed (`nodal resurrect` starts it again)" : "stopped");
      this.#logs?.close();
    })();
    return this.#stopped;
  }
}

/** The values of every secret a version declares, hashed: equal when no secret changed. */
function secretsFingerprint(manifest: AppManifest): string {
  const values = manifest.functions.map((f) => [f.name, f.secretNames, Object.entries(f.env).sort()]);
  return nodeCrypto().createHash("sha256").update(JSON.stringify(values)).digest("hex");
}

export function describeEvent(event: EngineEvent): string {
  switch (event.type) {
    case "worker-exit": {
      const how = event.memory
        ? exceeded(event.memory)
        : event.signal
          ? `was killed by ${event.signal}`
          : `exited with code ${event.code}`;
      return `worker ${event.worker} of "${event.fn}" ${how}; restarting in ${event.restartInMs} ms`;
    }
    case "memory-exceeded":
      return `worker ${event.worker} of "${event.fn}" ${exceeded(event.memory)}; a new worker takes the next call`;
    case "worker-restarted":
      return `worker ${event.worker} of "${event.fn}" restarted`;
    case "worker-restart-failed":
      return `restart of "${event.fn}" failed: ${event.error}`;
    case "call-cut-off":
      return `call ${event.call} of "${event.fn}" was cut off by a redeploy or stop${event.retrying ? "; retrying it on the live version" : ""}`;
    case "scaled-down":
      return `worker ${event.worker} of "${event.fn}" stopped after ${event.idleSec} s idle (${event.left} left)`;
    case "scaled-up":
      return `worker ${event.worker} of "${event.fn}" started for waiting requests in ${event.ms} ms`;
    case "scale-up-failed":
      return `a worker of "${event.fn}" could not start for waiting requests: ${event.error}`;
  }
}

function exceeded(m: { limitMiB: number; rssMiB?: number }): string {
  return `exceeded its memory limit of ${m.limitMiB} MiB (${m.rssMiB !== undefined ? `RSS ${m.rssMiB} MiB` : "heap out of memory"}) and was stopped`;
}
