import { InvalidError } from "./errors.js";

/**
 * How a function handle reaches workers. Inside nodal (a worker, `nodal run`) the engine
 * installs one; plain scripts get one from `Function.fromName`.
 */
export interface Runtime {
  /** Runs `fn` of the current app in its own worker, honouring its options. */
  call(fn: string, args: unknown[]): Promise<unknown>;
  /**
   * Starts `fn` as a call its app runs and stores (`FunctionCall.fromId` finds it); answers
   * its id, or undefined where calls are not stored (`nodal run`): the caller then keeps the
   * call in memory.
   */
  spawn?(fn: string, args: unknown[]): Promise<string | undefined>;
}

let current: Runtime | undefined;

/** Installed by the worker process before the app module loads. */
export function setRuntime(runtime: Runtime | undefined): void {
  current = runtime;
}

export function getRuntime(fn: string): Runtime {
  if (!current) {
    throw new InvalidError(
      `function "${fn}" can run remotely only inside nodal (nodal serve, deploy or run); call .local() to run it in this process`,
    );
  }
  return current;
}

/** The function this worker serves and the volumes it declared (set by the worker at start). */
let serving: { fn: string; volumes: Set<string> } | undefined;
const warned = new Set<string>();

export function setServing(fn: string, volumes: string[]): void {
  serving = { fn, volumes: new Set(volumes) };
}

/**
 * Warns once per volume when the function this worker serves uses a volume it did not declare:
 * locally every volume is reachable, but on Modal it would not be mounted.
 */
export function noteVolumeUse(volume: string): void {
  if (!serving || serving.volumes.has(volume) || warned.has(volume)) return;
  warned.add(volume);
  console.warn(
    `[nodal] warning: function "${serving.fn}" uses volume "${volume}" without declaring it; ` +
      `add it to the function's volumes ({ "/data": ${JSON.stringify(volume)} }) — on Modal it would not be mounted`,
  );
}
