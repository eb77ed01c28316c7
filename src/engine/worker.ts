import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import type { AppManifest } from "../loader/manifest.js";
import { forkWorkerProcess, type WorkerProcess } from "./fork.js";
import { LineSplitter, MAX_LOG_LINE_BYTES } from "./lines.js";
import type { WireError } from "../errors.js";
import { processTree, signalGroup, signalMembers, stillAlive } from "./process-tree.js";
import { isCloneError, Outbox, type FromWorker, type ToWorker } from "./protocol.js";
import { heapLimitMiB, isHeapOutOfMemory, MemoryWatch } from "./memory-watch.js";

const STDERR_TAIL_LINES = 30;

export type Stream = "stdout" | "stderr";

/** Where a worker's output goes: the complete lines of each chunk read from its pipe. */
export type LineHandler = (worker: Worker, stream: Stream, lines: string[]) => void;

/** A failure reported by a worker, or its death; `wire` carries the remote error when there is one. */
export class WorkerError extends Error {
  override name = "WorkerError";
  readonly wire: WireError | undefined;
  constructor(message: string, wire?: WireError) {
    super(message);
    this.wire = wire;
  }
}

let nextId = 1;

/** Why a worker with a `memory` limit was stopped: its RSS went over (`rssMiB`), or its heap did. */
export interface MemoryExceeded {
  limitMiB: number;
  rssMiB?: number;
}

/** Hears every message a worker sends that no request of its own was waiting for. */
export type MessageListener = (msg: FromWorker, worker: Worker) => void;

/**
 * One worker process: its own process group (so signals reach whatever it spawns), stdout and
 * stderr split into lines, and promise-shaped requests over IPC that fail if it dies. Stopping
 * it stops the processes it started too.
 */
export class Worker {
  readonly id: string;
  readonly #child: ChildProcess;
  /** Set once `start` picks the function it serves. */
  fn: string | undefined;
  /** What its output lines are tagged with instead of its id (a scheduled run's id). */
  label: string | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the process booted and can take `load`. */
  readonly booted: Promise<void>;
  #alive = true;
  #stderrTail: string[] = [];
  #waiters = new Map<string, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  #listeners = new Set<MessageListener>();
  #onLine: LineHandler | undefined;
  /** Lines printed before an owner set its line handler (a worker forked ahead of its engine). */
  #early: [Stream, string[]][] = [];
  /** The worker's `memory` limit in MiB, if it has one. */
  readonly memoryMiB: number | undefined;
  #memoryExceeded: MemoryExceeded | undefined;
  #watch: MemoryWatch | undefined;
  #outbox: Outbox<ToWorker>;
  /** Environment an adopted process was forked without, given to it with each build it loads. */
  #lateEnv: Record<string, string> = {};
  /** What its environment holds before any build is loaded: its fork's, with the late one. */
  #baseEnv: NodeJS.ProcessEnv;

  /**
   * `memoryMiB`: a limit, kept by a V8 heap limit and an RSS watchdog (see memory-watch.ts).
   * `process`: one forked already (by `prefork`), with no limit; default a new one. Its `env`
   * is then what it was forked without: the worker sets it as it loads a build.
   */
  constructor(opts: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: LineHandler; memoryMiB?: number; process?: WorkerProcess } = {}) {
    this.id = `w${nextId++}`;
    this.#onLine = opts.onLine;
    this.memoryMiB = opts.process ? undefined : opts.memoryMiB;
    if (opts.process && opts.env) this.#lateEnv = Object.fromEntries(Object.entries(opts.env).filter((e): e is [string, string] => e[1] !== undefined));
    const proc =
      opts.process ??
      forkWorkerProcess({
        cwd: opts.cwd,
        env: opts.env,
        // The heap limit is fixed when V8 starts: it cannot be set on a spare booted without it.
        execArgv: opts.memoryMiB ? [`--max-old-space-size=${heapLimitMiB(opts.memoryMiB)}`] : [],
      });
    this.#child = proc.child;
    this.#baseEnv = { ...proc.env, ...this.#lateEnv };
    const child = this.#child;
    this.#outbox = new Outbox<ToWorker>((msg) => void (child.connected && child.send(msg)));
    for (const stream of ["stdout", "stderr"] as const) {
      const splitter = new LineSplitter({ maxLineBytes: MAX_LOG_LINE_BYTES });
      const pipe = this.#child[stream]!;
      pipe.on("data", (chunk: Buffer) => {
        const lines = splitter.push(chunk);
        if (lines.length) this.#lines(stream, lines);
      });
      pipe.on("end", () => {
        const rest = splitter.flush();
        if (rest.length) this.#lines(stream, rest);
      });
    }
    this.exited = proc.exited.then(({ code, signal }) => {
      this.#alive = false;
      this.#watch?.stop();
      if (this.memoryMiB && !this.#memoryExceeded && isHeapOutOfMemory({ code, signal }, this.stderrTail)) {
        this.#memoryExceeded = { limitMiB: this.memoryMiB };
      }
      // Whatever is left in its group (the worker was killed before it could end its own
      // children) goes with it.
      if (this.#child.pid) signalGroup(this.#child.pid, "SIGKILL");
      const why = this.#memoryExceeded
        ? `exceeded its memory limit of ${this.memoryMiB} MiB`
        : signal
          ? `was killed by ${signal}`
          : `exited with code ${code}`;
      const tail = this.#stderrTail.length ? `\n${this.#stderrTail.join("\n")}` : "";
      for (const w of this.#waiters.values()) w.reject(new WorkerError(`worker ${this.id} ${why}${tail}`));
      this.#waiters.clear();
      return { code, signal };
    });
    this.booted = this.#expect("hello");
    this.booted.catch(() => {}); // a spare stopped before it booted is not an error
    proc.listen((msg) => this.#message(msg));
    const limit = this.memoryMiB;
    if (limit && this.#child.pid) {
      this.#watch = new MemoryWatch(this.#child.pid, limit, (rssMiB) => {
        this.#memoryExceeded = { limitMiB: limit, rssMiB: Math.round(rssMiB) };
        this.kill();
      });
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Set, before `exited` resolves, when the worker went over its memory limit. */
  get memoryExceeded(): MemoryExceeded | undefined {
    return this.#memoryExceeded;
  }

  /** The last lines this worker wrote to stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  /** Sends `msg` now (after whatever `post` queued, so order is kept); throws when a value in it cannot be cloned. */
  send(msg: ToWorker, handle?: Socket): boolean {
    if (!this.#alive || !this.#child.connected) return false;
    this.#outbox.flush();
    try {
      this.#child.send(msg, handle as never);
      return true;
    } catch (error) {
      if (isCloneError(error)) throw error; // the caller names the function
      return false;
    }
  }

  /**
   * Sends `msg` with the others posted in this turn of the event loop, as one IPC message (see
   * `Outbox`); `onError` hears if it cannot be sent (a value in it cannot be cloned). False
   * when the worker is not running.
   */
  post(msg: ToWorker, onError: (error: Error) => void): boolean {
    if (!this.#alive || !this.#child.connected) return false;
    this.#outbox.post(msg, onError);
    return true;
  }

  /** Subscribes to the worker's unsolicited messages (results, remote calls); returns the unsubscribe. */
  onMessage(listener: MessageListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Whether loading a build with `env` would give this process nothing its environment does not
   * hold already (same keys, same values), when it loaded with none: it then runs as a worker
   * forked for `env` would. So in a container, where secrets are the pod's environment.
   */
  holdsEnv(env: Record<string, string>): boolean {
    return Object.entries(env).every(([k, v]) => this.#baseEnv[k] === v);
  }

  /** Imports a build and describes its app. */
  async load(bundle: string, file: string, selector: string | undefined, env: Record<string, string>): Promise<AppManifest> {
    await this.booted;
    const loaded = this.#expect<{ manifest: AppManifest }>("loaded");
    this.send({ t: "load", bundle, file, env: { ...this.#lateEnv, ...env }, ...(selector ? { selector } : {}) });
    return (await loaded).manifest;
  }

  /** Makes the worker serve `fn` (a web function starts its server here); `count: false`: it counts no requests. */
  async start(fn: string, opts: { count?: boolean } = {}): Promise<void> {
    this.fn = fn;
    const ready = this.#expect("ready");
    this.send({ t: "start", fn, ...(opts.count === false ? { count: false } : {}) });
    await ready;
  }

  /** A web worker's requests in flight and how long it has had none (the scaler asks). */
  async activity(): Promise<{ inFlight: number; idleMs: number }> {
    const reply = this.#expect<{ inFlight: number; idleMs: number }>("activity");
    if (!this.send({ t: "activity" })) throw new WorkerError(`worker ${this.id} is not running`);
    const { inFlight, idleMs } = await reply;
    return { inFlight, idleMs };
  }

  /** Runs the loaded app's local entrypoint with `argv`; rejects with its error, or if the worker dies. */
  async entrypoint(argv: string[]): Promise<unknown> {
    const id = 0;
    const done = new Promise<unknown>((resolve, reject) => {
      const off = this.onMessage((msg) => {
        if (msg.t !== "result" || msg.id !== id) return;
        off();
        if (msg.ok) resolve(msg.value);
        else reject(Object.assign(new Error(msg.error!.message), { name: msg.error!.name, stack: msg.error!.stack }));
      });
      void this.exited.then(() => {
        off();
        reject(new WorkerError(`the local entrypoint's worker exited${this.stderrTail ? `:\n${this.stderrTail}` : ""}`));
      });
    });
    this.send({ t: "entrypoint", id, argv });
    return done;
  }

  /** Waits for a reply named `t`, or fails when the worker reports `failed` or dies. */
  #expect<T = void>(t: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.#alive) return reject(new WorkerError(`worker ${this.id} is not running`));
      this.#waiters.set(t, { resolve, reject });
    });
  }

  #message(msg: FromWorker): void {
    if (msg.t === "batch") {
      for (const m of msg.msgs) this.#message(m);
      return;
    }
    if (msg.t === "failed") {
      const err = new WorkerError(msg.error.message, msg.error);
      for (const w of this.#waiters.values()) w.reject(err);
      this.#waiters.clear();
      return;
    }
    const waiter = this.#waiters.get(msg.t);
    if (waiter) {
      this.#waiters.delete(msg.t);
      waiter.resolve(msg);
      return;
    }
    for (const listener of this.#listeners) listener(msg, this);
  }

  /** Where output lines go from now on; lines printed before are delivered first. */
  setLineHandler(onLine: LineHandler): void {
    this.#onLine = onLine;
    for (const [stream, lines] of this.#early.splice(0)) onLine(this, stream, lines);
  }

  #lines(stream: Stream, lines: string[]): void {
    if (stream === "stderr") {
      this.#stderrTail.push(...lines.slice(-STDERR_TAIL_LINES));
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.splice(0, this.#stderrTail.length - STDERR_TAIL_LINES);
    }
    if (this.#onLine) this.#onLine(this, stream, lines);
    else this.#early.push([stream, lines]);
  }

  /** Signals the worker's whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (!this.#alive || !this.#child.pid) return;
    signalGroup(this.#child.pid, sig);
  }

  /** SIGKILL to the worker, its group and every process below it, now. */
  kill(): void {
    if (!this.#alive || !this.#child.pid) return;
    const tree = processTree(this.#child.pid);
    signalGroup(this.#child.pid, "SIGKILL");
    signalMembers(tree, "SIGKILL");
  }

  /**
   * SIGTERM to the worker and every process below it, SIGKILL after `graceMs`; resolves once
   * the worker has exited and nothing it started is left.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#alive && this.#child.pid) {
      // Taken while the worker lives: once it is gone, its children belong to init.
      const tree = processTree(this.#child.pid);
      const deadline = Date.now() + graceMs;
      this.signal("SIGTERM");
      signalMembers(tree, "SIGTERM");
      const timer = setTimeout(() => this.kill(), graceMs);
      await this.exited;
      clearTimeout(timer);
      while (stillAlive(tree).length && Date.now() < deadline) await sleep(20);
      signalMembers(tree, "SIGKILL");
    }
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
  }

  /**
   * Lets in-flight requests finish within `graceMs`, then the worker exits (ending what it
   * started itself); SIGKILL to all of it if it is not gone a second after.
   */
  async drain(graceMs: number, closeIdle = false): Promise<void> {
    if (!this.#alive) return;
    this.send({ t: "drain", graceMs, closeIdle });
    const timer = setTimeout(() => this.kill(), graceMs + 1000);
    await this.exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
