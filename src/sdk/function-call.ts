import { randomUUID } from "node:crypto";
import { InvalidError, TimeoutError } from "./errors.js";
import { cancelStored, storedOutcome } from "./stored-call.js";

/** Parameters of `FunctionCall.get`. */
export interface FunctionCallGetParams {
  /** Seconds to wait; a `TimeoutError` when the result is not ready by then. Default: no limit. */
  timeout?: number;
}

/**
 * A call started with `.spawn()`; `get()` waits for its result.
 *
 * @example
 * const call = await square.spawn(4);
 * console.log(await call.get({ timeout: 10 }));
 */
export class FunctionCall<R = unknown> {
  readonly id: string;
  #result: Promise<R> | undefined;
  #fetch: (() => Promise<R>) | undefined;
  /** A call stored on this machine (`$NODAL_HOME/calls`): asked for on each `get`, until it ends. */
  #stored = false;

  /** `result`: the call's outcome, or how to fetch it when first asked (a cluster call's). */
  constructor(result: Promise<R> | (() => Promise<R>), id?: string) {
    this.id = id ?? `fc-${randomUUID().replaceAll("-", "").slice(0, 20)}`;
    if (typeof result === "function") this.#fetch = result;
    else this.#settled(result);
  }

  #settled(result: Promise<R>): Promise<R> {
    this.#result = result;
    // A spawned call whose result nobody asks for must not crash the process when it fails.
    result.catch(() => {});
    return result;
  }

  /** The outcome; a cluster call's is fetched on first use (nothing waits for it before). */
  get #outcome(): Promise<R> {
    return this.#result ?? this.#settled(this.#fetch!());
  }

  /** @internal A call spawned in a deployed or served app of this machine, by its id. */
  static stored<R = unknown>(id: string): FunctionCall<R> {
    const call = new FunctionCall<R>(() => storedOutcome(id) as Promise<R>, id);
    call.#stored = true;
    return call;
  }

  /**
   * A call spawned by any process, by its id: of a deployed or served app of this machine (from
   * `$NODAL_HOME`), or of the cluster (`NODAL_CLUSTER`). Results are kept for 24 hours.
   *
   * @example
   * const result = await FunctionCall.fromId(id).get({ timeout: 60 });
   */
  static fromId<R = unknown>(id: string): FunctionCall<R> {
    if (typeof id !== "string" || id === "") throw new InvalidError(`FunctionCall.fromId(id): id must be a non-empty string`);
    const cluster = process.env.NODAL_CLUSTER;
    if (!cluster) return FunctionCall.stored<R>(id);
    return new FunctionCall(() => import("../cluster/client.js").then(({ sharedClient }) => sharedClient(cluster).result(id) as Promise<R>), id);
  }

  /**
   * Stops the call: the worker running it is stopped, and `get()` rejects with a
   * `CancelledError`. A call that already ended stays as it ended.
   */
  async cancel(): Promise<void> {
    if (!this.#stored) {
      throw new InvalidError(`function call ${this.id} cannot be cancelled: only calls of a deployed or served app on this machine can (not those of \`nodal run\` or of a cluster)`);
    }
    await cancelStored(this.id);
  }

  async get(params: FunctionCallGetParams = {}): Promise<R> {
    if (this.#stored && this.#result === undefined) {
      // Each get waits no longer than its own timeout: nothing keeps waiting after it gave up.
      const outcome = storedOutcome(this.id, params.timeout === undefined ? undefined : params.timeout * 1000) as Promise<R>;
      outcome.then(
        () => void this.#settled(outcome),
        (e: unknown) => {
          if (!(e instanceof TimeoutError)) this.#settled(outcome);
        },
      );
      return outcome;
    }
    if (params.timeout === undefined) return this.#outcome;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`function call ${this.id} did not finish within ${params.timeout}s`)),
        params.timeout! * 1000,
      );
    });
    try {
      return await Promise.race([this.#outcome, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `.spawn()` in cluster mode (`NODAL_CLUSTER`): the call goes on its function's queue, and
 * its id finds it from any process (`FunctionCall.fromId`). Undefined outside cluster mode.
 */
export async function spawnInCluster<R>(app: string, fn: string, args: unknown[]): Promise<FunctionCall<R> | undefined> {
  const cluster = process.env.NODAL_CLUSTER;
  if (!cluster) return undefined;
  const { sharedClient } = await import("../cluster/client.js");
  const client = sharedClient(cluster);
  const id = await client.spawn(app, fn, args);
  return new FunctionCall(() => client.result(id) as Promise<R>, id);
}
