import { Cron, Period, type Schedule } from "./schedule.js";
import { Retries } from "./retries.js";
import { Volume } from "./volume.js";
import { Secret } from "./secret.js";
import { isValidName, NAME_RULE } from "./names.js";

/** Options every function takes (`app.function`, `app.webApp`, `app.webEndpoint`). */
export interface CommonOptions {
  /** The function's name; default: the name it is exported under. */
  name?: string;
  /** Seconds one attempt may run before its worker is killed; 1 to 86400, default 300. */
  timeout?: number;
  /** `n` retries 1 s apart, or a `Retries` policy with backoff. */
  retries?: number | Retries;
  /** Mount path → volume. */
  volumes?: Record<string, Volume>;
  /** Secrets injected as environment variables into this function's workers only. */
  secrets?: Secret[];
  /** Inputs one worker takes at once; 1 to 1000, default 1. */
  concurrency?: number;
  /** Workers kept running even when idle; 0 to 100, default 0. */
  minContainers?: number;
  /** Upper bound of the worker pool; 1 to 100, default 10. */
  maxContainers?: number;
  /**
   * Seconds a worker may sit idle before it stops (in deployed apps, down to `minContainers`);
   * 1 to 86400, default 60. `nodal serve` keeps one worker per function warm whatever this says.
   */
  scaledownWindow?: number;
  /** Spare workers kept warm beyond the busy ones while the function has work; 0 to 100, default 0. */
  bufferContainers?: number;
  /** Extra environment variables for this function's workers. */
  env?: Record<string, string>;
  /**
   * A memory limit per worker, in MiB (64 to 65536): a worker over it is stopped and the call
   * in flight fails with a `MemoryLimitError`; a web function's worker is restarted.
   */
  memory?: number;
}

/** Options of `app.function`. */
export interface FunctionOptions extends CommonOptions {
  /** Run on a `Cron` or `Period` schedule. */
  schedule?: Schedule;
}

/** Options of `app.webApp`. */
export interface WebAppOptions extends CommonOptions {
  /** Pin the port (an error if it is in use); default: the first free one from 8000 up. */
  port?: number;
}

/** HTTP methods a `webEndpoint` accepts. */
export type EndpointMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Options of `app.webEndpoint`. */
export interface WebEndpointOptions extends WebAppOptions {
  /** Default GET: the handler gets the parsed query; other methods get the JSON body. */
  method?: EndpointMethod;
}

const COMMON = ["name", "timeout", "retries", "volumes", "secrets", "concurrency", "minContainers", "maxContainers", "scaledownWindow", "bufferContainers", "env", "memory"];
export const ALLOWED_KEYS = {
  function: [...COMMON, "schedule"],
  web: [...COMMON, "port"],
  endpoint: [...COMMON, "port", "method"],
} as const;

/** Below 64 MiB a worker's own Node runtime would leave the function next to nothing. */
const MEMORY_MIN_MIB = 64;
const MEMORY_MAX_MIB = 65536;

const SCALEDOWN_MIN_SEC = 1;
const SCALEDOWN_MAX_SEC = 86400;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function intIn(v: unknown, lo: number, hi: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/** Every problem with `opts`, as sentences without the function's name (the caller adds it). */
export function checkOptions(kind: keyof typeof ALLOWED_KEYS, opts: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (opts === null || typeof opts !== "object") return ["options must be an object"];
  const allowed: readonly string[] = ALLOWED_KEYS[kind];
  for (const key of Object.keys(opts)) {
    if (opts[key] !== undefined && !allowed.includes(key)) {
      const extra = key === "schedule" ? " (web functions cannot be scheduled)" : "";
      problems.push(`unknown option "${key}"${extra}; allowed: ${allowed.join(", ")}`);
    }
  }
  const o = opts as FunctionOptions & WebEndpointOptions;
  if (o.name !== undefined && !isValidName(o.name)) {
    problems.push(`name ${JSON.stringify(o.name)} is invalid: ${NAME_RULE}`);
  }
  if (o.timeout !== undefined && !(typeof o.timeout === "number" && o.timeout >= 1 && o.timeout <= 86400)) {
    problems.push(`timeout must be from 1 to 86400 seconds, got ${JSON.stringify(o.timeout)}`);
  }
  if (o.retries !== undefined) {
    if (o.retries instanceof Retries) {
      if (o.retries.problem) problems.push(o.retries.problem);
    } else if (!intIn(o.retries, 0, 10)) {
      problems.push(`retries must be an integer from 0 to 10 or a Retries, got ${JSON.stringify(o.retries)}`);
    }
  }
  if (o.concurrency !== undefined && !intIn(o.concurrency, 1, 1000)) {
    problems.push(`concurrency must be an integer from 1 to 1000, got ${JSON.stringify(o.concurrency)}`);
  }
  if (o.minContainers !== undefined && !intIn(o.minContainers, 0, 100)) {
    problems.push(`minContainers must be an integer from 0 to 100, got ${JSON.stringify(o.minContainers)}`);
  }
  if (o.maxContainers !== undefined && !intIn(o.maxContainers, 1, 100)) {
    problems.push(`maxContainers must be an integer from 1 to 100, got ${JSON.stringify(o.maxContainers)}`);
  }
  if (intIn(o.minContainers, 0, 100) && intIn(o.maxContainers, 1, 100) && o.minContainers! > o.maxContainers!) {
    problems.push(`minContainers (${o.minContainers}) must not exceed maxContainers (${o.maxContainers})`);
  }
  if (o.scaledownWindow !== undefined && !(typeof o.scaledownWindow === "number" && o.scaledownWindow >= SCALEDOWN_MIN_SEC && o.scaledownWindow <= SCALEDOWN_MAX_SEC)) {
    problems.push(`scaledownWindow must be from ${SCALEDOWN_MIN_SEC} to ${SCALEDOWN_MAX_SEC} seconds, got ${JSON.stringify(o.scaledownWindow)}`);
  }
  if (o.bufferContainers !== undefined && !intIn(o.bufferContainers, 0, 100)) {
    problems.push(`bufferContainers must be an integer from 0 to 100, got ${JSON.stringify(o.bufferContainers)}`);
  }
  if (o.memory !== undefined && !intIn(o.memory, MEMORY_MIN_MIB, MEMORY_MAX_MIB)) {
    problems.push(`memory must be an integer from ${MEMORY_MIN_MIB} to ${MEMORY_MAX_MIB} (MiB), got ${JSON.stringify(o.memory)}`);
  }
  if (o.env !== undefined) {
    if (typeof o.env !== "object" || o.env === null || Object.values(o.env).some((v) => typeof v !== "string")) {
      problems.push(`env must map names to string values`);
    }
  }
  if (o.volumes !== undefined) {
    if (typeof o.volumes !== "object" || o.volumes === null) problems.push(`volumes must map mount paths to Volume objects`);
    else
      for (const [mount, v] of Object.entries(o.volumes)) {
        if (!(v instanceof Volume)) problems.push(`volumes["${mount}"] must be a Volume (from Volume.fromName)`);
        if (!mount.startsWith("/")) problems.push(`volume mount path "${mount}" must be absolute, like "/data"`);
      }
  }
  if (o.secrets !== undefined) {
    if (!Array.isArray(o.secrets) || o.secrets.some((s) => !(s instanceof Secret))) {
      problems.push(`secrets must be an array of Secret objects (from Secret.fromName, fromDict or fromDotenv)`);
    }
  }
  if (o.schedule !== undefined && kind === "function") {
    if (o.schedule instanceof Cron || o.schedule instanceof Period) {
      if (o.schedule.problem) problems.push(`schedule: ${o.schedule.problem}`);
    } else {
      problems.push(`schedule must be a Cron or a Period`);
    }
  }
  if (o.port !== undefined && !intIn(o.port, 1, 65535)) {
    problems.push(`port must be an integer from 1 to 65535, got ${JSON.stringify(o.port)}`);
  }
  if (o.method !== undefined && !METHODS.includes(String(o.method).toUpperCase())) {
    problems.push(`method must be one of ${METHODS.join(", ")}, got ${JSON.stringify(o.method)}`);
  }
  return problems;
}
