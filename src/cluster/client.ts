import { Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { UserError } from "../errors.js";
import { NotFoundError } from "../sdk/errors.js";
import { decodeError, decodeValue, encodeValue } from "./codec.js";
import { newCallId, parseCallId, queuePrefix } from "./keys.js";

/** Results (and failures) of calls are kept this long, so `FunctionCall.fromId` finds them. */
export const KEEP_RESULTS_SEC = 24 * 3600;

/**
 * Attempts BullMQ may make of a call: the most `retries` allows (10) plus the first. The
 * consuming replica, which knows the function's policy, ends a call sooner by failing it as
 * unrecoverable (see `ClusterConsumer`): a caller that knows nothing of the function (a
 * `Function.fromName` script) enqueues the same job as one that does.
 */
const MAX_ATTEMPTS = 11;

interface Waiter {
  fn: string;
  id: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

interface FunctionQueue {
  queue: Queue;
  events: QueueEvents;
  ready: Promise<unknown>;
}

/**
 * The calling side of cluster mode: puts calls on the queue of their function (one BullMQ
 * queue per app function) and waits for their results, which the replicas that consume the
 * queue publish on its event stream.
 */
export class ClusterClient {
  readonly url: string;
  #conn: Redis | undefined;
  #queues = new Map<string, FunctionQueue>();
  #waiters = new Map<string, Waiter>();
  /** Connections are closed when no call is in progress: set for scripts, which must exit once their calls are done. */
  #idleClose: boolean;
  /** Calls being added or waited for. */
  #busy = 0;
  #idle: NodeJS.Timeout | undefined;

  /** `idleClose`: connections close when no call is in progress, and open again on the next (a script's client). */
  constructor(url: string, opts: { idleClose?: boolean } = {}) {
    this.url = url;
    this.#idleClose = opts.idleClose ?? false;
  }

  /** The connection that adds calls, opened on first use. */
  get #redis(): Redis {
    if (this.#conn) return this.#conn;
    // Commands wait while Redis is away (ioredis reconnects and sends them then): a call made
    // during a Redis restart goes out when it is back, bounded by its caller's deadline.
    const conn = new Redis(this.url, { maxRetriesPerRequest: null });
    conn.on("error", () => {}); // reconnects on its own; calls in flight fail on "close"
    // Redis went away with the calls it held (a restart without persistence loses them): a
    // caller gets a clear error now rather than waiting for a result that may never come.
    conn.on("close", () => {
      if (conn !== this.#conn) return; // closed on purpose
      for (const w of [...this.#waiters.values()]) {
        this.#settle(w.id)?.reject(
          new UserError(
            "E_APP_UNREACHABLE",
            `lost the connection to Redis (${redact(this.url)}) while waiting for function "${w.fn}" (call ${w.id})`,
            "the call may or may not have run (calls are at-least-once); call again once Redis is back",
          ),
        );
      }
    });
    return (this.#conn = conn);
  }

  /** Counts calls in progress; with `idleClose`, the last one done closes the connections. */
  #busyDelta(n: 1 | -1): void {
    this.#busy += n;
    clearTimeout(this.#idle);
    if (this.#busy === 0 && this.#idleClose) {
      // A moment later, so a script's next call in a loop reuses the connections.
      this.#idle = setTimeout(() => void this.#closeConnections(), 100);
      this.#idle.unref();
    }
  }

  #queue(app: string, fn: string): FunctionQueue {
    const key = `${app}/${fn}`;
    let q = this.#queues.get(key);
    if (!q) {
      const prefix = queuePrefix(app);
      const queue = new Queue(fn, { connection: this.#redis, prefix });
      // Its own connection: QueueEvents blocks on it (XREAD).
      const events = new QueueEvents(fn, { connection: { ...connectionOptions(this.url), maxRetriesPerRequest: null }, prefix });
      events.on("error", () => {});
      events.on("completed", ({ jobId, returnvalue }) => {
        this.#settle(jobId)?.resolve(decodeValue(returnvalue as unknown as string));
      });
      events.on("failed", ({ jobId, failedReason }) => {
        const w = this.#settle(jobId);
        w?.reject(decodeError(failedReason, w.fn));
      });
      // Listening before any call is added: a result published later is never missed.
      q = { queue, events, ready: events.waitUntilReady() };
      this.#queues.set(key, q);
    }
    return q;
  }

  #settle(id: string): Waiter | undefined {
    const w = this.#waiters.get(id);
    if (!w) return undefined;
    this.#waiters.delete(id);
    clearTimeout(w.timer);
    this.#busyDelta(-1);
    return w;
  }

  /** Waits for call `id`'s result (registered before the call can finish, so none is missed). */
  #wait(id: string, fn: string, ttlMs: number | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { fn, id, resolve, reject };
      if (ttlMs !== undefined) {
        w.timer = setTimeout(() => {
          this.#settle(id)?.reject(
            new UserError(
              "E_FUNCTION_FAILED",
              `function "${fn}": no result within ${Math.round(ttlMs / 1000)}s (call ${id})`,
              `is a replica consuming its queue (\`nodal start APP_FILE --only ${fn} --cluster ${redact(this.url)}\`)?`,
            ),
          );
        }, ttlMs);
      }
      this.#waiters.set(id, w);
      this.#busyDelta(1);
    });
  }

  async #add(app: string, fn: string, args: unknown[], id: string): Promise<void> {
    const data = { args: encodeValue(args, `function "${fn}": an argument`) };
    const q = this.#queue(app, fn);
    this.#busyDelta(1);
    try {
      await q.ready;
      await q.queue.add(fn, data, {
        jobId: id,
        attempts: MAX_ATTEMPTS,
        backoff: { type: "nodal" },
        removeOnComplete: { age: KEEP_RESULTS_SEC },
        removeOnFail: { age: KEEP_RESULTS_SEC },
      });
    } finally {
      this.#busyDelta(-1);
    }
  }

  /** One call of `fn` of `app`, by whichever replica takes it; `ttlMs` bounds the wait. `id`: the call's, when its caller has one. */
  async call(app: string, fn: string, args: unknown[], ttlMs?: number, id = newCallId(app, fn)): Promise<unknown> {
    const result = this.#wait(id, fn, ttlMs);
    try {
      await this.#add(app, fn, args, id);
    } catch (error) {
      this.#settle(id);
      throw error;
    }
    return result;
  }

  /** Starts a call and returns its id (results are kept `KEEP_RESULTS_SEC`). */
  async spawn(app: string, fn: string, args: unknown[]): Promise<string> {
    const id = newCallId(app, fn);
    await this.#add(app, fn, args, id);
    return id;
  }

  /** The result of call `id`, waiting for it when it is not done. */
  async result(id: string): Promise<unknown> {
    const named = parseCallId(id);
    if (!named) throw new NotFoundError(`"${id}" is not the id of a function call`);
    const existing = this.#waiters.get(id);
    if (existing) return new Promise((resolve, reject) => this.#chain(existing, resolve, reject));
    const q = this.#queue(named.app, named.fn);
    this.#busyDelta(1);
    try {
      await q.ready;
    } finally {
      this.#busyDelta(-1);
    }
    const result = this.#wait(id, named.fn, undefined);
    // Already finished (or gone)? Checked after listening, so a result published meanwhile is not missed.
    const job = await Job.fromId(q.queue, id);
    if (!job) {
      this.#settle(id)?.reject(new NotFoundError(`no function call ${id} (results are kept for ${KEEP_RESULTS_SEC / 3600} hours)`));
    } else if (job.finishedOn) {
      const w = this.#settle(id);
      if (job.failedReason && job.returnvalue == null) w?.reject(decodeError(job.failedReason, named.fn));
      else w?.resolve(decodeValue(job.returnvalue as string));
    }
    return result;
  }

  #chain(w: Waiter, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const [res, rej] = [w.resolve, w.reject];
    w.resolve = (v) => (res(v), resolve(v));
    w.reject = (e) => (rej(e), reject(e));
  }

  /** Closes the connections (at most a second's wait: Redis may be away). */
  async close(): Promise<void> {
    clearTimeout(this.#idle);
    await this.#closeConnections();
  }

  async #closeConnections(): Promise<void> {
    const queues = [...this.#queues.values()];
    const conn = this.#conn;
    this.#queues.clear();
    this.#conn = undefined;
    const closing = Promise.all(queues.flatMap((q) => [q.queue.close(), q.events.close()]));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing.catch(() => {}), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    for (const q of queues) void q.events.disconnect().catch(() => {});
    conn?.disconnect();
  }
}

/** ioredis options from a `redis://[user:pass@]host:port[/db]` URL (QueueEvents needs its own connection). */
export function connectionOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number } {
  const u = new URL(url);
  if (u.protocol !== "redis:") throw new UserError("E_INVALID_INPUT", `--cluster: expected a redis://HOST:PORT URL, got "${redact(url)}"`);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
  };
}

/** A Redis URL for messages: its password never printed. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(malformed URL)";
  }
}

let shared: ClusterClient | undefined;

/** The process's client for `NODAL_CLUSTER` (SDK calls made outside the engine share it). */
export function sharedClient(url: string): ClusterClient {
  if (!shared || shared.url !== url) shared = new ClusterClient(url, { idleClose: true });
  return shared;
}
