import type { AppStats } from "../metrics/app-metrics.js";

/** One sample of an app's figures, for its charts. */
export interface Sample {
  /** Seconds since the epoch. */
  t: number;
  /** Calls and requests since the app started (all functions), and errors. */
  calls: number;
  errors: number;
  /** The slowest function's p95, milliseconds. */
  p95Ms: number | null;
  /** RSS of every worker, bytes. */
  rssBytes: number;
}

/** An hour of samples, one a second. */
const KEEP = 3600;

/** Each app's figures over the last hour, sampled while the dashboard runs. */
export class History {
  readonly #apps = new Map<string, Sample[]>();

  add(app: string, stats: AppStats): void {
    const fns = stats.functions;
    const p95s = fns.map((f) => f.p95Ms).filter((v): v is number => v !== null);
    const sample: Sample = {
      t: Math.round(Date.parse(stats.at) / 1000),
      calls: fns.reduce((n, f) => n + f.calls, 0),
      errors: fns.reduce((n, f) => n + f.errors, 0),
      p95Ms: p95s.length ? Math.max(...p95s) : null,
      rssBytes: fns.reduce((n, f) => n + f.containers.reduce((m, c) => m + c.rssBytes, 0), 0),
    };
    const list = this.#apps.get(app) ?? [];
    list.push(sample);
    if (list.length > KEEP) list.splice(0, list.length - KEEP);
    this.#apps.set(app, list);
  }

  of(app: string): Sample[] {
    return this.#apps.get(app) ?? [];
  }
}
