import { nodeCrypto } from "../lazy.js";
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

interface Entry {
  spec: ScheduleSpec;
  /** Periods count from here (each deploy restarts them). */
  anchor: number;
  timer: NodeJS.Timeout | undefined;
  next: Date | undefined;
  running: Promise<void> | undefined;
  last: RunRecord | undefined;
}

/** setTimeout's limit; a longer wait is taken in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Fires scheduled functions. The next run is computed from the wall clock at every step (no
 * drift); a tick while the previous run is still going is skipped and recorded; runs missed
 * while the app was down are not back-filled. A redeploy keeps a Cron's timer (same
 * expression) and restarts a Period.
 */
export class Scheduler {
  #host: SchedulerHost;
  #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(host: SchedulerHost) {
    this.#host = host;
  }

  /** Takes the schedules of a (new) version. `restartPeriods`: a deploy restarts Periods. */
  update(manifest: AppManifest, restartPeriods: boolean): void {
    const specs = new Map(manifest.functions.filter((f) => f.schedule).map((f) => [f.name, f.schedule!]));
    for (const [fn, entry] of this.#entries) {
      const spec = specs.get(fn);
      const same = spec && JSON.stringify(spec) === JSON.stringify(entry.spec);
      if (same && !(restartPeriods && spec.kind === "period")) continue;
      clearTimeout(entry.timer);
      this.#entries.delete(fn);
    }
    for (const [fn, spec] of specs) {
      if (this.#entries.has(fn)) continue;
      const entry: Entry = { spec, anchor: Date.now(), timer: undefined, next: undefined, running: undefined, last: undefined };
      this.#entries.set(fn, entry);
      this.#arm(fn, entry);
    }
  }

  #nextFor(entry: Entry, now: number): Date {
    if (entry.spec.kind === "cron") return nextRun(entry.spec, new Date(now));
    const periodMs = entry.spec.seconds * 1000;
    const n = Math.floor((now - entry.anchor) / periodMs) + 1;
    return new Date(entry.anchor + n * periodMs);
  }

  #arm(fn: string, entry: Entry): void {
    if (this.#stopped) return;
    entry.next = this.#nextFor(entry, Date.now());
    const wait = () => {
      const left = entry.next!.getTime() - Date.now();
      if (left > 0) {
        entry.timer = setTimeout(wait, Math.min(left, MAX_TIMEOUT_MS));
        return;
      }
      const planned = entry.next!;
      this.#tick(fn, entry, planned);
      this.#arm(fn, entry);
    };
    wait();
  }

  /** A tick: run now unless the previous run is still going. */
  #tick(fn: string, entry: Entry, planned: Date): void {
    const id = `run-${nodeCrypto().randomBytes(5).toString("hex")}`;
    const lateMs = Math.max(0, Date.now() - planned.getTime());
    if (entry.running) {
      const run: RunRecord = { id, fn, startedAt: new Date().toISOString(), outcome: "skipped", durationMs: 0, attempts: 0, lateMs };
      entry.last = run;
      this.#host.log(fn, id, `tick of ${planned.toISOString()} skipped: the previous run is still going`);
      this.#host.record(run);
      return;
    }
    entry.running = this.#run(fn, entry, id, lateMs).finally(() => (entry.running = undefined));
  }

  async #run(fn: string, entry: Entry, id: string, lateMs: number): Promise<void> {
    const started = Date.now();
    let attempts = 1;
    this.#host.log(fn, id, `run ${id} started`);
    let outcome: RunOutcome = "success";
    let error: string | undefined;
    try {
      await this.#host.call(fn, id, (attempt, e, delaySec) => {
        attempts = attempt + 1;
        this.#host.log(fn, id, `attempt ${attempt} failed (${e.message}); retrying in ${delaySec}s`);
      });
    } catch (e) {
      outcome = (e as Error).name === "FunctionTimeoutError" ? "timeout" : "failure";
      error = (e as Error).message;
    }
    const run: RunRecord = { id, fn, startedAt: new Date(started).toISOString(), outcome, durationMs: Date.now() - started, attempts, lateMs, ...(error ? { error } : {}) };
    entry.last = run;
    this.#host.log(fn, id, `run ${id} ${outcome} in ${run.durationMs} ms${error ? `: ${error}` : ""}`);
    this.#host.record(run);
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
    for (const e of this.#entries.values()) clearTimeout(e.timer);
  }
}
