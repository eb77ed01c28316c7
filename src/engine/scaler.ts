/**
 * Scale to zero, as in Modal: a worker idle for its function's `scaledownWindow` stops, down to
 * `minContainers`; while the function has work, `bufferContainers` spare workers are kept warm
 * beyond what the work needs. The scaler only decides: each group (a function pool, a web
 * function's workers) reports what its workers do and stops or starts them itself.
 */

/** What one running worker is doing. */
export interface Activity {
  /** Requests or calls it is working on now. */
  inFlight: number;
  /** How long it has had nothing in flight (0 while busy). */
  idleMs: number;
}

/** The options that decide a function's worker count (a `FunctionSpec` has them all). */
export interface ScalePolicy {
  minContainers: number;
  maxContainers: number;
  concurrency: number;
  bufferContainers: number;
  scaledownWindowSec: number;
}

/** A group of workers the scaler looks after. */
export interface ScaleGroup<W = unknown> {
  readonly policy: ScalePolicy;
  /** The group's running workers, each with what it is doing (workers that die meanwhile may be left out). */
  survey(): Promise<{ worker: W; activity: Activity }[]>;
  /** Workers being started now (they count towards the target). */
  readonly starting: number;
  /** Stops a worker that was idle for the window (it takes no new work from now on). */
  scaleDown(worker: W): void;
  /** Starts one more worker (a buffer under load). */
  scaleUp(): void;
}

/**
 * How many workers a function should run: `minContainers` when it has nothing to do; while it
 * has work, enough for it (`concurrency` each) plus `bufferContainers`, within `maxContainers`.
 */
export function targetWorkers(policy: ScalePolicy, inFlight: number): number {
  if (inFlight <= 0) return policy.minContainers;
  const needed = Math.max(1, Math.ceil(inFlight / Math.max(1, policy.concurrency))) + (policy.bufferContainers ?? 0);
  return Math.max(policy.minContainers, Math.min(policy.maxContainers, needed));
}

/**
 * Which workers to stop now: those idle for the whole window, longest idle first, while more
 * than the target would still run. A busy worker is never chosen.
 */
export function surplus<W>(policy: ScalePolicy, workers: { worker: W; activity: Activity }[]): W[] {
  const inFlight = workers.reduce((n, w) => n + w.activity.inFlight, 0);
  let over = workers.length - targetWorkers(policy, inFlight);
  const windowMs = windowSec(policy) * 1000;
  const idle = workers.filter((w) => w.activity.inFlight === 0 && w.activity.idleMs >= windowMs).sort((a, b) => b.activity.idleMs - a.activity.idleMs);
  const out: W[] = [];
  for (const w of idle) {
    if (over-- <= 0) break;
    out.push(w.worker);
  }
  return out;
}

/** Workers to start now so that the group reaches its target under load (the buffer). */
export function shortfall(policy: ScalePolicy, running: { activity: Activity }[], starting: number): number {
  const inFlight = running.reduce((n, w) => n + w.activity.inFlight, 0);
  if (inFlight === 0) return 0;
  return Math.max(0, targetWorkers(policy, inFlight) - running.length - starting);
}

/** Timers, injectable: a test drives `tick()` itself, or passes a fake. */
export interface TimerSeam {
  every(ms: number, run: () => void): () => void;
}

const realTimers: TimerSeam = {
  every(ms, run) {
    const timer = setInterval(run, ms);
    // An idle app's supervisor must not be kept awake by this alone.
    timer.unref();
    return () => clearInterval(timer);
  },
};

/**
 * Looks at every group a few times per window (a quarter of the shortest window, between 250 ms
 * and 5 s): a worker stops between one window and a window plus that interval after its last work.
 */
export class Scaler {
  #groups = new Map<string, ScaleGroup<any>>();
  #timers: TimerSeam;
  #cancel: (() => void) | undefined;
  #everyMs = 0;
  #ticking = false;

  constructor(timers: TimerSeam = realTimers) {
    this.#timers = timers;
  }

  /** The tick interval for the groups watched now (0: none). */
  get everyMs(): number {
    return this.#everyMs;
  }

  /** Looks after `group` under `key` from now on (replacing the group of that key). */
  watch(key: string, group: ScaleGroup<any>): void {
    this.#groups.set(key, group);
    this.#reschedule();
  }

  unwatch(key: string): void {
    this.#groups.delete(key);
    this.#reschedule();
  }

  /** Stops looking after anything. */
  close(): void {
    this.#groups.clear();
    this.#reschedule();
  }

  #reschedule(): void {
    const windows = [...this.#groups.values()].map((g) => windowSec(g.policy) * 1000);
    const everyMs = windows.length ? Math.min(5000, Math.max(250, Math.min(...windows) / 4)) : 0;
    if (everyMs === this.#everyMs) return;
    this.#cancel?.();
    this.#cancel = undefined;
    this.#everyMs = everyMs;
    if (everyMs > 0) this.#cancel = this.#timers.every(everyMs, () => void this.tick());
  }

  /** One look at every group: stops idle workers past their window, starts the buffer under load. */
  async tick(): Promise<void> {
    // A survey waits on workers; a slow one must not let ticks pile up.
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      await Promise.all([...this.#groups.values()].map((g) => this.#look(g)));
    } finally {
      this.#ticking = false;
    }
  }

  async #look(group: ScaleGroup<any>): Promise<void> {
    const workers = await group.survey().catch(() => undefined);
    if (!workers) return;
    for (const w of surplus(group.policy, workers)) group.scaleDown(w);
    for (let n = shortfall(group.policy, workers, group.starting); n > 0; n--) group.scaleUp();
  }
}

function windowSec(policy: ScalePolicy): number {
  return policy.scaledownWindowSec ?? 60;
}
