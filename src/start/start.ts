import { createHash } from "node:crypto";
import type { Server } from "node:http";
import { basePort } from "../engine/front-door.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { AppHost } from "../engine/host.js";
import { Worker } from "../engine/worker.js";
import type { WorkerProcess } from "../engine/fork.js";
import { Builder, PORTABLE_MARK, type BuildOutput } from "../loader/build.js";
import type { AppManifest } from "../loader/manifest.js";
import type { Target } from "../loader/target.js";
import { stdout } from "../ui/stdio.js";
import { serveHealth } from "./health.js";
import { NdjsonSink } from "./ndjson-sink.js";

export interface StartOptions {
  host: string;
  /** The first served web function's port, exactly; the others take the next free ones. */
  port?: number;
  healthPort: number;
  /** Web functions to serve; default: all. */
  only?: string[];
  /** `--call FN`: one run of FN, then exit. */
  call?: string;
  input?: unknown;
  hasInput: boolean;
  /** `--cluster redis://HOST:PORT` (or NODAL_CLUSTER): calls between pods go through Redis. */
  cluster?: string;
  /** `--check`: load the app as a pod would, check the names asked for, exit. */
  check?: boolean;
  /** The first worker, forked before the CLI loaded (see engine/prefork.ts). */
  preforked?: WorkerProcess;
}

/**
 * What `nodal start` sets in its environment, and its workers': secrets come from the
 * environment, and `--cluster URL` is where SDK calls in app code go. The worker forked before
 * the arguments were read (engine/prefork.ts) gets it as it loads the app.
 */
function containerEnv(cluster: string | undefined): Record<string, string> {
  return { NODAL_SECRETS_SOURCE: "env", ...(cluster !== undefined ? { NODAL_CLUSTER: cluster } : {}) };
}

/**
 * `--check` runs where the pod's image is built: no secret is there yet (they are the pod's, so
 * secrets load empty and their required keys are the pod's start to check), and volumes go
 * under a scratch root, so that the image holds none.
 */
function checkEnv(scratch: string): Record<string, string> {
  return { NODAL_SECRETS_SOURCE: "build", NODAL_VOLUMES_DIR: join(scratch, "volumes") };
}

/**
 * `nodal start`: the app's engine in the foreground, as a container runs it — the same
 * AppHost and Engine as serve and deploy, with no registry, supervisor or watcher. Logs are
 * NDJSON on stdout; `/livez` and `/readyz` on the health port; SIGTERM drains and exits 0.
 * Secrets come from the environment (`Secret.fromName` reads its keys there), volumes from
 * `NODAL_VOLUMES_DIR`.
 */
export async function start(target: Target, opts: StartOptions): Promise<number> {
  // A scratch folder only when one is needed (a build from source, a check's volumes): a pod
  // that runs its image's snapshot leaves nothing in /tmp, even when it is killed.
  /** Whether it serves (not a `--call` or a `--check`, which end once done). */
  const serving = opts.call === undefined && !opts.check;
  let scratch: string | undefined;
  const scratchDir = () => (scratch ??= mkdtempSync(join(tmpdir(), "nodal-start-")));
  // Before any worker forks: app code that spawns calls or looks them up (`FunctionCall.fromId`)
  // reaches the same Redis.
  const env = opts.check ? checkEnv(scratchDir()) : containerEnv(opts.cluster);
  Object.assign(process.env, env);
  const cluster = opts.cluster !== undefined && !opts.check ? await joinCluster(opts.cluster, opts.only) : undefined;
  // The first worker boots while the app builds (as a deploy's supervisor does): a pod's start
  // pays one Node start-up on its critical path, not two in a row. bin/nodal.cjs forked it
  // before the CLI even loaded, without `env`.
  const first = new Worker(opts.preforked ? { process: opts.preforked, env } : {});
  let builder: Builder | undefined;
  const sink = new NdjsonSink();
  const host = new AppHost({
    kind: "container",
    schedules: false,
    file: target.file,
    path: target.path,
    sink,
    engine: {
      file: target.file,
      ...(target.selector ? { selector: target.selector } : {}),
      host: opts.host,
      basePort: opts.port ?? basePort(),
      ...(opts.port !== undefined ? { pinnedPort: opts.port } : {}),
      serveWeb: opts.call === undefined,
      ...(opts.only ? { only: opts.only } : {}),
      spares: 0,
      // Idle workers stop after their function's scaledownWindow (serve keeps its own warm).
      scaleToZero: true,
      adoptSpares: [first],
      ...(cluster ? { calls: cluster.transport } : {}),
      // No control socket reads a pod's call log or metrics: a call costs no bookkeeping.
      recordCalls: false,
    },
  });
  let consumer: { close(graceMs: number): Promise<void> } | undefined;
  const cleanup = async () => {
    await consumer?.close(0);
    await cluster?.client.close();
    await builder?.dispose();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
  let health: Server | undefined;
  // Kubernetes may stop a pod that is still starting: a signal then lets the start finish and
  // drains at once, rather than killing the engine mid-start.
  const stopRequested =
    serving
      ? new Promise<NodeJS.Signals>((resolve) => {
          process.once("SIGTERM", () => resolve("SIGTERM"));
          process.once("SIGINT", () => resolve("SIGINT"));
        })
      : undefined;
  try {
    // Live from the start (a slow factory is not a dead pod); ready once every web function it
    // serves has a worker up.
    if (serving) health = await serveHealth(opts.host, opts.healthPort, () => host.engine.ready);
    // One function on a pinned port (what the exported Deployments run): its port opens now,
    // and a request that comes while the app loads waits for the worker rather than being refused.
    if (serving && opts.only?.length === 1 && opts.port !== undefined) await host.engine.openDoorEarly(opts.only[0]!);
    let build = snapshot(target.path);
    if (!build) {
      builder = new Builder(target.path, join(scratchDir(), "build"));
      build = await builder.build();
      await builder.dispose(); // esbuild's service process would stay resident for nothing
    }
    const manifest = await host.engine.prepare(build);
    checkNames(manifest, opts);
    if (opts.check) return await checked(host, manifest);
    const act = await host.start(build, 1, { id: `start-${process.pid}` });
    if (opts.call !== undefined) return await callOnce(host, opts.call, opts.hasInput ? [opts.input] : [], sink);
    if (cluster) consumer = cluster.consume(host, manifest, opts.only);
    for (const [fn, url] of Object.entries(act.urls)) host.system(`serving ${fn} at ${url}`, fn);
    host.system(`ready; health on http://${opts.host}:${opts.healthPort}/readyz`);
    const signal = await stopRequested!;
    host.system(`${signal} received; draining in-flight work (a second signal forces)`);
    const force = () => void host.engine.stop(0);
    process.once("SIGTERM", force);
    process.once("SIGINT", force);
    // Replicas take no more calls; those they hold finish in the pools, then the pools stop.
    await consumer?.close(host.engine.longestTimeoutMs + 1000);
    consumer = undefined;
    await host.stop(); // each function's work in flight gets its timeout (the export sets the pod's grace to match)
    return 0;
  } catch (error) {
    await host.stop(0);
    throw error;
  } finally {
    health?.close();
    sink.close();
    await cleanup();
  }
}

/**
 * `--check`, an image's build step: the app loaded in a worker as a pod loads it, and the names
 * asked for found in it, then the worker ends as a pod's does. Node 22 and later write the
 * compile cache of the code it loaded then, where NODE_COMPILE_CACHE says (the exported
 * Dockerfile sets it), and a pod's workers read it rather than compile.
 */
async function checked(host: AppHost, manifest: AppManifest): Promise<number> {
  const names = manifest.functions.map((f) => f.name);
  await host.engine.discardPrepared();
  await host.stop();
  stdout.write(`app "${manifest.appName}" loads; its functions: ${names.join(", ") || "none"}\n`);
  return 0;
}

/**
 * A portable snapshot (`nodal export`'s app.mjs) as it is: built already, it imports its
 * packages and "nodal" from the node_modules beside it, so a pod starts without esbuild.
 */
function snapshot(path: string): BuildOutput | undefined {
  if (!path.endsWith(".mjs")) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined; // the build says the file is missing
  }
  if (!text.startsWith(`${PORTABLE_MARK}\n`)) return undefined;
  return { file: path, hash: createHash("sha256").update(text).digest("hex").slice(0, 16), inputs: [path], externals: [], ms: 0 };
}

/**
 * Cluster mode: calls of functions this pod does not run (`--only` leaves them out) go on
 * their Redis queue; the functions it runs consume theirs. Loaded only when asked for: no
 * Redis is touched otherwise.
 */
async function joinCluster(url: string, only: string[] | undefined) {
  const { ClusterClient, connectionOptions, redact } = await import("../cluster/client.js");
  const { ClusterConsumer } = await import("../cluster/consumer.js");
  const { RedisTransport } = await import("../cluster/transport.js");
  connectionOptions(url); // a malformed URL is a user error now, not a reconnect loop later
  const client = new ClusterClient(url);
  return {
    client,
    transport: new RedisTransport(client, only),
    consume(host: AppHost, manifest: AppManifest, served: string[] | undefined) {
      const specs = manifest.functions.filter((f) => f.kind === "function" && (!served || served.includes(f.name)));
      // One attempt per job: BullMQ makes the retries, after the function's backoff, so the
      // next attempt may run on another replica. Starting the local pool's attempts at the
      // last one lets it make exactly one (with the function's timeout).
      const consumer = new ClusterConsumer(url, manifest.appName, specs, (spec, args, callId) => host.engine.call(spec.name, args, { firstAttempt: spec.retries.maxRetries, callId }));
      for (const spec of specs) host.system(`consuming the queue of ${spec.name} at ${redact(url)}`, spec.name);
      return consumer;
    },
  };
}

/** `--only` and `--call` name functions the app has (`--call` a non-web one). */
function checkNames(manifest: AppManifest, opts: StartOptions): void {
  const names = manifest.functions.map((f) => f.name);
  const known = `its functions: ${names.join(", ") || "none"}`;
  for (const fn of opts.only ?? []) {
    if (!names.includes(fn)) throw new UserError("E_NOT_FOUND", `--only: app "${manifest.appName}" has no function "${fn}"`, known);
  }
  if (opts.call === undefined) return;
  const spec = manifest.functions.find((f) => f.name === opts.call);
  if (!spec) throw new UserError("E_NOT_FOUND", `--call: app "${manifest.appName}" has no function "${opts.call}"`, known);
  if (spec.kind === "web") throw new UserError("E_INVALID_INPUT", `--call: "${opts.call}" is a web function; serve it with \`nodal start\` and call its URL`);
}

/** One run with the function's retries and timeout; the result is the last line on stdout. */
async function callOnce(host: AppHost, fn: string, args: unknown[], sink: NdjsonSink): Promise<number> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: Error };
  try {
    outcome = { ok: true, value: await host.engine.call(fn, args, { onRetry: (n, e, s) => host.system(`attempt ${n} failed (${e.message}); retrying in ${s}s`, fn) }) };
  } catch (error) {
    outcome = { ok: false, error: error as Error };
  }
  await host.stop(2000);
  sink.flush();
  if (!outcome.ok) {
    if (outcome.error instanceof UserError) throw outcome.error;
    const e = outcome.error;
    throw new UserError("E_FUNCTION_FAILED", `function "${fn}" failed: ${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}`);
  }
  stdout.write(JSON.stringify(outcome.value ?? null) + "\n");
  return 0;
}
