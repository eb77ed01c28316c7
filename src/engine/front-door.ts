import { createServer, type Server, type Socket } from "node:net";
import { UserError } from "../errors.js";
import type { Worker } from "./worker.js";

const MAX_QUEUED = 1024;
const SCAN_LIMIT = 200;

/**
 * The listening port of one web function. The engine, not the workers, holds it: each
 * connection is accepted here and handed to a worker of the active version, so swapping
 * versions never closes the port and no connection is refused. While no worker is ready
 * (start-up, a restart after a crash) connections wait in a bounded queue.
 */
export class FrontDoor {
  readonly fn: string;
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  #active: Worker[] = [];
  #next = 0;
  #queue: Socket[] = [];

  private constructor(fn: string, host: string, server: Server) {
    this.fn = fn;
    this.host = host;
    this.#server = server;
    this.port = (server.address() as { port: number }).port;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Binds `port` exactly when `pinned`, else the first free port from `port` up. */
  static async open(fn: string, host: string, port: number, pinned: boolean): Promise<FrontDoor> {
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
        return new FrontDoor(fn, host, server);
      }
      if (error.code !== "EADDRINUSE" || pinned) {
        throw new UserError(
          "E_PORT_IN_USE",
          error.code === "EADDRINUSE"
            ? `port ${p} on ${host} is in use (wanted by web function "${fn}")`
            : `cannot listen on ${host}:${p} for web function "${fn}": ${error.message}`,
          `pass another --port, or stop what holds it (\`nodal app list\` shows nodal's own apps)`,
        );
      }
    }
    throw new UserError("E_PORT_IN_USE", `no free port from ${port} to ${last} on ${host}`, "pass --port to start elsewhere");
  }

  get url(): string {
    return `http://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Routes new connections to `workers` from now on; queued connections go first. */
  setActive(workers: Worker[]): void {
    this.#active = workers;
    const queued = this.#queue;
    this.#queue = [];
    for (const socket of queued) this.#accept(socket);
  }

  /** Stops routing to a worker that died; its connections queue until a replacement arrives. */
  remove(worker: Worker): void {
    this.#active = this.#active.filter((w) => w !== worker);
  }

  #accept(socket: Socket): void {
    for (let tries = this.#active.length; tries > 0; tries--) {
      const worker = this.#active[this.#next++ % this.#active.length]!;
      if (worker.send({ t: "conn" }, socket)) return;
    }
    if (socket.destroyed) return;
    if (this.#queue.length >= MAX_QUEUED) return void socket.destroy();
    this.#queue.push(socket);
    socket.once("close", () => {
      this.#queue = this.#queue.filter((s) => s !== socket);
    });
  }

  /** Stops listening and drops queued connections; handed-over connections are the workers'. */
  async close(): Promise<void> {
    for (const s of this.#queue) s.destroy();
    this.#queue = [];
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
