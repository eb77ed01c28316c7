import { InvalidError } from "./errors.js";

/**
 * How a function handle reaches workers. Inside nodal (a worker, `nodal run`) the engine
 * installs one; plain scripts get one from `Function.fromName`.
 */
export interface Runtime {
  /** Runs `fn` of the current app in its own worker, honouring its options. */
  call(fn: string, args: unknown[]): Promise<unknown>;
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
