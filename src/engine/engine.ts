import type { BuildOutput } from "../loader/build.js";
import type { AppManifest, FunctionSpec } from "../loader/manifest.js";
import { toWire, UserError } from "../errors.js";
import { Backoff } from "./backoff.js";
import { CallLog } from "./call-log.js";
import { FrontDoor } from "./front-door.js";
import { CallCutOffError, FunctionPool, retryDelaySec, type CallOptions } from "./function-pool.js";
import { toLoadError } from "./load-error.js";
import { maskSecrets, secretNeedles } from "./lines.js";
import { storedSecretValues } from "../registry/secrets.js";
import type { FromWorker, ToWorker } from "./protocol.js";
import type { WebHealth, WorkerStatus } from "./status.js";
import { SparePool } from "./spares.js";
import { Scaler, type ScaleGroup } from "./scaler.js";
import { Worker, WorkerError, type MemoryExceeded, type Stream } from "./worker.js";
import { collectSoon } from "./collect.js";
import type { SpawnedCalls } from "./spawned.js";
import { AppMetrics } from "../metrics/app-metrics.js";

/** Lines a function printed (one read from its worker's pipe), tagged with where they came from. */
export interface LogEntry {
  time: Date;
  function: string;
  worker: string;
  stream: Stream;
  lines: string[];
}

/** Lifecycle events the engine reports (printed by serve, logged by the supervisor). */
export type EngineEvent =
  | { type: "worker-exit"; fn: string; worker: string; code: number | null; signal: string | null; restartInMs: number; memory?: MemoryExceeded }
  | { type: "memory-exceeded"; fn: string; worker: string; memory: MemoryExceeded }
  | { type: "worker-restarted"; fn: string; worker: string }
  | { type: "worker-restart-failed"; fn: string; error: string }
  | { type: "call-cut-off"; fn: string; call: string; retrying: boolean }
  | { type: "scaled-down"; fn: string; worker: string; idleSec: number; left: number }
  | { type: "scaled-up"; fn: string; worker: string; ms: number }
  | { type: "scale-up-failed"; fn: string; error: string };

export interface EngineOptions {
  /** The app file, as the user named it (for messages and discovery errors). */
  file: string;
  /** `FILE::selector`: an App export or a function export. */
  selector?: string;
  host: string;
  /** Unpinned ports are the first free ones from here up. */
  basePort: number;
  /** `--port`: the first web function's port, exactly. */
  pinnedPort?: number;
  /** Start web functions and bind their ports (`nodal run` does not). */
  serveWeb: boolean;
  /** Serve only these web functions (`nodal start --only`); default: all. */
  only?: string[];
  /** Workers forked before the engine (a supervisor forks its first one before loading nodal). */
  adoptSpares?: Worker[];
  /**
   * Stop workers idle for their function's `scaledownWindow`, down to `minContainers` (deployed
   * apps and `nodal start`); `nodal serve` keeps its workers warm.
   */
  scaleToZero?: boolean;
  /** Boot spare workers ahead of time (serve and deploy do; `nodal run` does not). */
  spares: number;
  /**
   * Makes a worker process (tests pass fakes); default: a real `Worker` in `cwd`. `memoryMiB`:
   * for a function with a `memory` limit (such a worker is never a spare).
   */
  newWorker?: (opts?: { memoryMiB?: number }) => Worker;
  cwd?: string;
  onLog: (entry: LogEntry) => void;
  onEvent?: (event: EngineEvent) => void;
  /**
   * Where calls of functions this engine does not run go (`nodal start --cluster`: a Redis
   * queue that other pods consume). Default: every function runs in a local pool.
   */
  calls?: CallTransport;
  /**
   * Keeps the call log and the call and request metrics (default), which `app calls`, `app
   * show` and the dashboard read through the control socket. A container (`nodal start`) has
   * no control socket: nothing would ever read them, so it keeps neither.
   */
  recordCalls?: boolean;
}

/** The call seam: a function's calls run in the engine's local pool, or through a transport. */
export interface CallTransport {
  /** True when `fn`'s calls go through this transport (it gets no local pool). */
  handles(fn: string): boolean;
  /** An id for a call of `fn`: the engine records the call under it, and passes it to `call`. */
  newCallId(app: string, fn: string): string;
  call(app: string, spec: FunctionSpec, args: unknown[], opts: CallOptions & { callId: string }): Promise<unknown>;
}

/** One loaded build: its manifest and the workers serving its web functions. */
export interface Version {
  n: number;
  build: BuildOutput;
  manifest: AppManifest;
  web: Map<string, Worker[]>;
}

/** What `activate` changed. */
export interface Activation {
  version: Version;
  urls: Record<string, string>;
  ms: number;
}

/** A web function's restart state: its health as shown, its backoff, the restarts under way. */
interface WebState {
  health: WebHealth;
  backoff: Backoff;
  down: Set<symbol>;
}

/**
 * Runs an app: web functions behind front doors that the engine holds, other functions in
 * worker pools, and versions swapped without refusing a request. `nodal serve` drives it in
 * the foreground from a watcher; `nodal deploy` runs the very same engine in a supervisor.
 */
export class Engine {
  readonly opts: EngineOptions;
  /** The app's recent calls (`nodal app calls`). */
  readonly calls = new CallLog();
  /** Where spawned calls are stored (set by a host with a NODAL_HOME); none: spawns stay in memory. */
  spawned: SpawnedCalls | undefined;
  /** Calls, requests, latency and in-flight per function (`app show --json` stats, the dashboard). */
  readonly metrics = new AppMetrics();
  #spares: SparePool;
  #doors = new Map<string, FrontDoor>();
  #pools = new Map<string, FunctionPool>();
  #current: Version | undefined;
  #versions = 0;
  #retiring = new Set<Promise<void>>();
  /** Workers of retired versions finishing their requests, with their grace. */
  #draining = new Map<Worker, number>();
  /** Pools of retired versions finishing their calls. */
  #closingPools = new Set<FunctionPool>();
  /** Every live worker, whatever it does (a forced stop kills them all). */
  #all = new Set<Worker>();
  #secrets: string[] = [];
  /**
   * Masking per worker. A worker loading a version holds its output (`held`) until the load
   * says which secrets that version declares: what its module's top level or a factory prints
   * is masked with them, before any line is written. Then `needles` are its own.
   */
  #masks = new WeakMap<Worker, { needles: string[]; held?: { stream: Stream; lines: string[]; time: Date }[] }>();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #web = new Map<string, WebState>();
  #scaler: Scaler | undefined;
  /** Web workers being started by the scaler, per function. */
  #scalingUp = new Map<string, number>();
  /** Web functions the scaler took to zero workers (cleared when one starts). */
  #atZero = new Set<string>();
  /** After a start for waiting requests failed: no new attempt before `at` (capped backoff). */
  #wakeRetry = new Map<string, { backoff: Backoff; at: number }>();
  #memoryStops = new Map<string, number>();
  /** Ports of web functions a reload removed: one that comes back gets its port again. */
  #retiredPorts = new Map<string, number>();
  /** Restart delays under way; a stop cuts them short. */
  #sleeps = new Set<() => void>();
  #queue: Promise<unknown> = Promise.resolve();
  #refill: NodeJS.Timeout | undefined;
  #prepared: { hash: string; worker: Worker; manifest: AppManifest } | undefined;
  /** The door `openDoorEarly` opened, until the first activation keeps or closes it. */
  #earlyDoor: FrontDoor | undefined;
  readonly #make: (opts?: { memoryMiB?: number }) => Worker;
  /** Ports to try first per function (a restarted app keeps its URLs); taken if free. */
  #preferredPorts: Record<string, number> = {};

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.#make = opts.newWorker ?? ((o) => new Worker({ ...(opts.cwd ? { cwd: opts.cwd } : {}), ...o }));
    for (const w of opts.adoptSpares ?? []) this.#adopt(w);
    this.#spares = new SparePool(opts.spares, () => this.#adopt(this.#make()), opts.adoptSpares);
    this.#spares.fill();
    if (opts.scaleToZero) this.#scaler = new Scaler();
  }

  get current(): Version | undefined {
    return this.#current;
  }

  get urls(): Record<string, string> {
    return Object.fromEntries([...this.#doors].map(([fn, d]) => [fn, d.url]));
  }

  /** Crash restarts per web function since the app started (a crash loop shows here). */
  get restartCounts(): Record<string, number> {
    return Object.fromEntries([...this.#web].filter(([, s]) => s.health.restarts > 0).map(([fn, s]) => [fn, s.health.restarts]));
  }

  /** Workers stopped over their `memory` limit since the app started, per function. */
  get memoryStops(): Record<string, number> {
    return Object.fromEntries(this.#memoryStops);
  }

  /** The health of each web function of the live version. */
  get health(): Record<string, WebHealth> {
    const fns = [...(this.#current?.web.keys() ?? [])];
    return Object.fromEntries(fns.map((fn) => [fn, { ...this.#webState(fn).health }]));
  }

  #webState(fn: string): WebState {
    let state = this.#web.get(fn);
    if (!state) this.#web.set(fn, (state = { health: { state: "ready", restarts: 0 }, backoff: new Backoff(), down: new Set() }));
    return state;
  }

  /** The longest timeout of the live version's functions: the most a stop may wait for. */
  get longestTimeoutMs(): number {
    return Math.max(0, ...(this.#current?.manifest.functions ?? []).map((f) => f.timeoutSec * 1000));
  }

  /** True once a version is live and every web function it serves has a worker up (none restarting). */
  get ready(): boolean {
    const version = this.#current;
    if (!version || this.#stopping) return false;
    return [...version.web].every(([fn, workers]) => this.#webState(fn).health.state === "ready" && (workers.some((w) => w.alive) || this.#atZero.has(fn)));
  }

  /** Every live worker of the current version, with the function it serves (spares excluded). */
  get workers(): WorkerStatus[] {
    const web = [...(this.#current?.web.values() ?? [])].flat();
    const fns = [...this.#pools.values()].flatMap((p) => p.workers);
    return [...web, ...fns].filter((w) => w.alive && w.pid).map((w) => ({ pid: w.pid!, function: w.fn ?? "?", id: w.id }));
  }

  /** A spare worker; the pool refills a moment later, off the path of whatever needed it. */
  #takeSpare(): Worker {
    const worker = this.#spares.take();
    if (!this.#refill) {
      this.#refill = setTimeout(() => {
        this.#refill = undefined;
        if (!this.#stopping) this.#spares.fill();
      }, 200);
      this.#refill.unref();
    }
    return worker;
  }

  /**
   * A worker for `spec`: a spare, or for a function with a `memory` limit a new one started with
   * that limit (spares boot without one, and a heap limit is set only at start-up).
   */
  #workerFor(spec: FunctionSpec): Worker {
    return spec.memoryMiB ? this.#adopt(this.#make({ memoryMiB: spec.memoryMiB })) : this.#takeSpare();
  }

  /**
   * Makes `worker` serve `fn`. An engine that records no calls (a pod's) has its web workers
   * count no requests either: nothing would read the figures.
   */
  #startOn(worker: Worker, fn: string): Promise<void> {
    return worker.start(fn, { count: this.opts.recordCalls !== false });
  }

  /** Takes a worker in: its output goes to the log, its remote calls are served. */
  #adopt(worker: Worker): Worker {
    this.#all.add(worker);
    void worker.exited.then(() => this.#all.delete(worker));
    worker.setLineHandler((w, stream, lines) => {
      const mask = this.#masks.get(w);
      if (mask?.held) return void mask.held.push({ stream, lines, time: new Date() });
      this.#emit(w, stream, lines, mask?.needles ?? this.#secrets, new Date());
    });
    worker.onMessage((msg, w) => this.#onWorkerMessage(w, msg));
    return worker;
  }

  #onWorkerMessage(worker: Worker, msg: FromWorker): void {
    if (msg.t === "stats") return this.metrics.webBatch(worker.fn ?? "?", msg);
    if (msg.t === "remote" || msg.t === "spawn") {
      const answer = (reply: Extract<ToWorker, { t: "remote-result" }>) =>
        worker.post(reply, (error) => worker.post({ t: "remote-result", id: msg.id, ok: false, error: toWire(error) }, () => {}));
      (msg.t === "remote" ? this.call(msg.fn, msg.args) : Promise.resolve().then(() => this.spawn(msg.fn, msg.args))).then(
        (value) => answer({ t: "remote-result", id: msg.id, ok: true, value }),
        (error: Error) => answer({ t: "remote-result", id: msg.id, ok: false, error: toWire(error) }),
      );
    }
  }

  /**
   * Boots a spare worker now, for an activation about to come: a deploy asks for it before it
   * builds, so a supervisor that keeps no idle spare does not pay a Node start-up on redeploy.
   */
  warm(): void {
    if (!this.#stopping) this.#spares.add();
  }

  /**
   * Loads a build in a worker and describes it, without serving it yet: `deploy` learns the
   * app's name this way while nothing is committed. A following `activate` of the same build
   * reuses the loaded worker.
   */
  async prepare(build: BuildOutput): Promise<AppManifest> {
    const worker = this.#takeSpare();
    try {
      const manifest = await this.#load(worker, build);
      this.#prepared = { hash: build.hash, worker, manifest };
      return manifest;
    } catch (error) {
      await worker.stop(500);
      throw toLoadError(error);
    }
  }

  /** Ports to try first for these functions' front doors (taken when free). */
  preferPorts(ports: Record<string, number>): void {
    this.#preferredPorts = { ...this.#preferredPorts, ...ports };
  }

  /** Drops what `prepare` loaded, when it is not to be activated after all. */
  async discardPrepared(): Promise<void> {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    await prepared?.worker.stop(500);
  }

  /** Loads a build and makes it the live version; on any failure the previous one keeps serving. */
  activate(build: BuildOutput, expectName?: string): Promise<Activation> {
    const run = this.#queue.then(() => this.#activate(build, expectName));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Opens `fn`'s front door on `--port` before any build is loaded, for an engine that will
   * serve that one function there (a pod's `--only FN --port N`): a connection that comes while
   * the app loads waits at the door, and is handed over the moment a worker is ready. A build
   * whose `fn` is no web function, or pins a `port` of its own, has it closed at activation.
   */
  async openDoorEarly(fn: string): Promise<void> {
    if (this.opts.pinnedPort === undefined || this.#doors.has(fn)) return;
    const door = await FrontDoor.open(fn, this.opts.host, this.opts.pinnedPort, true).catch((error: unknown) => {
      throw portHint(error, "pass another --port");
    });
    this.#doors.set(fn, door);
    this.#earlyDoor = door;
  }

  /**
   * Opens a front door for each web function that has none yet (each keeps its own across
   * versions); a failure closes the ones it opened. `first`: the first version, whose first
   * web function takes `--port`.
   */
  async #openDoors(webSpecs: FunctionSpec[], first: boolean): Promise<FrontDoor[]> {
    const opened: FrontDoor[] = [];
    const early = this.#earlyDoor;
    this.#earlyDoor = undefined;
    if (early && (webSpecs[0]?.name !== early.fn || webSpecs[0].port !== undefined)) {
      this.#doors.delete(early.fn);
      await early.close();
    }
    try {
      for (const [i, spec] of webSpecs.entries()) {
        if (this.#doors.has(spec.name)) continue;
        const pinned = spec.port ?? (i === 0 && first ? this.opts.pinnedPort : undefined);
        const preferred = this.#preferredPorts[spec.name] ?? this.#retiredPorts.get(spec.name);
        let door: FrontDoor | undefined;
        if (pinned === undefined && preferred !== undefined) {
          door = await FrontDoor.open(spec.name, this.opts.host, preferred, true).catch(() => undefined);
        }
        door ??= await FrontDoor.open(spec.name, this.opts.host, pinned ?? this.#nextPortHint(), pinned !== undefined).catch((error: unknown) => {
          throw portHint(error, spec.port !== undefined ? `change \`port: ${spec.port}\` of "${spec.name}" in ${this.opts.file}` : pinned !== undefined ? "pass another --port" : undefined);
        });
        opened.push(door);
        this.#doors.set(spec.name, door);
        this.#retiredPorts.delete(spec.name);
      }
      return opened;
    } catch (error) {
      for (const door of opened) {
        this.#doors.delete(door.fn);
        await door.close();
      }
      throw error;
    }
  }

  async #activate(build: BuildOutput, expectName?: string): Promise<Activation> {
    const started = monotonicMs();
    const previous = this.#current;
    const firstWeb = previous?.manifest.functions.find((f) => f.kind === "web");
    const prepared = this.#prepared?.hash === build.hash ? this.#prepared : undefined;
    this.#prepared = undefined;
    const guessEnv = prepared ? {} : (firstWeb?.env ?? {});
    const inspector = prepared?.worker ?? this.#takeSpare();
    const fresh: Worker[] = [inspector];
    try {
      const manifest = prepared?.manifest ?? (await this.#load(inspector, build, prepared ? undefined : firstWeb));
      if (expectName !== undefined && manifest.appName !== expectName) {
        throw new UserError(
          "E_INVALID_STATE",
          `${this.opts.file} now declares App "${manifest.appName}", but "${expectName}" is deployed from it`,
          `deploy it with --name ${expectName}, or stop "${expectName}" first (\`nodal app stop ${expectName}\`)`,
        );
      }
      const web = new Map<string, Worker[]>();
      const only = this.opts.only;
      const webSpecs = this.opts.serveWeb ? manifest.functions.filter((f) => f.kind === "web" && (!only || only.includes(f.name))) : [];
      let inspectorUsed = false;
      // A web function runs max(1, minContainers) workers; the front door balances between them.
      const slots = webSpecs.flatMap((spec) => Array.from({ length: Math.max(1, spec.minContainers) }, () => spec));
      // New web functions' ports open while their workers start: a connection that comes
      // meanwhile waits at the door (as after a scale-down) rather than being refused.
      const doors = this.#openDoors(webSpecs, previous === undefined);
      const workersReady = Promise.all(
        slots.map(async (spec) => {
          let worker: Worker;
          // The worker that loaded the build serves the first web function when its
          // environment is the function's: the one it loaded with, or (loaded with none) the
          // one it holds already, as a container's does with the pod's secrets.
          const fits = sameEnv(spec.env, guessEnv) || (Object.keys(guessEnv).length === 0 && inspector.holdsEnv(spec.env));
          if (!inspectorUsed && !spec.memoryMiB && fits) {
            inspectorUsed = true;
            worker = inspector;
          } else {
            worker = this.#workerFor(spec);
            fresh.push(worker);
            await this.#load(worker, build, spec);
          }
          await this.#startOn(worker, spec.name);
          web.set(spec.name, [...(web.get(spec.name) ?? []), worker]);
        }),
      );
      const [opened, ready] = await Promise.allSettled([doors, workersReady]);
      if (opened.status === "rejected" || ready.status === "rejected") {
        if (opened.status === "fulfilled") {
          for (const door of opened.value) {
            this.#doors.delete(door.fn);
            await door.close();
          }
        }
        throw opened.status === "rejected" ? opened.reason : (ready as PromiseRejectedResult).reason;
      }
      if (!inspectorUsed) {
        // The inspector loaded without this function's env; it can still run the entrypoint.
        fresh.splice(fresh.indexOf(inspector), 1);
        this.#track(inspector.stop(1000));
      }
      if (this.#stopping) throw new WorkerError("stopping");
      // The swap: new workers are listening and ready; route to them, then retire the old.
      const version: Version = { n: ++this.#versions, build, manifest, web };
      this.#scaler?.close();
      this.#atZero.clear();
      for (const [fn, workers] of web) {
        const door = this.#doors.get(fn)!;
        door.setActive(workers);
        if (this.#scaler) {
          const spec = webSpecs.find((f) => f.name === fn)!;
          this.#scaler.watch(`web:${fn}`, this.#webGroup(version, spec));
          door.onWaiting(() => this.#wakeWeb(version, spec));
        }
        for (const w of workers) this.#watchWebWorker(version, fn, w);
        // Restarts under way were for the previous version's workers.
        const state = this.#webState(fn);
        state.down.clear();
        state.health.state = "ready";
        delete state.health.nextAttemptAt;
      }
      for (const [fn, door] of [...this.#doors]) {
        if (!web.has(fn)) {
          this.#doors.delete(fn);
          this.#retiredPorts.set(fn, door.port);
          void door.close();
        }
      }
      this.#current = version;
      this.#secrets = secretNeedles(manifest.functions.flatMap((f) => f.secretValues));
      if (previous) {
        this.#retire(previous);
        collectSoon();
      }
      this.#resetPools(manifest);
      this.#spares.setPreload(build.externals);
      if (this.opts.spares > 0) this.#spares.resize(Math.max(this.opts.spares, slots.length));
      else this.#spares.fill();
      return { version, urls: this.urls, ms: monotonicMs() - started };
    } catch (error) {
      await Promise.all(fresh.map((w) => w.stop(500)));
      this.#spares.fill();
      throw toLoadError(error);
    }
  }

  #emit(w: Worker, stream: Stream, lines: string[], needles: string[], time: Date): void {
    this.opts.onLog({ time, function: w.fn ?? "app", worker: w.label ?? w.id, stream, lines: needles.length ? lines.map((l) => maskSecrets(l, needles)) : lines });
  }

  /**
   * Loads a build in a worker, its output held until the version's secrets are known (see
   * `#masks`). A load that takes long (a module awaiting a connection) does not hide its output
   * for long: after `HOLD_MAX_MS` it flows, masked with every secret known here — the live
   * version's and every stored one's.
   *
   * `from`: the function whose environment the worker gets (none: an empty one), with its
   * secrets' values as they were when its version went live. A secret replaced since then (a
   * restart or scale-up after a rotation without a rollover; a swap's first load, which
   * guesses the live workers' environment) is named in the fresh manifest with its new value
   * only, yet the worker runs with the old one: both are masked.
   */
  async #load(worker: Worker, build: BuildOutput, from?: FunctionSpec): Promise<AppManifest> {
    const mask: { needles: string[]; held?: { stream: Stream; lines: string[]; time: Date }[] } = { needles: this.#secrets, held: [] };
    this.#masks.set(worker, mask);
    const release = (needles: string[]) => {
      mask.needles = needles;
      for (const h of mask.held?.splice(0) ?? []) this.#emit(worker, h.stream, h.lines, needles, h.time);
      mask.held = undefined;
    };
    const everyKnown = () => secretNeedles([...this.#secrets, ...storedSecretValues()]);
    const timer = setTimeout(() => release(everyKnown()), HOLD_MAX_MS);
    try {
      const manifest = await worker.load(build.file, this.opts.file, this.opts.selector, from?.env ?? {});
      release(secretNeedles([...manifest.functions.flatMap((f) => f.secretValues), ...(from?.secretValues ?? [])]));
      return manifest;
    } catch (error) {
      // The version never said what it declares: mask with every secret this machine stores.
      release(everyKnown());
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #nextPortHint(): number {
    // Past the ports of removed functions too, so they are free when those come back.
    const used = [...this.#doors.values()].map((d) => d.port).concat([...this.#retiredPorts.values()]);
    const base = this.opts.pinnedPort !== undefined ? this.opts.pinnedPort + 1 : this.opts.basePort;
    return Math.max(base, ...used.map((p) => p + 1));
  }

  /** Work that `stop` must wait for (a retiring worker's exit). */
  #track(done: Promise<void>): void {
    this.#retiring.add(done);
    void done.then(() => this.#retiring.delete(done));
  }

  /** The old version's web workers finish their requests, each within its function's timeout. */
  #retire(version: Version): void {
    for (const [fn, workers] of version.web) {
      const graceMs = timeoutMs(version.manifest, fn);
      for (const w of workers) {
        this.#draining.set(w, graceMs);
        this.#track(w.drain(graceMs).then(() => void this.#draining.delete(w)));
      }
    }
  }

  #resetPools(manifest: AppManifest): void {
    const old = [...this.#pools.values()];
    this.#pools.clear();
    for (const spec of manifest.functions.filter((f) => f.kind === "function" && !this.opts.calls?.handles(f.name))) {
      const pool = new FunctionPool(spec, (s) => this.#functionWorker(s));
      this.#pools.set(spec.name, pool);
      this.#scaler?.watch(`fn:${spec.name}`, pool);
      void pool.warm();
    }
    for (const pool of old) {
      this.#closingPools.add(pool);
      this.#track(pool.close(pool.spec.timeoutSec * 1000).then(() => void this.#closingPools.delete(pool)));
    }
  }

  async #functionWorker(spec: FunctionSpec): Promise<Worker> {
    const version = this.#current!;
    const worker = this.#workerFor(spec);
    try {
      await this.#load(worker, version.build, spec);
      await this.#startOn(worker, spec.name);
      void worker.exited.then(() => {
        const memory = worker.memoryExceeded;
        if (!memory) return;
        this.#countMemoryStop(spec.name);
        this.opts.onEvent?.({ type: "memory-exceeded", fn: spec.name, worker: worker.id, memory });
      });
      return worker;
    } catch (error) {
      await worker.stop(500);
      throw toLoadError(error);
    }
  }

  /**
   * A web worker that exits on its own is replaced, with capped exponential backoff while it
   * keeps failing, for as long as its version is live.
   */
  #watchWebWorker(version: Version, fn: string, worker: Worker): void {
    const started = monotonicMs();
    void worker.exited.then(({ code, signal }) => {
      if (worker.memoryExceeded) this.#countMemoryStop(fn);
      const workers = version.web.get(fn);
      if (this.#current !== version || this.#stopping || !workers?.includes(worker)) return;
      this.#doors.get(fn)?.remove(worker);
      version.web.set(fn, workers.filter((w) => w !== worker));
      const state = this.#webState(fn);
      state.health.lastExit = { code, signal, at: new Date().toISOString() };
      state.backoff.exited(monotonicMs() - started);
      void this.#restart(version, fn, (delay) =>
        this.opts.onEvent?.({
          type: "worker-exit",
          fn,
          worker: worker.id,
          code,
          signal,
          restartInMs: delay,
          ...(worker.memoryExceeded ? { memory: worker.memoryExceeded } : {}),
        }),
      );
    });
  }

  /** A web function's workers, as the scaler sees them. */
  #webGroup(version: Version, spec: FunctionSpec): ScaleGroup<Worker> {
    const fn = spec.name;
    const scalingUp = this.#scalingUp;
    return {
      // The front door spreads connections over a web function's workers and does not hold
      // them to `concurrency`: requests in flight do not ask for more workers, only the buffer
      // does (any load counts as one worker's worth).
      policy: { ...spec, concurrency: Infinity },
      get starting() {
        return scalingUp.get(fn) ?? 0;
      },
      survey: async () => {
        if (this.#current !== version || this.#stopping) return [];
        const live = (version.web.get(fn) ?? []).filter((w) => w.alive);
        // A worker that dies while asked is left out (its restart is the crash path's business).
        const seen = await Promise.all(live.map((w) => w.activity().then((activity) => ({ worker: w, activity }), () => undefined)));
        return seen.filter((s) => s !== undefined);
      },
      scaleDown: (worker) => this.#scaleDownWeb(version, spec, worker),
      scaleUp: () => void this.#scaleUpWeb(version, spec),
    };
  }

  /**
   * Stops a web worker idle for its window: the front door stops handing it connections at
   * once, and it exits once its connections are done. Idle keep-alive connections are left to
   * their timeout, not cut, so a client never races a request against our close.
   */
  #scaleDownWeb(version: Version, spec: FunctionSpec, worker: Worker): void {
    const fn = spec.name;
    const workers = version.web.get(fn) ?? [];
    if (this.#current !== version || this.#stopping || !workers.includes(worker)) return;
    const left = workers.filter((w) => w !== worker);
    version.web.set(fn, left);
    this.#doors.get(fn)?.remove(worker);
    if (left.length === 0) this.#atZero.add(fn);
    const graceMs = spec.timeoutSec * 1000;
    this.#draining.set(worker, graceMs);
    this.#track(worker.drain(graceMs).then(() => void this.#draining.delete(worker)));
    this.opts.onEvent?.({ type: "scaled-down", fn, worker: worker.id, idleSec: spec.scaledownWindowSec ?? 60, left: left.length });
  }

  /** A connection waits at a web function with no worker: start one, unless one is on its way. */
  #wakeWeb(version: Version, spec: FunctionSpec): void {
    const fn = spec.name;
    if ((this.#scalingUp.get(fn) ?? 0) > 0 || this.#webState(fn).down.size > 0) return;
    if ((version.web.get(fn) ?? []).some((w) => w.alive)) return;
    // A start that keeps failing (the app cannot load now) is not retried on every request.
    if (monotonicMs() < (this.#wakeRetry.get(fn)?.at ?? 0)) return;
    void this.#scaleUpWeb(version, spec);
  }

  /** Starts one more worker for a web function (from zero, or a buffer under load). */
  async #scaleUpWeb(version: Version, spec: FunctionSpec): Promise<void> {
    const fn = spec.name;
    const gone = () => this.#current !== version || this.#stopping;
    if (gone()) return;
    const started = monotonicMs();
    this.#scalingUp.set(fn, (this.#scalingUp.get(fn) ?? 0) + 1);
    const worker = this.#workerFor(spec);
    try {
      await this.#load(worker, version.build, spec);
      await this.#startOn(worker, fn);
    } catch (error) {
      this.#track(worker.stop(500));
      if (gone()) return;
      const retry = this.#wakeRetry.get(fn) ?? { backoff: new Backoff(), at: 0 };
      const delay = retry.backoff.next();
      this.#wakeRetry.set(fn, { ...retry, at: monotonicMs() + delay });
      this.opts.onEvent?.({ type: "scale-up-failed", fn, error: `${(error as Error).message} (next attempt on a request after ${delay} ms)` });
      return;
    } finally {
      this.#scalingUp.set(fn, (this.#scalingUp.get(fn) ?? 1) - 1);
    }
    if (gone()) return this.#track(worker.stop(500));
    version.web.set(fn, [...(version.web.get(fn) ?? []), worker]);
    this.#atZero.delete(fn);
    this.#wakeRetry.delete(fn);
    this.#doors.get(fn)?.setActive(version.web.get(fn)!);
    this.#watchWebWorker(version, fn, worker);
    this.opts.onEvent?.({ type: "scaled-up", fn, worker: worker.id, ms: Math.round(monotonicMs() - started) });
  }

  /**
   * How many workers each function of the live version runs, and why that many (`app show`).
   */
  get containers(): Record<string, { running: number; reason: string }> {
    const version = this.#current;
    if (!version) return {};
    const out: Record<string, { running: number; reason: string }> = {};
    for (const spec of version.manifest.functions) {
      const web = version.web.get(spec.name);
      const pool = this.#pools.get(spec.name);
      if (!web && !pool) continue;
      const running = (web ?? pool!.workers).filter((w) => w.alive).length;
      const window = spec.scaledownWindowSec ?? 60;
      const min = spec.minContainers;
      let reason: string;
      if (!this.#scaler) reason = running > 0 ? "kept warm while served" : "starts on the first call";
      else if (running === 0) reason = (this.#atZero.has(spec.name) || pool?.scaledToZero) ? `scaled to zero after ${window} s idle` : web ? "starts on the next request" : "starts on the first call";
      else if (running <= min) reason = "minContainers";
      else if (min > 0) reason = `idle ones stop after ${window} s, down to ${min} (minContainers)`;
      else reason = running === 1 ? `stops after ${window} s idle` : `idle ones stop after ${window} s`;
      out[spec.name] = { running, reason };
    }
    return out;
  }

  #countMemoryStop(fn: string): void {
    this.#memoryStops.set(fn, (this.#memoryStops.get(fn) ?? 0) + 1);
  }

  /** Starts a replacement worker for `fn`, retrying with the backoff until one runs (or the version is gone). */
  async #restart(version: Version, fn: string, announce: (delayMs: number) => void): Promise<void> {
    const state = this.#webState(fn);
    const token = Symbol(fn);
    state.down.add(token);
    const spec = version.manifest.functions.find((f) => f.name === fn)!;
    const gone = () => this.#current !== version || this.#stopping || !state.down.has(token);
    for (;;) {
      const delay = state.backoff.next();
      state.health.state = "restarting";
      state.health.nextAttemptAt = new Date(Date.now() + delay).toISOString();
      announce(delay);
      await this.#sleep(delay);
      if (gone()) return;
      state.health.restarts++;
      const replacement = this.#workerFor(spec);
      try {
        await this.#load(replacement, version.build, spec);
        await this.#startOn(replacement, fn);
      } catch (error) {
        this.#track(replacement.stop(500));
        if (gone()) return;
        const message = (error as Error).message;
        announce = (next) => this.opts.onEvent?.({ type: "worker-restart-failed", fn, error: `${message} (next attempt in ${next} ms)` });
        continue;
      }
      if (gone()) return this.#track(replacement.stop(500));
      version.web.set(fn, [...(version.web.get(fn) ?? []), replacement]);
      this.#doors.get(fn)?.setActive(version.web.get(fn)!);
      this.#watchWebWorker(version, fn, replacement);
      state.down.delete(token);
      if (state.down.size === 0) {
        state.health.state = "ready";
        delete state.health.nextAttemptAt;
      }
      this.opts.onEvent?.({ type: "worker-restarted", fn, worker: replacement.id });
      return;
    }
  }

  /** A delay that a stop cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeps.add(wake);
    });
  }

  /**
   * Runs a (non-web) function of the live version in its own pool of workers, recorded in
   * `calls` (a call of a function that does not exist is not one). `callId` names the record
   * (a scheduled run's id); default a new `fc-` id.
   */
  async call(fn: string, args: unknown[], opts: CallOptions & { callId?: string } = {}): Promise<unknown> {
    const { callId, ...rest } = opts;
    const elsewhere = this.#elsewhere(fn);
    if (!this.#pools.has(fn) && !elsewhere) return this.#call(fn, args, rest);
    // A call through the transport is recorded under the id it travels with, as the pod that
    // runs it records it.
    const app = this.#current!.manifest.appName;
    const sent = elsewhere && { spec: elsewhere, callId: callId ?? this.opts.calls!.newCallId(app, fn) };
    const run = () => (sent ? this.opts.calls!.call(app, sent.spec, args, { ...rest, callId: sent.callId }) : this.#call(fn, args, rest));
    if (this.opts.recordCalls === false) return run();
    const record = this.calls.begin(fn, sent ? sent.callId : callId);
    const counted = this.metrics.callStarted(fn);
    const started = monotonicMs();
    try {
      const value = await run();
      record.ok();
      counted("success", monotonicMs() - started);
      return value;
    } catch (error) {
      record.fail(error);
      counted((error as Error | undefined)?.name === "FunctionTimeoutError" ? "timeout" : "failure", monotonicMs() - started);
      throw error;
    }
  }

  /**
   * Starts a stored call of `fn` (`.spawn()`) and answers its id at once, or undefined when
   * this engine stores no calls (`nodal run`). Unknown functions are refused here, not later.
   */
  spawn(fn: string, args: unknown[]): string | undefined {
    const store = this.spawned;
    if (!store) return undefined;
    if (!this.#pools.has(fn) && !this.#elsewhere(fn)) {
      const known = (this.#current?.manifest.functions ?? []).filter((f) => f.kind === "function").map((f) => f.name);
      throw new UserError(
        "E_NOT_FOUND",
        `app "${this.#current?.manifest.appName ?? "?"}" has no function "${fn}"`,
        known.length ? `its functions: ${known.join(", ")}` : "it declares no app.function()",
      );
    }
    return store.start(fn, (callId, signal) => this.call(fn, args, { callId, signal }));
  }

  /** A function this pod does not run: its calls go through the cluster transport. */
  #elsewhere(fn: string): FunctionSpec | undefined {
    if (!this.opts.calls?.handles(fn)) return undefined;
    return this.#current?.manifest.functions.find((f) => f.name === fn && f.kind === "function");
  }

  /**
   * A call in this engine's pool of `fn`. A call cut off by a redeploy (it outlived its
   * function's timeout on the retired version) is logged and, per the function's `retries`,
   * attempted again on the new version.
   */
  async #call(fn: string, args: unknown[], opts: CallOptions): Promise<unknown> {
    for (let firstAttempt = opts.firstAttempt ?? 0; ; ) {
      const pool = this.#pools.get(fn);
      if (!pool) {
        const known = (this.#current?.manifest.functions ?? []).filter((f) => f.kind === "function").map((f) => f.name);
        throw new UserError(
          "E_NOT_FOUND",
          `app "${this.#current?.manifest.appName ?? "?"}" has no function "${fn}"`,
          known.length ? `its functions: ${known.join(", ")}` : "it declares no app.function()",
        );
      }
      try {
        return await pool.call(args, { ...opts, firstAttempt });
      } catch (error) {
        if (!(error instanceof CallCutOffError)) throw error;
        const retrying = !this.#stopping && error.attempt < pool.spec.retries.maxRetries;
        this.opts.onEvent?.({ type: "call-cut-off", fn, call: error.call, retrying });
        if (!retrying) throw error;
        firstAttempt = error.attempt + 1;
        const delaySec = retryDelaySec(pool.spec.retries, firstAttempt);
        opts.onRetry?.(firstAttempt, error, delaySec);
        await this.#sleep(delaySec * 1000);
      }
    }
  }

  /** Runs the app's local entrypoint in a worker of its own, with `argv`. */
  async runEntrypoint(argv: string[]): Promise<unknown> {
    const version = this.#current!;
    const worker = this.#takeSpare();
    try {
      await this.#load(worker, version.build);
      return await worker.entrypoint(argv);
    } finally {
      await worker.stop(1000);
    }
  }

  /**
   * Stops everything: ports closed at once, work in flight finished within its function's
   * timeout (or `capMs`, when given, if that is shorter), every worker and what it started
   * ended. A later call with `capMs` 0 forces: every worker is killed now.
   */
  stop(capMs?: number): Promise<void> {
    if (this.#stopped) {
      if (capMs === 0) for (const w of this.#all) w.kill();
      return this.#stopped;
    }
    this.#stopping = true;
    this.#scaler?.close();
    clearTimeout(this.#refill);
    for (const wake of [...this.#sleeps]) wake();
    const grace = (ms: number) => Math.min(ms, capMs ?? Infinity);
    this.#stopped = (async () => {
      if (capMs === 0) for (const w of this.#all) w.kill();
      await this.#queue;
      await Promise.all([...this.#doors.values()].map((d) => d.close()));
      this.#doors.clear();
      const current = this.#current;
      const web = [...(current?.web ?? [])].flatMap(([fn, workers]) => workers.map((w) => w.drain(grace(timeoutMs(current!.manifest, fn)), true)));
      // Retired workers still finishing requests: their idle keep-alive connections close now.
      const draining = [...this.#draining].map(([w, ms]) => w.drain(grace(ms), true));
      await Promise.all([
        ...web,
        ...draining,
        ...[...this.#pools.values(), ...this.#closingPools].map((p) => p.close(grace(p.spec.timeoutSec * 1000))),
        this.#spares.close(),
        this.#prepared?.worker.stop(500),
        ...this.#retiring,
      ]);
      // Anything started meanwhile (a restart that was loading) goes too.
      const left = [...this.#all];
      for (const w of left) w.kill();
      await Promise.all(left.map((w) => w.exited));
    })();
    return this.#stopped;
  }
}

/** How long a loading worker's output may be held back for masking (see `#load`). */
const HOLD_MAX_MS = 1000;

/** A port error, its hint saying where the port was asked for (the app file's `port:`, or `--port`). */
function portHint(error: unknown, where: string | undefined): unknown {
  if (!(error instanceof UserError) || error.code !== "E_PORT_IN_USE" || !where) return error;
  return new UserError(error.code, error.message, `${where}, or stop what holds it (\`nodal app list\` shows nodal's own apps)`);
}

/** A function's timeout: how long its work in flight may take to finish when its worker retires. */
function timeoutMs(manifest: AppManifest, fn: string): number {
  return (manifest.functions.find((f) => f.name === fn)?.timeoutSec ?? 300) * 1000;
}

function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * Milliseconds on a monotonic clock. Not performance.now(): the global `performance` loads
 * perf_hooks, 0.8 MB more in every supervisor.
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
