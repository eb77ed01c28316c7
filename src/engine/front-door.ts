import { createServer, type Server, type Socket } from "node:net";
import { UserError } from "../errors.js";
import type { Worker } from "./worker.js";

const MAX_QUEUED = 1024;

/**
 * The first port unpinned web functions try (the next free one from there up): 8000, or
 * NODAL_BASE_PORT (a machine where 8000 and up belong to something else; test runs that must
 * not take each other's ports).
 */
export function basePort(): number {
  const n = Number(process.env.NODAL_BASE_PORT);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : 8000;
}
const SCAN_LIMIT = 200;

/**
 * How long a connection waits for a worker (the first start, a restart after a crash) before
 * it is answered 503: long enough to ride out a restart early in a crash loop, short enough
 * that a client never hangs on an app that cannot start. NODAL_NO_WORKER_WAIT_MS overrides it.
 */
const NO_WORKER_WAIT_MS = 10_000;

/** What the front door needs of a worker: handing it a connection. */
export type DoorWorker = Pick<Worker, "send">;

export interface DoorOptions {
  /** How long a connection may wait for a worker before its 503 (default: NO_WORKER_WAIT_MS). */
  waitMs?: number;
}

function defaultWaitMs(): number {
  const env = Number(process.env.NODAL_NO_WORKER_WAIT_MS);
  return Number.isFinite(env) && env >= 0 ? env : NO_WORKER_WAIT_MS;
}

/**
 * The listening port of one web function. The engine, not the workers, holds it: each
 * connection is accepted here and handed to a worker of the active version, so swapping
 * versions never closes the port and no connection is refused. While no worker is ready
 * (start-up, a restart after a crash) connections wait in a bounded queue, each for a bounded
 * time, then get a 503.
 */
export class FrontDoor {
  readonly fn: string;
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #waitMs: number;
  #active: DoorWorker[] = [];
  #next = 0;
  #queue = new Map<Socket, NodeJS.Timeout>();
  #onWaiting: (() => void) | undefined;

  private constructor(fn: string, host: string, server: Server, opts: DoorOptions) {
    this.fn = fn;
    this.host = host;
    this.#server = server;
    this.#waitMs = opts.waitMs ?? defaultWaitMs();
    this.port = (server.address() as { port: number }).port;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Binds `port` exactly when `pinned`, else the first free port from `port` up. */
  static async open(fn: string, host: string, port: number, pinned: boolean, opts: DoorOptions = {}): Promise<FrontDoor> {
    const last = pinned ? port : Math.min(port + SCAN_LIMIT, 65535);
    for (let p = port; p <= last; p++) {
      const server = createServer({ pauseOnConnect: true });
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once("error", resolve);
        server.listen({ port: p, host, exclusive: true }, () => resolve(undefined));
      });
      if (!error) {
        server.removeAllListeners("error");
        server.on("error", () => {});
        return new FrontDoor(fn, host, server, opts);
      }
      if (error.code !== "EADDRINUSE" || pinned) {
        throw new UserError(
          "E_PORT_IN_USE",
          error.code === "EADDRINUSE"
            ? `port ${p} on ${host} is in use (wanted by web function "${fn}")`
            : `cannot listen on ${host}:${p} for web function "${fn}": ${error.message}`,
          `stop what holds it (\`nodal app list\` shows nodal's own apps)`,
        );
      }
    }
    throw new UserError("E_PORT_IN_USE", `no free port from ${port} to ${last} on ${host}`, "pass --port to start elsewhere");
  }

  get url(): string {
    return `http://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Connections waiting for a worker. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Routes new connections to `workers` from now on; queued connections go first. */
  setActive(workers: DoorWorker[]): void {
    this.#active = [...workers];
    const queued = [...this.#queue];
    this.#queue.clear();
    for (const [socket, timer] of queued) {
      clearTimeout(timer);
      this.#accept(socket);
    }
  }

  /**
   * Called whenever a connection starts waiting because no worker is active: a function scaled
   * to zero starts one then, and the connection waits for it instead of being refused.
   */
  onWaiting(listener: (() => void) | undefined): void {
    this.#onWaiting = listener;
  }

  /** Stops routing to a worker that died; its connections queue until a replacement arrives. */
  remove(worker: DoorWorker): void {
    this.#active = this.#active.filter((w) => w !== worker);
  }

  #accept(socket: Socket): void {
    for (let tries = this.#active.length; tries > 0; tries--) {
      const worker = this.#active[this.#next++ % this.#active.length]!;
      if (worker.send({ t: "conn" }, socket)) return;
    }
    if (socket.destroyed) return;
    if (this.#queue.size >= MAX_QUEUED) return this.#unavailable(socket);
    const timer = setTimeout(() => {
      this.#queue.delete(socket);
      this.#unavailable(socket);
    }, this.#waitMs);
    this.#queue.set(socket, timer);
    socket.once("close", () => {
      clearTimeout(timer);
      this.#queue.delete(socket);
    });
    if (this.#active.length === 0) this.#onWaiting?.();
  }

  /**
   * Answers a connection no worker took with a 503 and closes it. Its request is read and
   * dropped first: closing a socket with unread data sends a reset, which may reach the client
   * before the answer does.
   */
  #unavailable(socket: Socket): void {
    const body = JSON.stringify({ error: `web function "${this.fn}" has no worker ready; try again shortly` });
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.resume();
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(
      "HTTP/1.1 503 Service Unavailable\r\n" +
        "content-type: application/json; charset=utf-8\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        "retry-after: 1\r\n" +
        "connection: close\r\n\r\n" +
        body,
    );
  }

  /**
   * Stops listening, freeing the port before it resolves, and drops queued connections;
   * handed-over connections are the workers'.
   */
  async close(): Promise<void> {
    for (const [socket, timer] of this.#queue) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.#queue.clear();
    // Not `close(callback)`: once a server has handed a socket to a child process with
    // child.send() and every such child has exited, Node never calls that callback (in
    // lib/net.js, Server.close polls its `_workers`, finds none left, and so never reaches
    // `_emitCloseIfDrained`; seen on Node 20, 22 and 24). Closing the handle is what frees
    // the port, and that happens synchronously here.
    if (this.#server.listening) this.#server.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
