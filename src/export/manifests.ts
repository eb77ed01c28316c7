/**
 * An app's manifest as Kubernetes objects: a Deployment and a Service per web function, a
 * CronJob per schedule, a PersistentVolumeClaim per volume; secrets referenced by name. Plain
 * data; `yaml.ts` writes it.
 */
import { UserError } from "../errors.js";
import type { AppManifest, FunctionSpec } from "../loader/manifest.js";
import { waitListKey } from "../cluster/keys.js";
import { DnsNames, dnsName } from "./names.js";
import { cronJobSchedule } from "./schedules.js";

/** Where the pods mount volumes: `nodal start` finds volume NAME at `$NODAL_VOLUMES_DIR/NAME`. */
export const VOLUMES_DIR = "/var/lib/nodal/volumes";
export const APP_PORT = 8000;
export const HEALTH_PORT = 8081;
/** What a PersistentVolumeClaim asks for; the README says it can be edited. */
export const VOLUME_SIZE = "1Gi";
/** A CronJob run that could not start within this many seconds of its time is skipped. */
export const STARTING_DEADLINE_S = 60;
/** The node image's non-root user; it owns what the pods write to their volumes. */
const NODE_UID = 1000;
/** Job names get 11 characters appended to the CronJob's name; the result must stay ≤ 63. */
const CRONJOB_NAME_MAX = 52;

export interface ExportOptions {
  image: string;
  namespace?: string;
  /** What the pods start: `app.mjs`, or `app.mjs::NAME` for one App of several in the file. */
  entry: string;
  /** Keys of each named secret (from the local store; never values). */
  secretKeys: Record<string, string[]>;
  /**
   * Cluster mode (`--cluster [URL]`): calls cross pods through Redis at `url`, or, without
   * one, through a Redis Deployment of the export's own.
   */
  cluster?: { url?: string };
}

export const REDIS_PORT = 6379;
/** The Redis an export without a URL runs: one pod, nothing kept on disk, no password. */
export const REDIS_IMAGE = "redis:7-alpine";
/** KEDA's default, and `scaledownWindow`'s: the cooldown of a function that does not set one. */
export const COOLDOWN_S = 60;

export type Doc = { apiVersion: string; kind: string; metadata: Record<string, unknown> } & Record<string, unknown>;

/** A secret the manifests reference: its Kubernetes name and the keys it should hold. */
export interface SecretRef {
  name: string;
  dns: string;
  keys: string[];
}

export interface Manifests {
  docs: Doc[];
  secrets: SecretRef[];
  warnings: string[];
}

const DEFAULTS = { concurrency: 1, maxContainers: 10, minContainers: 0 };
/** What a pod holds besides its functions' workers: nodal's own process (about 45 MiB idle). */
export const SUPERVISOR_MIB = 64;

/**
 * A pod's memory, when its function sets `memory`: a worker of each function it runs that sets
 * one, plus nodal's own process. Requested and limited alike: nodal keeps each worker within its
 * own limit, the pod's bounds the whole.
 */
function podResources(fn: FunctionSpec, runs: FunctionSpec[]): Record<string, unknown> {
  if (fn.memoryMiB === undefined) return {};
  const mib = runs.reduce((sum, f) => sum + (f.memoryMiB ?? 0), SUPERVISOR_MIB);
  return { resources: { requests: { memory: `${mib}Mi` }, limits: { memory: `${mib}Mi` } } };
}

export function toManifests(app: AppManifest, opts: ExportOptions): Manifests {
  const warnings: string[] = [];
  const appLabel = dnsName(app.appName);
  const workloads = new DnsNames("function");
  const cronJobs = new DnsNames("scheduled function", CRONJOB_NAME_MAX);
  const volumes = new DnsNames("volume");
  const secretNames = new DnsNames("secret");
  const components = new DnsNames("function");

  const metadata = (name: string, component: string) => ({
    name,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    labels: labels(component),
  });
  const labels = (component: string) => ({
    "app.kubernetes.io/name": appLabel,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/managed-by": "nodal",
  });

  // Every named secret of the app goes to every pod: a pod loads the whole app file, and loading
  // checks each function's required keys (on one machine, too, the engine holds them all and
  // each function's workers get only their own).
  const named = [...new Set(app.functions.flatMap((f) => f.secretNames).filter((n) => n !== "(inline)"))].sort();
  const secrets: SecretRef[] = named.map((name) => ({ name, dns: secretNames.of(name), keys: opts.secretKeys[name] ?? [] }));
  const secretKeysEnv = JSON.stringify(Object.fromEntries(secrets.map((s) => [s.name, s.keys])));
  for (const f of app.functions) {
    if (f.secretNames.includes("(inline)")) {
      warnings.push(`function "${f.name}": inline secrets (Secret.fromDict, Secret.fromDotenv) are read in the pod when the app loads; a .env file is not in the image`);
    }
  }

  const volumeNames = [...new Set(app.functions.flatMap((f) => Object.values(f.volumes)))].sort();
  const claims = new Map(volumeNames.map((v) => [v, volumes.of(v)]));
  const called = app.functions.filter((f) => f.kind === "function" && !f.schedule);
  // In cluster mode a pod runs only its own function; the others are called through Redis.
  const local = opts.cluster ? [] : app.functions.filter((f) => f.kind === "function");
  const docs: Doc[] = [];
  let clusterArgs: string[] = [];
  let redisAddress = "";
  let redisDb: { databaseIndex?: string } = {};
  if (opts.cluster) {
    let url = opts.cluster.url;
    if (url === undefined) {
      const redisName = workloads.of(`${app.appName}-redis`);
      const component = components.of("redis");
      // The KEDA operator resolves the address from its own namespace: the Service's full name.
      const host = `${redisName}.${opts.namespace ?? "default"}.svc.cluster.local`;
      url = `redis://${host}:${REDIS_PORT}`;
      if (!opts.namespace) warnings.push(`the Redis for trying is addressed as ${host}: apply the manifests in namespace "default", or export with --namespace`);
      const meta = { ...metadata(redisName, component), annotations: { "nodal/purpose": "for trying: one Redis pod, no persistence, no password; for production pass --cluster redis://HOST:PORT" } };
      docs.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: meta,
        spec: {
          replicas: 1,
          selector: { matchLabels: labels(component) },
          template: {
            metadata: { labels: labels(component) },
            spec: {
              containers: [{ name: "redis", image: REDIS_IMAGE, args: ["--save", "", "--appendonly", "no"], ports: [{ name: "redis", containerPort: REDIS_PORT }] }],
            },
          },
        },
      });
      docs.push({ apiVersion: "v1", kind: "Service", metadata: meta, spec: { selector: labels(component), ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] } });
    }
    const u = new URL(url);
    if (u.protocol !== "redis:" || !u.hostname) throw new UserError("E_INVALID_INPUT", `--cluster: expected a redis://HOST:PORT URL, got "${url}"`);
    if (u.password || u.username) {
      throw new UserError("E_INVALID_INPUT", "--cluster: the URL has credentials, which would be written into the manifests", "pass a Redis URL without a user or password (reachable only inside the cluster)");
    }
    redisAddress = `${u.hostname}:${u.port || REDIS_PORT}`;
    if (u.pathname.length > 1) redisDb = { databaseIndex: u.pathname.slice(1) };
    clusterArgs = ["--cluster", url];
  }

  /** The pod of a web or scheduled function: it runs that function and, as local workers, every function it may call. */
  const podSpec = (fn: FunctionSpec, args: string[], extra: Record<string, unknown>) => {
    const runs = [fn, ...local.filter((f) => f !== fn)];
    const mounted = [...new Set(runs.flatMap((f) => Object.values(f.volumes)))].sort();
    const container: Record<string, unknown> = {
      name: "nodal",
      image: opts.image,
      args,
      ...extra,
      ...podResources(fn, runs),
      env: [
        { name: "NODAL_VOLUMES_DIR", value: VOLUMES_DIR },
        ...(secrets.length ? [{ name: "NODAL_SECRET_KEYS", value: secretKeysEnv }] : []),
      ],
      ...(secrets.length ? { envFrom: secrets.map((s) => ({ secretRef: { name: s.dns } })) } : {}),
      ...(mounted.length ? { volumeMounts: mounted.map((v) => ({ name: claims.get(v)!, mountPath: `${VOLUMES_DIR}/${v}` })) } : {}),
    };
    return {
      // SIGTERM lets in-flight work finish within the function's timeout.
      terminationGracePeriodSeconds: fn.timeoutSec + 5,
      securityContext: { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, fsGroup: NODE_UID },
      containers: [container],
      ...(mounted.length ? { volumes: mounted.map((v) => ({ name: claims.get(v)!, persistentVolumeClaim: { claimName: claims.get(v)! } })) } : {}),
    };
  };

  for (const fn of app.functions.filter((f) => f.kind === "web")) {
    const name = workloads.of(`${app.appName}-${fn.name}`);
    const component = components.of(fn.name);
    if (fn.port !== undefined) warnings.push(`function "${fn.name}": port ${fn.port} is not used; in Kubernetes it listens on ${APP_PORT}, its Service on 80`);
    if (fn.maxContainers !== DEFAULTS.maxContainers) {
      warnings.push(`function "${fn.name}": maxContainers ${fn.maxContainers} bounds the workers of each pod; the Deployment runs ${Math.max(fn.minContainers, 1)} replica(s) (scale with kubectl scale or an autoscaler)`);
    }
    const probe = (path: string) => ({ httpGet: { path, port: "health" }, periodSeconds: 5, failureThreshold: 3 });
    docs.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata(name, component),
      spec: {
        replicas: fn.minContainers > 0 ? fn.minContainers : 1,
        selector: { matchLabels: labels(component) },
        template: {
          metadata: { labels: labels(component) },
          spec: podSpec(fn, ["start", opts.entry, "--host", "0.0.0.0", "--only", fn.name, "--port", String(APP_PORT), "--health-port", String(HEALTH_PORT), ...clusterArgs], {
            ports: [
              { name: "http", containerPort: APP_PORT },
              { name: "health", containerPort: HEALTH_PORT },
            ],
            readinessProbe: probe("/readyz"),
            livenessProbe: { ...probe("/livez"), initialDelaySeconds: 10 },
          }),
        },
      },
    });
    docs.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata(name, component),
      spec: { selector: labels(component), ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
  }

  for (const fn of app.functions.filter((f) => f.schedule)) {
    const { schedule, timeZone } = cronJobSchedule(fn, fn.schedule!);
    const name = cronJobs.of(`${app.appName}-${fn.name}`);
    workloads.of(`${app.appName}-${fn.name}`); // a CronJob and a Deployment must not share a name either
    const component = components.of(fn.name);
    docs.push({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: metadata(name, component),
      spec: {
        schedule,
        timeZone,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: STARTING_DEADLINE_S,
        jobTemplate: {
          metadata: { labels: labels(component) },
          spec: {
            // nodal retries the function itself (its `retries`); a failed Job is not run again.
            backoffLimit: 0,
            template: {
              metadata: { labels: labels(component) },
              spec: { restartPolicy: "Never", ...podSpec(fn, ["start", opts.entry, "--call", fn.name, ...(opts.cluster ? ["--only", fn.name, ...clusterArgs] : [])], {}) },
            },
          },
        },
      },
    });
  }

  for (const fn of opts.cluster ? called : []) {
    // A replica per pod: it consumes the function's queue, `concurrency` × `maxContainers` calls at once.
    const name = workloads.of(`${app.appName}-${fn.name}`);
    const component = components.of(fn.name);
    const scaled = fn.maxContainers > fn.minContainers;
    const probe = (path: string) => ({ httpGet: { path, port: "health" }, periodSeconds: 5, failureThreshold: 3 });
    docs.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata(name, component),
      spec: {
        // With a ScaledObject, KEDA sets the replicas (to 0 when idle if minContainers is 0).
        replicas: scaled ? fn.minContainers : Math.max(fn.minContainers, 1),
        selector: { matchLabels: labels(component) },
        template: {
          metadata: { labels: labels(component) },
          spec: podSpec(fn, ["start", opts.entry, "--only", fn.name, "--health-port", String(HEALTH_PORT), ...clusterArgs], {
            ports: [{ name: "health", containerPort: HEALTH_PORT }],
            readinessProbe: probe("/readyz"),
            livenessProbe: { ...probe("/livez"), initialDelaySeconds: 10 },
          }),
        },
      },
    });
    if (!scaled) continue;
    docs.push({
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: metadata(name, component),
      spec: {
        scaleTargetRef: { name },
        minReplicaCount: fn.minContainers,
        maxReplicaCount: fn.maxContainers,
        cooldownPeriod: fn.scaledownWindowSec ?? COOLDOWN_S,
        triggers: [
          {
            type: "redis",
            // BullMQ's list of calls waiting for a replica; a backlog of more than `concurrency`
            // calls per replica adds one.
            metadata: { address: redisAddress, listName: waitListKey(app.appName, fn.name), listLength: String(fn.concurrency), ...redisDb },
          },
        ],
      },
    });
  }

  for (const fn of opts.cluster ? [] : called) {
    const set = (["concurrency", "maxContainers", "minContainers"] as const).filter((k) => fn[k] !== DEFAULTS[k]);
    if (set.length) {
      warnings.push(`function "${fn.name}": ${set.join(", ")} apply to each pod's own workers (a called function runs inside the pods of its callers), not across the cluster`);
    }
  }

  for (const claim of claims.values()) {
    docs.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: metadata(claim, "volume"),
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: VOLUME_SIZE } } },
    });
  }

  if (!docs.some((d) => d.kind === "Deployment" || d.kind === "CronJob")) {
    warnings.push(`app "${app.appName}" has no web function and no schedule: nothing would run in the cluster`);
  }
  return { docs, secrets, warnings };
}
