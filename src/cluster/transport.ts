import type { CallTransport } from "../engine/engine.js";
import type { FunctionSpec } from "../loader/manifest.js";
import { retryDelaySec } from "../engine/function-pool.js";
import type { ClusterClient } from "./client.js";
import { newCallId } from "./keys.js";
import { LOCK_MS, STALLED_CHECK_MS } from "./consumer.js";

/**
 * The engine's call seam over Redis: calls of the functions this pod does not run go on their
 * queue; those it runs stay in its local pools.
 */
export class RedisTransport implements CallTransport {
  #client: ClusterClient;
  #local: Set<string> | undefined;

  /** `local`: the functions this pod runs (`--only`); undefined when it runs them all. */
  constructor(client: ClusterClient, local: string[] | undefined) {
    this.#client = client;
    this.#local = local && new Set(local);
  }

  handles(fn: string): boolean {
    return this.#local !== undefined && !this.#local.has(fn);
  }

  newCallId(app: string, fn: string): string {
    return newCallId(app, fn);
  }

  call(app: string, spec: FunctionSpec, args: unknown[], opts: { callId: string }): Promise<unknown> {
    return this.#client.call(app, spec.name, args, callDeadlineMs(spec), opts.callId);
  }
}

/** How long to wait in line before a replica takes a call (backlog, a replica starting). */
const QUEUE_SLACK_MS = 60_000;

/**
 * The longest a call can take when replicas are up: every attempt its timeout, the backoff
 * between them, a dead replica's lock running out once per attempt, and time in the queue.
 */
export function callDeadlineMs(spec: FunctionSpec): number {
  const attempts = spec.retries.maxRetries + 1;
  let ms = QUEUE_SLACK_MS + attempts * (spec.timeoutSec * 1000 + LOCK_MS + STALLED_CHECK_MS);
  for (let n = 1; n < attempts; n++) ms += retryDelaySec(spec.retries, n) * 1000;
  return ms;
}
