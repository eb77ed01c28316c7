import { UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import type { FunctionSpec } from "../loader/manifest.js";
import { retryDelaySec } from "../engine/function-pool.js";
import { decodeValue, encodeError, encodeValue } from "./codec.js";
import { queuePrefix } from "./keys.js";

/**
 * How long a replica holds a call before others may take it back, and how often replicas
 * look for calls whose holder stopped renewing. BullMQ's defaults (30 s, 30 s) would leave
 * the call of a replica killed mid-call (kill -9, an evicted pod) waiting up to a minute;
 * with these another replica picks it up within ~7 s. The holder renews at half the lock
 * duration from its main thread, which only relays messages to workers (the function runs in
 * a worker process), so 5 s is ample even on a busy machine.
 */
export const LOCK_MS = 5000;
export const STALLED_CHECK_MS = 2000;

/**
 * Runs one attempt of a call of `fn` in this pod (its local pool: timeout enforced there);
 * `callId` is the caller's id of the call, so both pods record it under the same id.
 */
export type RunLocal = (spec: FunctionSpec, args: unknown[], callId: string) => Promise<unknown>;

/**
 * The serving side of cluster mode: one BullMQ worker per function this pod runs, taking
 * `concurrency` × `maxContainers` calls at once (what the function's local pool can run),
 * each attempt run through the engine. Retries follow the function's `retries`: BullMQ
 * re-queues a failed attempt after the function's backoff, so any replica may run the next.
 */
export class ClusterConsumer {
  #workers: Worker[] = [];
  #connections: Redis[] = [];

  constructor(url: string, app: string, specs: FunctionSpec[], run: RunLocal) {
    for (const spec of specs) {
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      this.#connections.push(connection);
      const worker = new Worker(spec.name, (job: Job) => attempt(spec, job, run), {
        connection,
        prefix: queuePrefix(app),
        concurrency: Math.max(1, spec.concurrency * spec.maxContainers),
        lockDuration: LOCK_MS,
        stalledInterval: STALLED_CHECK_MS,
        // A call taken back from a dead replica is not a failed attempt; allow one such
        // recovery per attempt the function's retries allow.
        maxStalledCount: 1 + spec.retries.maxRetries,
        settings: { backoffStrategy: (attemptsMade: number) => retryDelaySec(spec.retries, attemptsMade) * 1000 },
      });
      // Lost connections are retried by ioredis; BullMQ reports them here meanwhile.
      worker.on("error", () => {});
      this.#workers.push(worker);
    }
  }

  /**
   * Takes no more calls; those in flight finish first, within `graceMs`. With Redis away a
   * graceful close would wait for it forever: past the grace the connections are dropped (a
   * call still held is taken back by another replica once its lock runs out).
   */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.all(this.#workers.map((w) => w.close())), late]);
    clearTimeout(timer);
    for (const c of this.#connections) c.disconnect();
    await Promise.all(this.#workers.map((w) => w.close(true).catch(() => {})));
  }
}

async function attempt(spec: FunctionSpec, job: Job, run: RunLocal): Promise<string> {
  const args = decodeValue((job.data as { args: string }).args) as unknown[];
  try {
    return encodeValue(await run(spec, args, job.id!), `function "${spec.name}": its result`);
  } catch (error) {
    // attemptsMade counts the attempts that failed before this one.
    const reason = encodeError(error, job.attemptsMade + 1);
    throw job.attemptsMade >= spec.retries.maxRetries ? new UnrecoverableError(reason) : new Error(reason);
  }
}
