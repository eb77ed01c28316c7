/**
 * An app's figures, counted where the work happens: the engine counts calls as they go through
 * `Engine.call`, web workers count their requests and report them in batches (see
 * `WebBatch`), worker memory and CPU are read from /proc when asked. prom-client keeps the
 * counters and the sliding-window quantiles; `snapshot()` reads them back as plain data for
 * the control socket, `prometheus()` renders the text format.
 */
import { sampleInto } from "./sample.js";
import type { Counter, Gauge, Registry, Summary } from "prom-client";
import { promClient } from "./prom.js";
import { readFileSync } from "node:fs";

/** What a web worker reports every so often: its requests since the last batch. */
export interface WebBatch {
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
  /** Request durations in milliseconds: every request's, or a uniform sample of them. */
  durations: number[];
}

/** One worker process, as measured from /proc. */
export interface ContainerStats {
  pid: number;
  id: string;
  rssBytes: number;
  /** CPU time (user + system) since the worker started, in seconds. */
  cpuSeconds: number;
}

export interface FunctionStats {
  name: string;
  kind: "function" | "web";
  /** Calls (a function) or requests (a web function) since the app started. */
  calls: number;
  errors: number;
  timeouts: number;
  inFlight: number;
  /** Over the last ten minutes; null before the first call. */
  p50Ms: number | null;
  p95Ms: number | null;
  restarts: number;
  containers: ContainerStats[];
}

export interface AppStats {
  /** When these figures were read (ISO). */
  at: string;
  functions: FunctionStats[];
  /** The scheduler's recent runs per scheduled function, oldest first. */
  schedules: Record<string, ScheduleRun[]>;
}

export interface ScheduleRun {
  id: string;
  startedAt: string;
  outcome: string;
  durationMs: number;
}

/** How long the latency quantiles look back: ten minutes, in five buckets that age out in turn. */
const WINDOW_SECONDS = 600;
const AGE_BUCKETS = 5;

interface Series {
  registry: Registry;
  calls: Counter<"function" | "kind" | "outcome">;
  inFlight: Gauge<"function">;
  latency: Summary<"function" | "kind">;
}

function newSeries(): Series {
  const { Registry, Counter, Gauge, Summary } = promClient();
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    calls: new Counter({ name: "nodal_calls_total", help: "Calls of a function or requests to a web function, by outcome", labelNames: ["function", "kind", "outcome"], registers }),
    inFlight: new Gauge({ name: "nodal_calls_in_flight", help: "Calls of a function running now", labelNames: ["function"], registers }),
    latency: new Summary({
      name: "nodal_call_duration_seconds",
      help: "Duration of calls and requests over the last ten minutes",
      labelNames: ["function", "kind"],
      percentiles: [0.5, 0.95],
      maxAgeSeconds: WINDOW_SECONDS,
      ageBuckets: AGE_BUCKETS,
      registers,
    }),
  };
}

type Outcome = "success" | "failure" | "timeout";

/** A function's calls ended since the series were last brought up to date. */
interface CallBatch {
  counts: Record<Outcome, number>;
  /** Their durations (ms): every one, or a uniform sample of `CALL_SAMPLE`. */
  durations: number[];
  seen: number;
}

/**
 * Ended calls go into the series at most every `CALL_BATCH_MS`, with a uniform sample of at
 * most `CALL_SAMPLE` durations per function: prom-client's summary feeds every observation to
 * a t-digest per age bucket (compressing them every thousand), and labelled counters and
 * gauges hash their labels on every change, which cost a cluster call more CPU than the rest
 * of the engine's work on it. 64 durations a second still give the ten-minute quantiles tens
 * of thousands of points. Reads bring the series up to date first.
 */
const CALL_BATCH_MS = 1000;
const CALL_SAMPLE = 64;

/** Its series are made on first use: an app never called (`nodal run`, an idle one) loads no prom-client. */
export class AppMetrics {
  #series: Series | undefined;
  readonly #inFlightNow = new Map<string, number>();
  readonly #ended = new Map<string, CallBatch>();
  #flushTimer: NodeJS.Timeout | undefined;

  get #s(): Series {
    return (this.#series ??= newSeries());
  }

  /** A call of a function starts; the returned function records how it ended. */
  callStarted(fn: string): (outcome: Outcome, ms: number) => void {
    this.#inFlightNow.set(fn, (this.#inFlightNow.get(fn) ?? 0) + 1);
    return (outcome, ms) => {
      this.#inFlightNow.set(fn, (this.#inFlightNow.get(fn) ?? 1) - 1);
      let batch = this.#ended.get(fn);
      if (!batch) this.#ended.set(fn, (batch = { counts: { success: 0, failure: 0, timeout: 0 }, durations: [], seen: 0 }));
      batch.counts[outcome]++;
      sampleInto(batch.durations, ++batch.seen, CALL_SAMPLE, ms);
      if (!this.#flushTimer) {
        this.#flushTimer = setTimeout(() => this.#flush(), CALL_BATCH_MS);
        this.#flushTimer.unref();
      }
    };
  }

  /** Brings the series up to date: the calls ended since the last time, and what is in flight now. */
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#inFlightNow.size === 0) return;
    const s = this.#s;
    for (const [fn, n] of this.#inFlightNow) s.inFlight.set({ function: fn }, n);
    for (const [fn, batch] of this.#ended) {
      for (const outcome of ["success", "failure", "timeout"] as const) {
        if (batch.counts[outcome] > 0) s.calls.inc({ function: fn, kind: "function", outcome }, batch.counts[outcome]);
      }
      for (const ms of batch.durations) s.latency.observe({ function: fn, kind: "function" }, ms / 1000);
    }
    this.#ended.clear();
  }

  /** A web worker's batch of requests. */
  webBatch(fn: string, batch: WebBatch): void {
    const s = this.#s;
    const ok = batch.requests - batch.errors;
    if (ok > 0) s.calls.inc({ function: fn, kind: "web", outcome: "success" }, ok);
    if (batch.errors > 0) s.calls.inc({ function: fn, kind: "web", outcome: "failure" }, batch.errors);
    for (const ms of batch.durations) s.latency.observe({ function: fn, kind: "web" }, ms / 1000);
  }

  /**
   * The figures of `functions` (the live version's), with their workers' memory and CPU and
   * crash restarts.
   */
  async snapshot(
    functions: { name: string; kind: "function" | "web" }[],
    workers: { pid: number; function: string; id: string }[],
    restarts: Record<string, number>,
    schedules: Record<string, ScheduleRun[]>,
  ): Promise<AppStats> {
    this.#flush();
    const calls = this.#series ? (await this.#series.calls.get()).values : [];
    const latency = this.#series ? (await this.#series.latency.get()).values : [];
    const count = (fn: string, outcome?: string) =>
      calls.filter((v) => v.labels.function === fn && (outcome === undefined || v.labels.outcome === outcome)).reduce((n, v) => n + v.value, 0);
    const quantile = (fn: string, q: number) => {
      const v = latency.find((l) => l.labels.function === fn && (l.labels as Record<string, unknown>).quantile === q)?.value;
      return v === undefined || Number.isNaN(v) ? null : Math.round(v * 1e6) / 1e3;
    };
    return {
      at: new Date().toISOString(),
      functions: functions.map(({ name, kind }) => ({
        name,
        kind,
        calls: count(name),
        errors: count(name, "failure") + count(name, "timeout"),
        timeouts: count(name, "timeout"),
        inFlight: this.#inFlightNow.get(name) ?? 0,
        p50Ms: quantile(name, 0.5),
        p95Ms: quantile(name, 0.95),
        restarts: restarts[name] ?? 0,
        containers: workers.filter((w) => w.function === name).map((w) => ({ pid: w.pid, id: w.id, ...procStats(w.pid) })),
      })),
      schedules,
    };
  }

  /** The Prometheus text format, with `labels` (the app's name) on every series. */
  async prometheus(labels: Record<string, string>): Promise<string> {
    this.#flush();
    const { registry } = this.#s;
    registry.setDefaultLabels(labels);
    return registry.metrics();
  }
}

const PAGE_SIZE = 4096;
const CLOCK_TICKS = 100;

/** RSS and CPU time of a process from /proc (zeros when it is gone or /proc is not there). */
export function procStats(pid: number): { rssBytes: number; cpuSeconds: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields count from its end.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { rssBytes: rssPages * PAGE_SIZE, cpuSeconds: (utime + stime) / CLOCK_TICKS };
  } catch {
    return { rssBytes: 0, cpuSeconds: 0 };
  }
}
