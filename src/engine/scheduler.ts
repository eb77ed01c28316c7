import { nodeCrypto } from "../lazy.js";
import { NODAL_DIST } from "../paths.js";
import type { AppManifest, ScheduleSpec } from "../loader/manifest.js";
import { nextRun } from "./schedule-time.js";

export type RunOutcome = "success" | "failure" | "timeout" | "skipped";

/** One scheduled run, as recorded. */
export interface RunRecord {
  id: string;
  fn: string;
  startedAt: string;
  outcome: RunOutcome;
  durationMs: number;
  attempts: number;
  error?: string;
  /** How late the run started against its planned time. */
  lateMs: number;
}

export interface SchedulerHost {
  /** Runs the function once, with its retries; `label` tags its log lines. */
  call(fn: string, label: string, onRetry: (attempt: number, error: Error, delaySec: number) => void): Promise<unknown>;
  /** A lifecycle line for the app's log. */
  log(fn: string, source: string, line: string): void;
  /** Each finished (or skipped) run. */
  record(run: RunRecord): void;
}

/** What the scheduler knows of time: the wall clock and one-shot timers. Tests pass a fake. */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

interface Entry {
  spec: ScheduleSpec;
  /** Periods count from here (each deploy restarts them). */
  anchor: number;
  timer: unknown;
  next: Date | undefined;
  running: Promise<RunRecord> | undefined;
  last: RunRecord | undefined;
}

/** setTimeout's limit; a longer wait is taken in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Stack frames of a failed run written to the log: enough to find the line, not a wall. */
const LOGGED_FRAMES = 5;

/**
 * Fires scheduled functions. The next run is computed from the clock at every step (no
 * drift); a tick while the previous run is still going is skipped and recorded; runs missed
 * while the app was down are not back-filled. A redeploy keeps a Cron's timer (same
 * expression) and restarts a Period.
 */
export class Scheduler {
  #host: SchedulerHost;
  #clock: Clock;
  #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(host: SchedulerHost, clock: Clock = realClock) {
    this.#host = host;
    this.#clock = clock;
  }

  /** Takes the schedules of a (new) version. `restartPeriods`: a deploy restarts Periods. */
  update(manifest: AppManifest, restartPeriods: boolean): void {
    const specs = new Map(manifest.functions.filter((f) => f.schedule).map((f) => [f.name, f.schedule!]));
    for (const [fn, entry] of this.#entries) {
      const spec = specs.get(fn);
      const same = spec && JSON.stringify(spec) === JSON.stringify(entry.spec);
      if (same && !(restartPeriods && spec.kind === "period")) continue;
      this.#clock.clearTimer(entry.timer);
      this.#entries.delete(fn);
    }
    for (const [fn, spec] of specs) {
      if (this.#entries.has(fn)) continue;
      const entry: Entry = { spec, anchor: this.#clock.now(), timer: undefined, next: undefined, running: undefined, last: undefined };
      this.#entries.set(fn, entry);
      this.#arm(fn, entry);
    }
  }

  /**
   * Runs a scheduled function now, recorded as a tick like any other; resolves with its record
   * once it finished. A run already in flight makes this tick a skipped one (no overlap).
   * Its timer is left alone: the next planned run comes when it would have.
   */
  fireNow(fn: string): Promise<RunRecord> {
    const entry = this.#entries.get(fn);
    if (!entry) return Promise.reject(new Error(`"${fn}" is not a scheduled function of this app`));
    return this.#tick(fn, entry, new Date(this.#clock.now()));
  }

  #nextFor(entry: Entry, now: number): Date {
    if (entry.spec.kind === "cron") return nextRun(entry.spec, new Date(now));
    const periodMs = entry.spec.seconds * 1000;
    const n = Math.floor((now - entry.anchor) / periodMs) + 1;
    return new Date(entry.anchor + n * periodMs);
  }

  #arm(fn: string, entry: Entry): void {
    if (this.#stopped) return;
    entry.next = this.#nextFor(entry, this.#clock.now());
    const wait = () => {
      const left = entry.next!.getTime() - this.#clock.now();
      if (left > 0) {
        entry.timer = this.#clock.setTimer(wait, Math.min(left, MAX_TIMEOUT_MS));
        return;
      }
      const planned = entry.next!;
      void this.#tick(fn, entry, planned);
      this.#arm(fn, entry);
    };
    wait();
  }

  /** A tick: run now unless the previous run is still going. */
  #tick(fn: string, entry: Entry, planned: Date): Promise<RunRecord> {
    const id = `run-${nodeCrypto().randomBytes(5).toString("hex")}`;
    const lateMs = Math.max(0, this.#clock.now() - planned.getTime());
    if (entry.running) {
      const run: RunRecord = { id, fn, startedAt: new Date(this.#clock.now()).toISOString(), outcome: "skipped", durationMs: 0, attempts: 0, lateMs };
      entry.last = run;
      this.#host.log(fn, id, `tick of ${planned.toISOString()} skipped: the previous run is still going`);
      this.#host.record(run);
      return Promise.resolve(run);
    }
    const running = this.#run(fn, entry, id, lateMs).finally(() => (entry.running = undefined));
    entry.running = running;
    return running;
  }

  async #run(fn: string, entry: Entry, id: string, lateMs: number): Promise<RunRecord> {
    const started = this.#clock.now();
    let attempts = 1;
    this.#host.log(fn, id, `run ${id} started`);
    let outcome: RunOutcome = "success";
    let failure: Error | undefined;
    try {
      await this.#host.call(fn, id, (attempt, e, delaySec) => {
        attempts = attempt + 1;
        this.#host.log(fn, id, `attempt ${attempt} failed (${e.message}); retrying in ${delaySec}s`);
      });
    } catch (e) {
      failure = e as Error;
      outcome = failure.name === "FunctionTimeoutError" ? "timeout" : "failure";
    }
    const error = failure?.message;
    const run: RunRecord = { id, fn, startedAt: new Date(started).toISOString(), outcome, durationMs: this.#clock.now() - started, attempts, lateMs, ...(failure ? { error } : {}) };
    entry.last = run;
    this.#host.log(fn, id, `run ${id} ${outcome} in ${run.durationMs} ms${failure ? `: ${error}` : ""}`);
    // Log records are single lines: each frame is one, as a stack reads in a terminal.
    if (outcome === "failure") for (const frame of framesOf(failure!)) this.#host.log(fn, id, `    ${frame}`);
    this.#host.record(run);
    return run;
  }

  /** Next and last run per scheduled function (for `app show`). */
  status(): Record<string, { schedule: ScheduleSpec; nextRun?: string; lastRun?: RunRecord }> {
    return Object.fromEntries(
      [...this.#entries].map(([fn, e]) => [fn, { schedule: e.spec, ...(e.next ? { nextRun: e.next.toISOString() } : {}), ...(e.last ? { lastRun: e.last } : {}) }]),
    );
  }

  /** Stops the timers; runs in flight finish in their pools (which the engine drains). */
  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries.values()) this.#clock.clearTimer(e.timer);
  }
}

/**
 * The first `at …` lines of an error's stack (the remote one, for an error from a worker):
 * the app's own frames, not those of the worker that called it or of Node's internals.
 */
function framesOf(error: Error): string[] {
  const frames = (error.stack ?? "").split("\n").map((l) => l.trim()).filter((l) => l.startsWith("at "));
  const apps = frames.filter((f) => !f.includes(NODAL_DIST) && !/\(node:|at node:/.test(f));
  return (apps.length > 0 ? apps : frames).slice(0, LOGGED_FRAMES);
}
