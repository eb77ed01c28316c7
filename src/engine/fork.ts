import { fork, type ChildProcess } from "node:child_process";
import { distFile } from "../paths.js";
import type { FromWorker } from "./protocol.js";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A worker process as forked, before a `Worker` owns it: what it says and when it exits are
 * kept until then, so one forked ahead of its owner (`prefork`) loses nothing.
 */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** The environment it was forked with. */
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Delivers its messages to `listener` from now on, those that came before first. */
  listen(listener: (msg: FromWorker) => void): void;
}

/** Forks `dist/engine/worker-main.cjs` as every worker is forked. */
export function forkWorkerProcess(opts: { env?: NodeJS.ProcessEnv; cwd?: string; execArgv?: string[] } = {}): WorkerProcess {
  const env = { ...(opts.env ?? process.env) };
  const child = fork(distFile("engine", "worker-main.cjs"), [], {
    cwd: opts.cwd,
    env,
    execArgv: opts.execArgv ?? [],
    serialization: "advanced",
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // Its own process group: a stop signals the whole group, and Ctrl-C in the terminal
    // reaches only the engine, which then stops workers in order.
    detached: true,
  });
  child.on("error", () => {}); // reported through "exit"; sending to a dead child emits this
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let listener: ((msg: FromWorker) => void) | undefined;
  const early: FromWorker[] = [];
  child.on("message", (msg: FromWorker) => (listener ? listener(msg) : early.push(msg)));
  return {
    child,
    env,
    exited,
    listen(l) {
      listener = l;
      for (const msg of early.splice(0)) l(msg);
    },
  };
}
