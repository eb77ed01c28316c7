/**
 * `nodal start` is what a container runs, and a pod's start is two Node start-ups: its own, then
 * its first worker's. bin/nodal.cjs loads this small bundle (dist/engine/prefork.cjs) before the
 * CLI, so that worker boots while the CLI loads and parses its arguments; the engine adopts it
 * as a spare, as the supervisor does with the worker it forks first.
 */
import { forkWorkerProcess, type WorkerProcess } from "./fork.js";

const PREFORKED = Symbol.for("nodal.preforkedWorker");
type Holder = { [PREFORKED]?: WorkerProcess };

/**
 * What `nodal start` sets in its environment before any worker forks: secrets come from the
 * environment, and `--cluster URL` is where SDK calls in app code go.
 */
export function containerEnv(cluster: string | undefined): void {
  process.env.NODAL_SECRETS_SOURCE = "env";
  if (cluster !== undefined) process.env.NODAL_CLUSTER = cluster;
}

/** Forks `nodal start`'s first worker from the arguments after `start`, unless it is a --help. */
export function preforkForStart(args: string[]): void {
  if (args.some((a) => a === "--help" || a === "-h" || a === "--")) return;
  const i = args.findIndex((a) => a === "--cluster" || a.startsWith("--cluster="));
  const cluster = i < 0 ? undefined : args[i].startsWith("--cluster=") ? args[i].slice("--cluster=".length) : args[i + 1];
  containerEnv(cluster);
  (globalThis as Holder)[PREFORKED] = forkWorkerProcess();
}

/** The worker `preforkForStart` forked, once (undefined when none was). */
export function takePreforked(): WorkerProcess | undefined {
  const holder = globalThis as Holder;
  const forked = holder[PREFORKED];
  delete holder[PREFORKED];
  return forked;
}
