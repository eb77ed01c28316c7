import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import type { AppManifest } from "../loader/manifest.js";
import { distFile } from "../paths.js";
import { LineSplitter, MAX_LOG_LINE_BYTES } from "./lines.js";
import type { WireError } from "../errors.js";
import { isCloneError, type FromWorker, type ToWorker } from "./protocol.js";

const WORKER_MAIN = distFile("engine", "worker-main.js");
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

/**
 * One worker process: its own process group (so signals reach whatever it spawns), stdout and
 * stderr split into lines, and promise-shaped requests over IPC that fail if it dies.
 */
export class Worker {
  readonly id: string;
  readonly child: ChildProcess;
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
  #onMessage: ((w: Worker, msg: FromWorker) => void) | undefined;
  #onLine: LineHandler | undefined;
  /** Lines printed before an owner set its handlers (a worker forked ahead of its engine). */
  #early: [Stream, string[]][] = [];

  constructor(opts: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: LineHandler; onMessage?: (w: Worker, msg: FromWorker) => void } = {}) {
    this.id = `w${nextId++}`;
    this.#onMessage = opts.onMessage;
    this.#onLine = opts.onLine;
    this.child = fork(WORKER_MAIN, [], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      execArgv: [],
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group: a stop signals the whole group, and Ctrl-C in the terminal
      // reaches only the engine, which then stops workers in order.
      detached: true,
    });
    for (const stream of ["stdout", "stderr"] as const) {
      const splitter = new LineSplitter({ maxLineBytes: MAX_LOG_LINE_BYTES });
      const pipe = this.child[stream]!;
      pipe.on("data", (chunk: Buffer) => {
        const lines = splitter.push(chunk);
        if (lines.length) this.#lines(stream, lines);
      });
      pipe.on("end", () => {
        const rest = splitter.flush();
        if (rest.length) this.#lines(stream, rest);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.#alive = false;
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = this.#stderrTail.length ? `\n${this.#stderrTail.join("\n")}` : "";
        for (const w of this.#waiters.values()) w.reject(new WorkerError(`worker ${this.id} ${why}${tail}`));
        this.#waiters.clear();
        resolve({ code, signal });
      });
    });
    this.booted = this.#expect("hello");
    this.booted.catch(() => {}); // a spare stopped before it booted is not an error
    this.child.on("message", (msg: FromWorker) => this.#message(msg));
    this.child.on("error", () => {}); // reported through "exit"; sending to a dead child emits this
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** The last lines this worker wrote to stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  send(msg: ToWorker, handle?: Socket): boolean {
    if (!this.#alive || !this.child.connected) return false;
    try {
      this.child.send(msg, handle as never);
      return true;
    } catch (error) {
      if (isCloneError(error)) throw error; // the caller names the function
      return false;
    }
  }

  /** Imports a build and describes its app. */
  async load(bundle: string, file: string, selector: string | undefined, env: Record<string, string>): Promise<AppManifest> {
    await this.booted;
    const loaded = this.#expect<{ manifest: AppManifest }>("loaded");
    this.send({ t: "load", bundle, file, env, ...(selector ? { selector } : {}) });
    return (await loaded).manifest;
  }

  /** Makes the worker serve `fn` (a web function starts its server here). */
  async start(fn: string): Promise<void> {
    this.fn = fn;
    const ready = this.#expect("ready");
    this.send({ t: "start", fn });
    await ready;
  }

  /** Waits for a reply named `t`, or fails when the worker reports `failed` or dies. */
  #expect<T = void>(t: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.#alive) return reject(new WorkerError(`worker ${this.id} is not running`));
      this.#waiters.set(t, { resolve, reject });
    });
  }

  #message(msg: FromWorker): void {
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
    this.#onMessage?.(this, msg);
  }

  /** Adopts a worker forked before its engine existed: output and messages go to it from now on. */
  setHandlers(onLine: LineHandler, onMessage: (w: Worker, msg: FromWorker) => void): void {
    this.#onLine = onLine;
    this.#onMessage = onMessage;
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
    if (!this.#alive || !this.child.pid) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // The group is gone already.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs: number): Promise<void> {
    if (!this.#alive) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }

  /** Lets in-flight requests finish, then exits; SIGKILL if it is not gone after `graceMs`. */
  async drain(graceMs: number, closeIdle = false): Promise<void> {
    if (!this.#alive) return;
    this.send({ t: "drain", graceMs, closeIdle });
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs + 1000);
    await this.exited;
    clearTimeout(timer);
  }
}
