/**
 * The worker process: loads one build of the app, then serves one web function (connections
 * handed over by the engine, which keeps the port) or runs calls of one function.
 * A spare worker boots this file ahead of time and waits for `load`, so a reload does not pay
 * Node's start-up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { describeApp, findApp, type Discovered } from "../loader/discover.js";
import { importModule } from "./import-module.js";
import { App, Function_, WebFunction } from "../sdk/app.js";
import { fromWire, toWire } from "../errors.js";
import { setRuntime, setServing } from "../sdk/runtime.js";
import type { FromWorker, ToWorker } from "./protocol.js";
import { isCloneError, Outbox, STATS_BATCH_MS, STATS_SAMPLE } from "./protocol.js";
import { processTree, signalMembers, stillAlive } from "./process-tree.js";
import { sampleInto } from "../metrics/sample.js";

process.setSourceMapsEnabled(true);
// Blocking writes to the engine's pipes: a line printed just before process.exit() or a
// crash is never left in a user-space buffer, and a burst is paced by the engine reading it
// instead of piling up in this process. (Node makes pipe writes asynchronous otherwise.)
for (const stream of [process.stdout, process.stderr]) {
  (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => void } })._handle?.setBlocking?.(true);
}

/** Calls' results and remote calls: sent at the end of this turn, with the others (see `Outbox`). */
const outbox = new Outbox<FromWorker>((msg) => void (process.connected && process.send!(msg)));
/** Sends `msg` now, after whatever the outbox holds (so order is kept). */
const send = (msg: FromWorker) => {
  outbox.flush();
  process.send!(msg);
};
let found: Discovered | undefined;
let server: Server | undefined;
let draining = false;
/** Each connection handed over, and the last request on it (answering while not finished) since when. */
interface SocketState {
  res?: ServerResponse;
  since?: number;
}
const busy = (state: SocketState): boolean => state.res !== undefined && !state.res.writableFinished;
const sockets = new Map<Socket, SocketState>();
/**
 * When this worker last had work: a connection handed over, a request begun, or one seen in
 * flight by the once-a-second check (a request's end is not timed, to keep requests cheap; the
 * check bounds the error to a second).
 */
let lastActive = performance.now();

/** How long the processes this worker started get between SIGTERM and SIGKILL when it exits. */
const CHILDREN_GRACE_MS = 1000;
let exiting = false;

/**
 * Exits, ending first every process this worker started (its process group, which it leads,
 * and descendants that left the group): they must not outlive the app. SIGTERM, a short
 * grace, then SIGKILL.
 */
async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  outbox.flush();
  flushStats();
  const tree = processTree(process.pid);
  if (tree.length) {
    signalMembers(tree, "SIGTERM");
    const deadline = Date.now() + CHILDREN_GRACE_MS;
    while (stillAlive(tree).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  process.exit(code);
}
// Whichever way the process ends (app code calling process.exit too), what is left goes now.
process.on("exit", () => signalMembers(processTree(process.pid), "SIGKILL"));
// The engine's stop; the engine escalates to SIGKILL on the group if this takes too long.
process.on("SIGTERM", () => void exit(0));
// The engine holds our only reason to live: when it goes (even by kill -9), we go.
process.on("disconnect", () => void exit(0));

let nextRemote = 1;
const remoteWaiters = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
/** A request to the engine (`remote`, `spawn`), answered by a `remote-result` message. */
function askEngine(t: "remote" | "spawn", fn: string, args: unknown[]): Promise<unknown> {
  const id = nextRemote++;
  return new Promise((resolve, reject) => {
    remoteWaiters.set(id, { resolve, reject });
    outbox.post({ t, id, fn, args }, (error) => {
      remoteWaiters.delete(id);
      reject(cloneError(fn, error));
    });
  });
}
setRuntime({
  call: (fn, args) => askEngine("remote", fn, args),
  spawn: (fn, args) => askEngine("spawn", fn, args) as Promise<string | undefined>,
});

function cloneError(fn: string, error: unknown): Error {
  if (isCloneError(error)) {
    return new TypeError(`function "${fn}": an argument cannot cross a process boundary (${(error as Error).message})`);
  }
  return error as Error;
}

async function load(msg: Extract<ToWorker, { t: "load" }>): Promise<void> {
  Object.assign(process.env, msg.env);
  const mod = await importModule(pathToFileURL(msg.bundle).href);
  found = findApp(mod, msg.file, msg.selector);
  send({ t: "loaded", manifest: describeApp(mod, found) });
}

function fnNamed(name: string) {
  const fn = found?.app.functions.find((f) => f.hasName && f.name === name);
  if (!fn) throw new Error(`no function "${name}" in this build`);
  return fn;
}

async function start(name: string): Promise<void> {
  const fn = fnNamed(name);
  const volumes = (fn.options as { volumes?: Record<string, { name: string }> }).volumes ?? {};
  setServing(name, Object.values(volumes).map((v) => v.name));
  if (!(fn instanceof WebFunction)) {
    send({ t: "ready" });
    return;
  }
  const listener = await fn.factory();
  if (typeof listener !== "function") {
    throw new TypeError(`web function "${name}": the factory must return an express app or a (req, res) listener, got ${typeof listener}`);
  }
  // A request may run for the function's `timeout` (seconds, as in Modal); then it gets a 504
  // (or, when the answer had begun, its connection is cut) and the worker goes on serving.
  // One timer checks every request in flight, rather than a timer per request: a request notes
  // itself on its connection's state, and one shared "finish" listener counts it (see `counted`).
  const timeoutMs = ((fn.options as { timeout?: number }).timeout ?? 300) * 1000;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const state = sockets.get(req.socket);
    if (state) {
      state.res = res;
      state.since = lastActive = performance.now();
    }
    if (counting) res.on("finish", counted);
    if (draining) res.shouldKeepAlive = false;
    return listener(req, res);
  });
  const timeOut = (res: ServerResponse) => {
    const req = res.req;
    console.error(`[nodal] ${req.method} ${req.url} passed the ${timeoutMs / 1000}s timeout of "${name}"`);
    if (res.headersSent) return void res.destroy();
    res.writeHead(504, { "content-type": "application/json; charset=utf-8", connection: "close" });
    res.end(JSON.stringify({ error: `request timed out after ${timeoutMs / 1000}s` }));
  };
  setInterval(() => {
    const now = performance.now();
    for (const state of sockets.values()) {
      if (busy(state) || !state.res) lastActive = now;
      if (state.res && !state.res.writableEnded && !state.res.destroyed && now - state.since! >= timeoutMs) timeOut(state.res);
    }
  }, Math.min(1000, timeoutMs / 4)).unref();
  lastActive = performance.now();
  send({ t: "ready" });
}

/**
 * Request figures, counted here and sent to the engine in batches (one message per
 * `STATS_BATCH_MS` at most, none while idle), not a message per request. Durations travel as a
 * uniform sample of at most `STATS_SAMPLE` a batch (reservoir sampling): quantiles from it are
 * as good, and the engine's quantile estimator does not pay per request (at tens of thousands
 * of requests a second, it cost the request path a quarter of its throughput on two cores).
 */
const batch = { requests: 0, errors: 0, durations: [] as number[] };
/**
 * Whether requests are counted: no "finish" listener and no stats messages when not. Off when
 * the engine records nothing (a pod's: `start` says so), or with `NODAL_METRICS=off` in the
 * environment the app is started with (so a benchmark can measure what counting costs), read
 * once from the environment the worker was started with, not from an app's secrets.
 */
let counting = process.env.NODAL_METRICS !== "off";
let batchTimer: NodeJS.Timeout | undefined;
/**
 * A "finish" listener shared by every response (`this` is the response): no closure per
 * request. Its start is the one its connection's state noted (a connection answers one
 * request at a time).
 */
function counted(this: ServerResponse): void {
  const n = ++batch.requests;
  if (this.statusCode >= 500) batch.errors++;
  const since = sockets.get(this.req.socket)?.since;
  if (since !== undefined) sampleInto(batch.durations, n, STATS_SAMPLE, performance.now() - since);
  batchTimer ??= setTimeout(flushStats, STATS_BATCH_MS);
}
function flushStats(): void {
  batchTimer = undefined;
  if (batch.requests === 0 || !process.connected) return;
  send({ t: "stats", requests: batch.requests, errors: batch.errors, durations: batch.durations });
  batch.requests = 0;
  batch.errors = 0;
  batch.durations = [];
}

function accept(socket: Socket): void {
  if (!server) return void socket.destroy();
  sockets.set(socket, {});
  lastActive = performance.now();
  socket.on("close", () => {
    sockets.delete(socket);
    if (draining && sockets.size === 0) void exit(0);
  });
  server.emit("connection", socket);
  socket.resume();
}

/**
 * Stop taking work and exit once every connection is done. On a version swap idle keep-alive
 * connections are left to the server's keep-alive timeout (which clients are told about)
 * rather than cut, so a client never races a request against our close; on a stop
 * (`closeIdle`) they are closed at once.
 */
function drain(graceMs: number, closeIdle: boolean): void {
  draining = true;
  for (const [socket, state] of sockets) {
    // A connection answering a request closes once the answer is out; an idle one now, or
    // (a version swap) when its keep-alive runs out.
    if (busy(state)) state.res!.once("finish", () => socket.end());
    else if (closeIdle) socket.destroy();
  }
  if (sockets.size === 0) void exit(0);
  setTimeout(() => void exit(0), graceMs).unref();
}

async function call(id: number, fnName: string, args: unknown[]): Promise<void> {
  let reply: FromWorker;
  try {
    const fn = fnNamed(fnName);
    if (!(fn instanceof Function_)) throw new TypeError(`"${fnName}" is a web function; call it over HTTP`);
    reply = { t: "result", id, ok: true, value: await fn.handler(...args) };
  } catch (error) {
    reply = { t: "result", id, ok: false, error: toWire(error) };
  }
  outbox.post(reply, (error) => {
    const why = new TypeError(`function "${fnName}": its result cannot cross a process boundary (${error.message})`);
    outbox.post({ t: "result", id, ok: false, error: toWire(why) }, () => {});
  });
}

async function entrypoint(id: number, argv: string[]): Promise<void> {
  try {
    const handler = (found?.app as App | undefined)?.localEntrypointHandler;
    if (!handler) throw new Error("the app has no local entrypoint");
    const value = await handler(argv);
    send({ t: "result", id, ok: true, value: value === undefined ? undefined : structuredCloneSafe(value) });
  } catch (error) {
    send({ t: "result", id, ok: false, error: toWire(error) });
  }
}

function structuredCloneSafe(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return String(v);
  }
}

process.on("message", (msg: ToWorker, handle?: Socket) => onMessage(msg, handle));

function onMessage(msg: ToWorker, handle?: Socket): void {
  const fail = (error: unknown) => send({ t: "failed", error: toWire(error) });
  switch (msg.t) {
    case "batch":
      for (const m of msg.msgs) onMessage(m);
      return;
    case "preload":
      // Warm the module cache with the packages the last build imported; failures show up at load.
      for (const m of msg.modules) importModule(pathToFileURL(m).href).catch(() => {});
      return;
    case "load":
      return void load(msg).catch(fail);
    case "start":
      if (msg.count === false) counting = false;
      return void start(msg.fn).catch(fail);
    case "conn":
      return handle ? accept(handle) : undefined;
    case "call":
      return void call(msg.id, msg.fn, msg.args);
    case "entrypoint":
      return void entrypoint(msg.id, msg.argv);
    case "remote-result": {
      const waiter = remoteWaiters.get(msg.id);
      remoteWaiters.delete(msg.id);
      if (msg.ok) waiter?.resolve(msg.value);
      else waiter?.reject(fromWire(msg.error!));
      return;
    }
    case "drain":
      return drain(msg.graceMs, msg.closeIdle);
    case "activity": {
      let inFlight = 0;
      // A connection that has not sent its first request yet (or was taken over by an upgrade)
      // counts as work: the worker is not idle while a client holds it open without a request.
      for (const state of sockets.values()) if (busy(state) || !state.res) inFlight++;
      const now = performance.now();
      if (inFlight > 0) lastActive = now;
      return send({ t: "activity", inFlight, idleMs: Math.round(now - lastActive) });
    }
  }
}

send({ t: "hello" });
