import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { controlSocketPath as socketPath } from "../registry/sockets.js";
import { LineSplitter } from "./lines.js";
import type { WireError } from "./protocol.js";
import { toWire } from "./protocol.js";

/** The owner-only socket through which the CLI talks to a running app. */
export function controlSocketPath(appId: string): string {
  return socketPath(appId);
}

export type ControlHandler = (op: string, body: Record<string, unknown>) => Promise<unknown>;

/**
 * Serves newline-delimited JSON requests `{ id, op, ...body }` on a Unix socket in an 0700
 * directory (the socket itself is chmod 0600 too); each gets `{ id, ok, result | error }`.
 */
export async function serveControl(path: string, handle: ControlHandler): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    const splitter = new LineSplitter();
    socket.on("data", (chunk) => {
      for (const line of splitter.push(chunk)) {
        let req: { id: number; op: string } & Record<string, unknown>;
        try {
          req = JSON.parse(line);
        } catch {
          continue;
        }
        handle(req.op, req).then(
          (result) => socket.writable && socket.write(JSON.stringify({ id: req.id, ok: true, result }) + "\n"),
          (error) => socket.writable && socket.write(JSON.stringify({ id: req.id, ok: false, error: toWire(error) }) + "\n"),
        );
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}

/** An error answered by the app, carrying its remote name, code and hint. */
export class ControlError extends Error {
  readonly wire: WireError;
  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name;
    this.wire = wire;
  }
}

/** One request to a running app; rejects with `ControlError` or a connection error (ENOENT, ECONNREFUSED). */
export function controlRequest<T = unknown>(path: string, op: string, body: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = createConnection(path);
    const splitter = new LineSplitter();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the app within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(JSON.stringify({ id: 1, op, ...body }) + "\n"));
    socket.on("data", (chunk) => {
      for (const line of splitter.push(chunk)) {
        const res = JSON.parse(line) as { ok: boolean; result?: T; error?: WireError };
        clearTimeout(timer);
        socket.end();
        if (res.ok) resolve(res.result as T);
        else reject(new ControlError(res.error!));
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new Error("the app closed the connection without answering"));
    });
  });
}
