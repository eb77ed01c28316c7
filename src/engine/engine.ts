import type { BuildOutput } from "../loader/build.js";
import type { AppManifest, FunctionSpec } from "../loader/manifest.js";
import { toWire, UserError } from "../errors.js";
import { FrontDoor } from "./front-door.js";
import { FunctionPool } from "./function-pool.js";
import { toLoadError } from "./load-error.js";
import { maskSecrets } from "./lines.js";
import type { FromWorker } from "./protocol.js";
import type { WorkerStatus } from "./status.js";
import { SparePool } from "./spares.js";
import { Worker, WorkerError, type Stream } from "./worker.js";
import { collectSoon } from "./collect.js";

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
  | { type: "worker-exit"; fn: string; worker: string; code: number | null; signal: string | null; restartInMs: number }
  | { type: "worker-restarted"; fn: string; worker: string }
  | { type: "worker-restart-failed"; fn: string; error: string };

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
  /** Boot spare workers ahead of time (serve and deploy do; `nodal run` does not). */
  spares: number;
  /** How long a retired version may finish its in-flight requests. */
  drainGraceMs: number;
  cwd?: string;
  onLog: (entry: LogEntry) => void;
  onEvent?: (event: EngineEvent) => void;
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

const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 30_000;

/**
 * Runs an app: web functions behind front doors that the engine holds, other functions in
 * worker pools, and versions swapped without refusing a request. `nodal serve` drives it in
 * the foreground from a watcher; `nodal deploy` runs the very same engine in a supervisor.
 */
export class Engine {
  readonly opts: EngineOptions;
  #spares: SparePool;
  #doors = new Map<string, FrontDoor>();
  #pools = new Map<string, FunctionPool>();
  #current: Version | undefined;
  #versions = 0;
  #retiring = new Set<Promise<void>>();
  #secrets: string[] = [];
  #stopping = false;
  #restarts = new Map<string, { attempts: number; since: number; total: number }>();
  #queue: Promise<unknown> = Promise.resolve();
  #refill: NodeJS.Timeout | undefined;
  #prepared: { hash: string; worker: Worker; manifest: AppManifest } | undefined;
  /** Ports to try first per function (a restarted app keeps its URLs); taken if free. */
  #preferredPorts: Record<string, number> = {};

  constructor(opts: EngineOptions) {
    this.opts = opts;
    for (const w of opts.adoptSpares ?? []) w.setHandlers(...this.#handlers());
    this.#spares = new SparePool(opts.spares, () => this.#newWorker(), opts.adoptSpares);
    this.#spares.fill();
  }

  get current(): Version | undefined {
    return this.#current;
  }

  get urls(): Record<string, string> {
    return Object.fromEntries([...this.#doors].map(([fn, d]) => [fn, d.url]));
  }

  /** Crash restarts per web function since the app started (a crash loop shows here). */
  get restartCounts(): Record<string, number> {
    return Object.fromEntries([...this.#restarts].map(([fn, s]) => [fn, s.total]));
  }

  /** True once a version is live and every web function it serves has a worker running. */
  get ready(): boolean {
    const version = this.#current;
    if (!version || this.#stopping) return false;
    return [...version.web.values()].every((workers) => workers.some((w) => w.alive));
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

  #handlers(): Parameters<Worker["setHandlers"]> {
    return [
      (w, stream, lines) =>
        this.opts.onLog({
          time: new Date(),
          function: w.fn ?? "app",
          worker: w.label ?? w.id,
          stream,
          lines: this.#secrets.length ? lines.map((l) => maskSecrets(l, this.#secrets)) : lines,
        }),
      (w, msg) => this.#onWorkerMessage(w, msg),
    ];
  }

  #newWorker(): Worker {
    const [onLine, onMessage] = this.#handlers();
    return new Worker({ ...(this.opts.cwd ? { cwd: this.opts.cwd } : {}), onLine, onMessage });
  }

  #onWorkerMessage(worker: Worker, msg: FromWorker): void {
    if (msg.t === "result") {
      for (const pool of this.#pools.values()) pool.onResult(msg);
      return;
    }
    if (msg.t === "remote") {
      this.call(msg.fn, msg.args).then(
        (value) => {
          if (!worker.send({ t: "remote-result", id: msg.id, ok: true, value })) return;
        },
        (error: Error) => worker.send({ t: "remote-result", id: msg.id, ok: false, error: toWire(error) }),
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
      const manifest = await this.#load(worker, build, {});
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
      const manifest = prepared?.manifest ?? (await this.#load(inspector, build, guessEnv));
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
      await Promise.all(
        slots.map(async (spec) => {
          let worker: Worker;
          if (!inspectorUsed && sameEnv(spec.env, guessEnv)) {
            inspectorUsed = true;
            worker = inspector;
          } else {
            worker = this.#takeSpare();
            fresh.push(worker);
            await this.#load(worker, build, spec.env);
          }
          await worker.start(spec.name);
          web.set(spec.name, [...(web.get(spec.name) ?? []), worker]);
        }),
      );
      if (!inspectorUsed) {
        // The inspector loaded without this function's env; it can still run the entrypoint.
        fresh.splice(fresh.indexOf(inspector), 1);
        this.#track(inspector.stop(1000));
      }
      // Ports: keep each function's door; open doors for new web functions.
      const opened: FrontDoor[] = [];
      try {
        for (const [i, spec] of webSpecs.entries()) {
          if (this.#doors.has(spec.name)) continue;
          const pinned = spec.port ?? (i === 0 && !previous ? this.opts.pinnedPort : undefined);
          const preferred = this.#preferredPorts[spec.name];
          let door: FrontDoor | undefined;
          if (pinned === undefined && preferred !== undefined) {
            door = await FrontDoor.open(spec.name, this.opts.host, preferred, true).catch(() => undefined);
          }
          door ??= await FrontDoor.open(spec.name, this.opts.host, pinned ?? this.#nextPortHint(), pinned !== undefined);
          opened.push(door);
          this.#doors.set(spec.name, door);
        }
      } catch (error) {
        for (const door of opened) {
          this.#doors.delete(door.fn);
          await door.close();
        }
        throw error;
      }
      if (this.#stopping) throw new WorkerError("stopping");
      // The swap: new workers are listening and ready; route to them, then retire the old.
      const version: Version = { n: ++this.#versions, build, manifest, web };
      for (const [fn, workers] of web) {
        this.#doors.get(fn)!.setActive(workers);
        for (const w of workers) this.#watchWebWorker(version, fn, w);
      }
      for (const [fn, door] of [...this.#doors]) {
        if (!web.has(fn)) {
          this.#doors.delete(fn);
          void door.close();
        }
      }
      this.#current = version;
      this.#secrets = manifest.functions.flatMap((f) => f.secretValues);
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

  async #load(worker: Worker, build: BuildOutput, env: Record<string, string>): Promise<AppManifest> {
    return worker.load(build.file, this.opts.file, this.opts.selector, env);
  }

  #nextPortHint(): number {
    const used = [...this.#doors.values()].map((d) => d.port);
    const base = this.opts.pinnedPort !== undefined ? this.opts.pinnedPort + 1 : this.opts.basePort;
    return Math.max(base, ...used.map((p) => p + 1));
  }

  /** Work that `stop` must wait for (a retiring worker's exit). */
  #track(done: Promise<void>): void {
    this.#retiring.add(done);
    void done.then(() => this.#retiring.delete(done));
  }

  #retire(version: Version): void {
    for (const workers of version.web.values()) for (const w of workers) this.#track(w.drain(this.opts.drainGraceMs));
  }

  #resetPools(manifest: AppManifest): void {
    const old = [...this.#pools.values()];
    this.#pools.clear();
    for (const spec of manifest.functions.filter((f) => f.kind === "function")) {
      const pool = new FunctionPool(spec, (s) => this.#functionWorker(s));
      this.#pools.set(spec.name, pool);
      void pool.warm();
    }
    for (const pool of old) this.#track(pool.close(this.opts.drainGraceMs));
  }

  async #functionWorker(spec: FunctionSpec): Promise<Worker> {
    const version = this.#current!;
    const worker = this.#takeSpare();
    try {
      await this.#load(worker, version.build, spec.env);
      await worker.start(spec.name);
      return worker;
    } catch (error) {
      await worker.stop(500);
      throw toLoadError(error);
    }
  }

  /** A web worker that exits on its own is replaced, with exponential backoff on a crash loop. */
  #watchWebWorker(version: Version, fn: string, worker: Worker): void {
    void worker.exited.then(async ({ code, signal }) => {
      const live = this.#current === version && version.web.get(fn)?.includes(worker);
      if (!live || this.#stopping) return;
      this.#doors.get(fn)?.remove(worker);
      const state = this.#restarts.get(fn) ?? { attempts: 0, since: 0, total: 0 };
      state.total++;
      if (Date.now() - state.since > STABLE_MS) state.attempts = 0;
      const delay = Math.min(RESTART_BASE_MS * 2 ** state.attempts, RESTART_MAX_MS);
      state.attempts++;
      this.#restarts.set(fn, state);
      this.opts.onEvent?.({ type: "worker-exit", fn, worker: worker.id, code, signal, restartInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
      if (this.#current !== version || this.#stopping) return;
      const spec = version.manifest.functions.find((f) => f.name === fn)!;
      const replacement = this.#takeSpare();
      try {
        await this.#load(replacement, version.build, spec.env);
        await replacement.start(fn);
      } catch (error) {
        this.#track(replacement.stop(500));
        this.opts.onEvent?.({ type: "worker-restart-failed", fn, error: (error as Error).message });
        return this.#watchWebWorker(version, fn, replacement);
      }
      if (this.#current !== version || this.#stopping) return this.#track(replacement.stop(500));
      state.since = Date.now();
      version.web.set(fn, [...(version.web.get(fn) ?? []).filter((w) => w !== worker), replacement]);
      this.#doors.get(fn)?.setActive(version.web.get(fn)!);
      this.#watchWebWorker(version, fn, replacement);
      this.opts.onEvent?.({ type: "worker-restarted", fn, worker: replacement.id });
    });
  }

  /** Runs a (non-web) function of the live version in its own pool of workers. */
  async call(fn: string, args: unknown[], opts: Parameters<FunctionPool["call"]>[1] = {}): Promise<unknown> {
    const pool = this.#pools.get(fn);
    if (!pool) {
      const known = [...this.#pools.keys()];
      throw new UserError(
        "E_NOT_FOUND",
        `app "${this.#current?.manifest.appName ?? "?"}" has no function "${fn}"`,
        known.length ? `its functions: ${known.join(", ")}` : "it declares no app.function()",
      );
    }
    return pool.call(args, opts);
  }

  /** Runs the app's local entrypoint in a worker of its own, with `argv`. */
  async runEntrypoint(argv: string[]): Promise<unknown> {
    const version = this.#current!;
    const worker = this.#takeSpare();
    try {
      await this.#load(worker, version.build, {});
      const id = 0;
      const result = new Promise<unknown>((resolve, reject) => {
        worker.child.on("message", (msg: FromWorker) => {
          if (msg.t === "result" && msg.id === id) {
            if (msg.ok) resolve(msg.value);
            else reject(Object.assign(new Error(msg.error!.message), { name: msg.error!.name, stack: msg.error!.stack }));
          }
        });
        void worker.exited.then(() => reject(new WorkerError(`the local entrypoint's worker exited${worker.stderrTail ? `:\n${worker.stderrTail}` : ""}`)));
      });
      worker.send({ t: "entrypoint", id, argv });
      return await result;
    } finally {
      await worker.stop(1000);
    }
  }

  /** Stops everything: ports closed, workers drained within the grace period, then killed. */
  async stop(graceMs = this.opts.drainGraceMs): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#refill);
    await this.#queue;
    await Promise.all([...this.#doors.values()].map((d) => d.close()));
    this.#doors.clear();
    const web = [...(this.#current?.web.values() ?? [])].flat();
    await Promise.all([
      ...web.map((w) => w.drain(graceMs, true)),
      ...[...this.#pools.values()].map((p) => p.close(graceMs)),
      this.#spares.close(),
      this.#prepared?.worker.stop(500),
      ...this.#retiring,
    ]);
  }
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
