// `nodal export kubernetes`: every template and a fixture exported, every document valid
// against the Kubernetes schemas, the mapping pinned by golden files, no secret value written.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, sandbox } from "../helpers.js";
import { matchesGolden, textFiles, validDocs } from "./k8s.js";

const EXPORT_TIMEOUT_MS = 120_000; // npm pack and a package-lock from the registry

const fixture = `
import ms from "ms";
import { App, Cron, Period, Secret, Volume } from "nodal";
export const app = new App("shop_app");
const media = Volume.fromName("media.files", { createIfMissing: true });
const ledger = Volume.fromName("Ledger");
const db = Secret.fromName("db_creds", { requiredKeys: ["DB_URL"] });
const mail = Secret.fromName("mail.keys");
export const resize = app.function({ volumes: { "/media": media }, concurrency: 4, timeout: 120 }, async (n: number) => n * 2);
export const refresh = app.function({ schedule: new Period({ minutes: 15 }), volumes: { "/ledger": ledger }, secrets: [db], retries: 2 }, async () => resize.remote(1));
export const nightly = app.function({ schedule: new Cron("30 2 * * *", { timezone: "Europe/Paris" }), secrets: [mail], timeout: 600 }, async () => ms("1h"));
export const orders = app.webEndpoint({ method: "POST", secrets: [db], volumes: { "/media": media }, minContainers: 2, port: 9123 }, async (b: { n: number }) => ({ n: b.n }));
`;

const byKind = (docs, kind) => docs.filter((d) => d.kind === kind);

test("every template exports to valid documents that match their golden files", async (t) => {
  const templates = readdirSync(join(ROOT, "templates")).filter((d) => existsSync(join(ROOT, "templates", d, "app.ts"))).sort();
  assert.ok(templates.length >= 5, templates.join(", "));
  const box = sandbox(t);
  for (const name of templates) {
    const out = `k8s-${name}`;
    const r = await box.run(["export", "kubernetes", join(ROOT, "templates", name, "app.ts"), "-o", out], { timeoutMs: EXPORT_TIMEOUT_MS });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const dir = join(box.dir, out);
    const docs = validDocs(dir);
    assert.ok(byKind(docs, "Deployment").length >= 1, `${name} has a Deployment`);
    assert.equal(byKind(docs, "Service").length, byKind(docs, "Deployment").length);
    for (const d of docs) {
      assert.equal(d.metadata.labels["app.kubernetes.io/managed-by"], "nodal");
      assert.equal(d.metadata.namespace, undefined, "no --namespace, no namespace");
    }
    for (const f of ["Dockerfile", "app.mjs", "package.json", "package-lock.json", "nodal-"]) {
      assert.ok(readdirSync(join(dir, "context")).some((e) => e.startsWith(f)), `${name}: context/${f}…`);
    }
    const bundle = readFileSync(join(dir, "context", "app.mjs"), "utf8");
    assert.match(bundle, /from "nodal"/, "nodal stays a bare import");
    assert.doesNotMatch(bundle, new RegExp(ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "no path of this machine in the bundle");
    assert.match(r.stdout, new RegExp(`wrote ${out}/[\\s\\S]*Deployment[\\s\\S]*docker build -t ${name}:latest ${out}/context[\\s\\S]*kubectl apply -f ${out}/manifests.yaml`));
    matchesGolden(dir, name);
  }
  assert.equal(existsSync(box.home), false, "exporting writes nothing under NODAL_HOME (no volume, no secrets folder)");
});

test("a fixture with a called function, a Period, a Cron in a time zone, two volumes and two secrets", async (t) => {
  // The app folder's dependencies go into the image; its own "nodal" is replaced by the packed one.
  const box = sandbox(t, { "app.ts": fixture, "package.json": JSON.stringify({ name: "shop", dependencies: { "left-pad": "^1.3.0", nodal: "^0.1.0" } }) });
  const values = ["postgres://shop:s3cr3t-db-pass@db/shop", "p00l-size-17", "m4il-s3cret-value"];
  assert.equal((await box.run(["secret", "create", "db_creds", `DB_URL=${values[0]}`, `DB_POOL=${values[1]}`])).code, 0);
  assert.equal((await box.run(["secret", "create", "mail.keys", `SMTP_PASS=${values[2]}`])).code, 0);

  const r = await box.run(["export", "kubernetes", "app.ts", "-o", "out", "--image", "registry.example/shop:1.2", "--namespace", "shop"], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(r.code, 0, r.stderr);
  const dir = join(box.dir, "out");
  const docs = validDocs(dir);
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
    "Deployment/shop-app-orders",
    "Service/shop-app-orders",
    "CronJob/shop-app-refresh",
    "CronJob/shop-app-nightly",
    "PersistentVolumeClaim/ledger",
    "PersistentVolumeClaim/media-files",
  ]);
  for (const d of docs) assert.equal(d.metadata.namespace, "shop");

  const [deployment] = byKind(docs, "Deployment");
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  assert.equal(deployment.spec.replicas, 2, "minContainers");
  assert.equal(pod.terminationGracePeriodSeconds, 305);
  assert.equal(container.image, "registry.example/shop:1.2");
  assert.deepEqual(container.args, ["start", "app.mjs", "--host", "0.0.0.0", "--only", "orders", "--port", "8000", "--health-port", "8081"]);
  assert.deepEqual(container.envFrom, [{ secretRef: { name: "db-creds" } }, { secretRef: { name: "mail-keys" } }]);
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
  assert.equal(env.NODAL_VOLUMES_DIR, "/var/lib/nodal/volumes");
  assert.deepEqual(JSON.parse(env.NODAL_SECRET_KEYS), { db_creds: ["DB_POOL", "DB_URL"], "mail.keys": ["SMTP_PASS"] });
  // The web function's pod runs the functions it may call as local workers: their volumes too.
  assert.deepEqual(container.volumeMounts, [
    { name: "ledger", mountPath: "/var/lib/nodal/volumes/Ledger" },
    { name: "media-files", mountPath: "/var/lib/nodal/volumes/media.files" },
  ]);
  assert.equal(container.readinessProbe.httpGet.path, "/readyz");
  assert.equal(container.livenessProbe.httpGet.path, "/livez");
  assert.deepEqual(byKind(docs, "Service")[0].spec.ports, [{ name: "http", port: 80, targetPort: "http" }]);

  const [refresh, nightly] = byKind(docs, "CronJob");
  assert.equal(refresh.spec.schedule, "*/15 * * * *");
  assert.equal(refresh.spec.timeZone, "UTC");
  assert.equal(nightly.spec.schedule, "30 2 * * *");
  assert.equal(nightly.spec.timeZone, "Europe/Paris");
  for (const c of [refresh, nightly]) {
    assert.equal(c.spec.concurrencyPolicy, "Forbid");
    assert.equal(c.spec.startingDeadlineSeconds, 60);
    assert.equal(c.spec.jobTemplate.spec.backoffLimit, 0);
    assert.equal(c.spec.jobTemplate.spec.template.spec.restartPolicy, "Never");
  }
  assert.deepEqual(nightly.spec.jobTemplate.spec.template.spec.containers[0].args, ["start", "app.mjs", "--call", "nightly"]);
  assert.equal(nightly.spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds, 605);
  for (const pvc of byKind(docs, "PersistentVolumeClaim")) assert.deepEqual(pvc.spec.accessModes, ["ReadWriteMany"]);

  // Warnings name what Kubernetes cannot honour.
  assert.match(r.stderr, /warning: function "orders": port 9123 is not used/);
  assert.match(r.stderr, /warning: function "resize": concurrency apply to each pod's own workers/);
  assert.match(r.stderr, /warning: volume "Ledger" is loaded without createIfMissing/);
  // "ms" resolves here (nodal's own node_modules) but nothing installs it in the image.
  assert.match(r.stderr, /warning: package "ms" is imported but not in \S+package\.json; the image will not have it/);
  assert.doesNotMatch(r.stderr, /package "(left-pad|nodal)"/);
  const pkg = JSON.parse(readFileSync(join(dir, "context", "package.json"), "utf8"));
  assert.deepEqual(Object.keys(pkg.dependencies), ["left-pad", "nodal"]);
  assert.match(pkg.dependencies.nodal, /^file:\.\/nodal-[\d.]+\.tgz$/);
  assert.ok(JSON.parse(readFileSync(join(dir, "context", "package-lock.json"), "utf8")).packages["node_modules/left-pad"], "the lock holds the app's dependency");
  // The README and the printed next steps list the keys, never the values.
  const readme = readFileSync(join(dir, "README.md"), "utf8");
  assert.match(readme, /kubectl create secret generic db-creds -n shop --from-literal=DB_POOL='<value>' --from-literal=DB_URL='<value>'/);
  assert.match(readme, /kubectl create secret generic mail-keys -n shop --from-literal=SMTP_PASS='<value>'/);
  assert.match(r.stdout, /kubectl create secret generic mail-keys -n shop --from-literal=SMTP_PASS='<value>'/);
  const files = textFiles(dir);
  assert.ok(files.length >= 6, files.join(", "));
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const v of values) assert.equal(text.includes(v), false, `${file} holds a secret value`);
  }
  for (const v of values) assert.equal(r.stdout.includes(v) || r.stderr.includes(v), false, "nor does the output");
  matchesGolden(dir, "fixture");
});

test("--cluster: the hello template's called function gets a Deployment and a KEDA ScaledObject; without a URL, a Redis for trying", async (t) => {
  const box = sandbox(t);
  const hello = join(ROOT, "templates", "hello", "app.ts");
  const r = await box.run(["export", "kubernetes", hello, "-o", "out", "--cluster", "redis://redis.example:6379"], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(r.code, 0, r.stderr);
  const docs = validDocs(join(box.dir, "out"));
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
    "Deployment/hello-api",
    "Service/hello-api",
    "Deployment/hello-greet",
    "Service/hello-greet",
    "Deployment/hello-square",
    "ScaledObject/hello-square",
  ]);
  assert.match(r.stdout, /1 ScaledObject: hello-square/);
  matchesGolden(join(box.dir, "out"), "hello-cluster");

  const own = await box.run(["export", "kubernetes", hello, "-o", "own", "--cluster", "--namespace", "try"], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(own.code, 0, own.stderr);
  const ownDocs = validDocs(join(box.dir, "own"));
  assert.deepEqual(ownDocs.slice(0, 2).map((d) => `${d.kind}/${d.metadata.name}`), ["Deployment/hello-redis", "Service/hello-redis"]);
  assert.equal(ownDocs.find((d) => d.kind === "ScaledObject").spec.triggers[0].metadata.address, "hello-redis.try.svc.cluster.local:6379");
});

test("a Period no cron equals is an error naming the function and the nearest cron; nothing is written", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App, Period } from "nodal";
export const app = new App("ticks");
export const tick = app.function({ schedule: new Period({ minutes: 7 }) }, async () => 1);
`,
  });
  const r = await box.run(["export", "kubernetes", "app.ts", "-o", "out"], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /function "tick": a Period of 7 min has no exact cron/);
  assert.match(r.stderr, /new Cron\("\*\/6 \* \* \* \*"\)/);
  assert.equal(existsSync(join(box.dir, "out")), false);
});

test("two secrets that map to one Kubernetes name are an error naming both; nothing is written", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App, Secret } from "nodal";
export const app = new App("clash");
export const a = app.webEndpoint({ secrets: [Secret.fromName("api_keys")] }, async () => 1);
export const b = app.webEndpoint({ secrets: [Secret.fromName("API.keys")] }, async () => 2);
`,
  });
  const r = await box.run(["export", "kubernetes", "app.ts", "-o", "out"], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /secrets "API\.keys" and "api_keys" both map to the Kubernetes name "api-keys"/);
  assert.equal(existsSync(join(box.dir, "out")), false);
});

test("a failure while writing removes the folder it made, and leaves an existing one as it was", async (t) => {
  const box = sandbox(t, { "app.ts": `import { App } from "nodal";
export const app = new App("offline");
export const api = app.webEndpoint({}, async () => 1);
`, "kept/notes.txt": "mine\n" });
  // npm offline with an empty cache: packing nodal works, writing the lock fails at once.
  const offline = { npm_config_offline: "true", npm_config_cache: join(box.dir, "empty-npm-cache") };
  const fresh = await box.run(["export", "kubernetes", "app.ts", "-o", "fresh"], { env: offline, timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(fresh.code, 1, fresh.stderr);
  assert.match(fresh.stderr, /writing package-lock\.json failed/);
  assert.equal(existsSync(join(box.dir, "fresh")), false);

  const kept = await box.run(["export", "kubernetes", "app.ts", "-o", "kept"], { env: offline, timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(kept.code, 1, kept.stderr);
  assert.deepEqual(readdirSync(join(box.dir, "kept")), ["notes.txt"]);
  assert.equal(readFileSync(join(box.dir, "kept", "notes.txt"), "utf8"), "mine\n");
});
