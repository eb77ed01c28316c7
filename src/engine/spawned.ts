import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { serialize } from "node:v8";
import { toWire, type WireError } from "../errors.js";
import { writeFileAtomicSync } from "../registry/atomic.js";
import { newCallId } from "./call-log.js";

/** How long a finished spawned call's result is kept (Modal keeps them 24 hours too). */
export const KEEP_MS = 24 * 3600 * 1000;
/** Old results are swept on a write at most this often: a busy app does not list its folder per call. */
const SWEEP_EVERY_MS = 3600 * 1000;

export type SpawnedState = "running" | "success" | "failure" | "cancelled";

/** One spawned call as stored in `$NODAL_HOME/calls/APP/ID.json`. */
export interface SpawnedRecord {
  id: string;
  app: string;
  /** The instance that runs it: its control socket answers `callResult` and `cancel`. */
  appId: string;
  function: string;
  state: SpawnedState;
  startedAt: string;
  finishedAt?: string;
  /** The result, v8-serialized, base64 (`success`). */
  value?: string;
  /** What it threw (`failure`). */
  error?: WireError;
}

interface Live {
  done: Promise<void>;
  abort: AbortController;
}

export interface SpawnedCallsOptions {
  app: string;
  appId: string;
  /** The app's folder of results, `$NODAL_HOME/calls/APP` (made when first needed). */
  dir: string;
  now?: () => number;
}

/**
 * The calls an app instance spawned (`.spawn()`, from its own workers or through its control
 * socket): each is written when it starts and again when it ends, so that `FunctionCall.fromId`
 * finds it from any process, and a finished one survives a redeploy or a restart. Files are
 * replaced atomically: a reader sees a whole record or the previous one.
 */
export class SpawnedCalls {
  readonly opts: SpawnedCallsOptions;
  readonly #now: () => number;
  #live = new Map<string, Live>();
  #lastSweep = -Infinity;
  /** The folder is made on the first spawn: an app that spawns nothing leaves no trace. */
  #made = false;

  constructor(opts: SpawnedCallsOptions) {
    this.opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Starts `run` as a spawned call and answers its id at once; `signal` aborts it (`cancel`). */
  start(fn: string, run: (id: string, signal: AbortSignal) => Promise<unknown>): string {
    const id = newCallId();
    const base: SpawnedRecord = { id, app: this.opts.app, appId: this.opts.appId, function: fn, state: "running", startedAt: new Date(this.#now()).toISOString() };
    this.#write(base);
    const abort = new AbortController();
    const done = Promise.resolve()
      .then(() => run(id, abort.signal))
      .then(
        (value) => {
          let encoded: string;
          try {
            encoded = serialize(value).toString("base64");
          } catch (error) {
            return this.#end(base, { state: "failure", error: toWire(new TypeError(`function "${fn}": its result cannot cross a process boundary (${(error as Error).message})`)) });
          }
          this.#end(base, { state: "success", value: encoded });
        },
        (error: unknown) => this.#end(base, { state: "failure", error: toWire(error) }),
      )
      .finally(() => this.#live.delete(id));
    this.#live.set(id, { done, abort });
    return id;
  }

  #end(base: SpawnedRecord, outcome: Pick<SpawnedRecord, "state" | "value" | "error">): void {
    // A cancelled call stays cancelled, whatever its worker answered while being stopped.
    if (this.#live.get(base.id)?.abort.signal.aborted) return;
    this.#write({ ...base, ...outcome, finishedAt: new Date(this.#now()).toISOString() });
  }

  /** True while a call runs in this instance. */
  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Waits up to `waitMs` for a call of this instance to finish; answers its record. */
  async wait(id: string, waitMs: number): Promise<SpawnedRecord | undefined> {
    const live = this.#live.get(id);
    if (live) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.done, new Promise((r) => (timer = setTimeout(r, Math.max(0, waitMs))))]);
      clearTimeout(timer);
    }
    return readSpawned(this.opts.dir, id);
  }

  /**
   * Stops a running call: it is recorded as cancelled now, and its attempt aborted (the worker
   * running it is stopped). False when it is not running here.
   */
  cancel(id: string): boolean {
    const live = this.#live.get(id);
    if (!live) return false;
    const record = readSpawned(this.opts.dir, id);
    live.abort.abort();
    if (record) this.#write({ ...record, state: "cancelled", finishedAt: new Date(this.#now()).toISOString() });
    return true;
  }

  #write(record: SpawnedRecord): void {
    if (!this.#made) mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    this.#made = true;
    writeFileAtomicSync(join(this.opts.dir, `${record.id}.json`), JSON.stringify(record));
    this.#sweep();
  }

  /** Removes finished results older than `KEEP_MS` (at most once an hour). */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    for (const name of readdirSync(this.opts.dir)) {
      if (!name.endsWith(".json") || this.#live.has(name.slice(0, -5))) continue;
      const file = join(this.opts.dir, name);
      try {
        if (now - statSync(file).mtimeMs > KEEP_MS) rmSync(file, { force: true });
      } catch {
        // Removed meanwhile by another instance of the app.
      }
    }
  }
}

/** A stored call of one app's folder, or undefined. */
export function readSpawned(dir: string, id: string): SpawnedRecord | undefined {
  if (!/^fc-[A-Za-z0-9]+$/.test(id)) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, `${id}.json`), "utf8")) as SpawnedRecord;
  } catch {
    return undefined;
  }
}

/** A stored call of any app under `root` (`$NODAL_HOME/calls`), or undefined. */
export function findSpawned(root: string, id: string): SpawnedRecord | undefined {
  let apps: string[];
  try {
    apps = readdirSync(root);
  } catch {
    return undefined;
  }
  for (const app of apps) {
    const record = readSpawned(join(root, app), id);
    if (record) return record;
  }
  return undefined;
}
