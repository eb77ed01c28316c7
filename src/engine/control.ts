import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { fromWire, toWire, UserError, type WireError } from "../errors.js";
import { controlSocketPath as socketPath } from "../registry/sockets.js";
import { LineSplitter } from "./lines.js";
import type { AppStatus, PublicManifest } from "./status.js";
import type { CallRecord } from "./call-log.js";
import type { SpawnedRecord } from "./spawned.js";
import type { AppStats } from "../metrics/app-metrics.js";

/** The owner-only socket through which the CLI talks to a running app. */
export function controlSocketPath(appId: string): string {
  return socketPath(appId);
}

/**
 * Every operation a running app (a serve session or a deployed supervisor) answers on its
 * control socket: op → { request, response }. The host implements `ControlHandlers`, which
 * the compiler checks for exhaustiveness; clients call `controlRequest(path, op, request)`.
 */
export interface ControlOps {
  /** Is it there? */
  ping: { request: Record<string, never>; response: { pid: number } };
  /** Write the instance's registry record again (it was found damaged); answers its id. */
  record: { request: Record<string, never>; response: { id: string } };
  /** What runs: functions, workers, schedules, health (`app show`). */
  status: { request: Record<string, never>; response: AppStatus };
  /** Boot a spare worker now: a deploy is about to swap a version in. */
  warm: { request: Record<string, never>; response: Record<string, never> };
  /** Run a function (`Function.fromName(…).remote()`); arguments and result are v8-serialized, base64. */
  call: { request: { fn: string; args: string }; response: { value: string } };
  /**
   * `nodal app run`: runs a function in the app's own workers; a scheduled one as a tick of its
   * schedule (recorded, shown as its last run). `args` and the result are v8-serialized, base64.
   */
  run: { request: { fn: string; args: string }; response: { value: string; runId?: string } };
  /** `.spawn()` from a script: starts a stored call of `fn` and answers its id. `args` v8-serialized, base64. */
  spawn: { request: { fn: string; args: string }; response: { id: string } };
  /**
   * A stored call's record, once it ended or after `waitMs` (whichever first). `running`: this
   * instance still runs it (a record left running by an instance that is gone is not).
   */
  callResult: { request: { id: string; waitMs: number }; response: { record?: SpawnedRecord; running: boolean } };
  /** Stops a running stored call (its worker is stopped); `cancelled`: it was running here. */
  cancel: { request: { id: string }; response: { cancelled: boolean } };
  /** The app's recent calls, oldest first (`nodal app calls`); only those of `fn` when given. */
  calls: { request: { fn?: string }; response: { calls: CallRecord[] } };
  /**
   * Per function calls, errors, latency, in-flight, workers' memory and CPU; per schedule its
   * recent runs (`app show --json` stats, the dashboard). `prometheus`: also the text format.
   */
  metrics: { request: { prometheus?: boolean }; response: { stats: AppStats; prometheus?: string } };
  /**
   * Graceful stop: work in flight finishes within its function's timeout, or `graceMs` when
   * shorter. Answers how long that may take at most.
   */
  stop: { request: { graceMs?: number }; response: { stopping: true; graceMs: number } };
  /** Swap to a stored version (redeploy, rollback) with zero failed requests. `expectName`: refuse another App. */
  activate: { request: { version: number; expectName?: string }; response: { urls: Record<string, string>; version: number; manifest: PublicManifest } };
  /**
   * New workers for the current version, re-reading secrets and packages. `ifSecretsChanged`:
   * only when the declared secrets' values changed (an unchanged redeploy).
   */
  rollover: { request: { ifSecretsChanged?: boolean }; response: { rolled: boolean; version: number; urls: Record<string, string> } };
}

export type ControlOp = keyof ControlOps;
export type ControlRequest<K extends ControlOp> = ControlOps[K]["request"];
export type ControlResponse<K extends ControlOp> = ControlOps[K]["response"];
export type ControlHandlers = { [K in ControlOp]: (request: ControlRequest<K>) => Promise<ControlResponse<K>> };

interface Envelope {
  id: number;
  op: string;
  request: unknown;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

/**
 * Serves newline-delimited JSON requests `{ id, op, request }` on a Unix socket in an 0700
 * directory (the socket itself is chmod 0600 too); each gets `{ id, ok, result | error }`,
 * errors in the one wire format.
 */
export async function serveControl(path: string, handlers: ControlHandlers): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    const splitter = new LineSplitter();
    const reply = (r: Reply) => socket.writable && socket.write(JSON.stringify(r) + "\n");
    socket.on("data", (chunk) => {
      for (const line of splitter.push(chunk)) {
        let req: Envelope;
        try {
          req = JSON.parse(line) as Envelope;
        } catch {
          continue;
        }
        const handler = Object.hasOwn(handlers, req.op) ? (handlers[req.op as ControlOp] as (r: unknown) => Promise<unknown>) : undefined;
        const run = handler
          ? Promise.resolve().then(() => handler(req.request ?? {}))
          : Promise.reject(new UserError("E_INVALID_INPUT", `unknown operation "${req.op}"`, "the CLI and the running app are different nodal versions; redeploy the app"));
        run.then(
          (result) => reply({ id: req.id, ok: true, result }),
          (error) => reply({ id: req.id, ok: false, error: toWire(error) }),
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

/** The app's supervisor is gone or went away mid-request: a user error, not a bug. */
function unreachable(what: string, op: string): UserError {
  return new UserError(
    "E_APP_UNREACHABLE",
    `the app did not answer "${op}": ${what}`,
    "it may have stopped or crashed meanwhile; see `nodal app list` and `nodal app logs NAME`",
  );
}

/**
 * One request to a running app. Rejects with the app's own error as `fromWire` makes it (a
 * `UserError` for user errors), or with an `E_APP_UNREACHABLE` user error when nothing answers
 * (`err.cause` holds the socket error: ENOENT, ECONNREFUSED).
 */
export function controlRequest<K extends ControlOp>(path: string, op: K, request: ControlRequest<K>, timeoutMs = 60_000): Promise<ControlResponse<K>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const splitter = new LineSplitter();
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(unreachable(`no answer within ${timeoutMs} ms`, op))), timeoutMs);
    socket.on("connect", () => socket.write(JSON.stringify({ id: 1, op, request } satisfies Envelope) + "\n"));
    socket.on("data", (chunk) => {
      for (const line of splitter.push(chunk)) {
        const res = JSON.parse(line) as Reply;
        settle(() => (res.ok ? resolve(res.result as ControlResponse<K>) : reject(fromWire(res.error))));
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) =>
      settle(() => reject(Object.assign(unreachable(e.code === "ENOENT" || e.code === "ECONNREFUSED" ? "it is not running" : e.message, op), { cause: e }))),
    );
    socket.on("close", () => settle(() => reject(unreachable("it closed the connection without answering", op))));
  });
}
