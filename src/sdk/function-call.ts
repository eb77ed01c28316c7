import { randomUUID } from "node:crypto";
import { TimeoutError } from "./errors.js";

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
  #result: Promise<R>;

  constructor(result: Promise<R>) {
    this.id = `fc-${randomUUID().replaceAll("-", "").slice(0, 20)}`;
    this.#result = result;
    // A spawned call whose result nobody asks for must not crash the process when it fails.
    result.catch(() => {});
  }

  async get(params: FunctionCallGetParams = {}): Promise<R> {
    if (params.timeout === undefined) return this.#result;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`function call ${this.id} did not finish within ${params.timeout}s`)),
        params.timeout! * 1000,
      );
    });
    try {
      return await Promise.race([this.#result, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
