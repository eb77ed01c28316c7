// The mapping from an app's manifest to Kubernetes objects, on hand-made manifests.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toManifests } from "../../dist/modules/export/manifests.js";
import { fn, validate, web } from "./k8s.js";

const app = (functions, appName = "shop") => ({ appName, functions, hasLocalEntrypoint: false });
const opts = { image: "shop:latest", entry: "app.mjs", secretKeys: {} };

test("two functions that map to one Kubernetes name are an error naming both", () => {
  assert.throws(
    () => toManifests(app([web("my_api"), web("my.api")]), opts),
    (e) => e.code === "E_INVALID_NAME" && /functions "shop-my_api" and "shop-my\.api" both map to the Kubernetes name "shop-my-api"/.test(e.message),
  );
  assert.throws(
    () => toManifests(app([web("api", { volumes: { "/a": "Data" } }), fn("job", { volumes: { "/b": "data" } })]), opts),
    (e) => e.code === "E_INVALID_NAME" && /volumes "Data" and "data"/.test(e.message),
  );
});

test("long names are cut to what Kubernetes allows: 63 for a Deployment, 52 for a CronJob (its Jobs add 11)", () => {
  const long = "f".repeat(60);
  const { docs } = toManifests(app([web(`w${long}`), fn(`c${long}`, { schedule: { kind: "cron", expression: "0 * * * *", timezone: "UTC" } })]), opts);
  for (const d of docs) validate(d);
  const names = Object.fromEntries(docs.map((d) => [d.kind, d.metadata.name]));
  assert.equal(names.Deployment.length, 63);
  assert.equal(names.CronJob.length, 52);
  assert.match(names.CronJob, /^shop-cf+$/);
});

test("every pod gets every named secret with its keys; inline secrets, pinned ports and per-pod limits are warnings", () => {
  const { docs, secrets, warnings } = toManifests(
    app([
      web("api", { secretNames: ["api_keys"], port: 9000, maxContainers: 3 }),
      fn("mail", { secretNames: ["smtp", "(inline)"], concurrency: 8 }),
    ]),
    { ...opts, namespace: "prod", secretKeys: { api_keys: ["API_KEYS"], smtp: ["HOST", "PASS"] } },
  );
  for (const d of docs) validate(d);
  assert.deepEqual(secrets, [
    { name: "api_keys", dns: "api-keys", keys: ["API_KEYS"] },
    { name: "smtp", dns: "smtp", keys: ["HOST", "PASS"] },
  ]);
  const container = docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0];
  assert.deepEqual(container.envFrom, [{ secretRef: { name: "api-keys" } }, { secretRef: { name: "smtp" } }]);
  assert.deepEqual(JSON.parse(container.env.find((e) => e.name === "NODAL_SECRET_KEYS").value), { api_keys: ["API_KEYS"], smtp: ["HOST", "PASS"] });
  assert.ok(docs.every((d) => d.metadata.namespace === "prod"));
  assert.equal(warnings.length, 4, warnings.join("\n"));
  assert.match(warnings.join("\n"), /"mail": inline secrets/);
  assert.match(warnings.join("\n"), /"api": port 9000 is not used/);
  assert.match(warnings.join("\n"), /"api": maxContainers 3 bounds the workers of each pod/);
  assert.match(warnings.join("\n"), /"mail": concurrency apply to each pod's own workers/);
});

test("an app with neither a web function nor a schedule writes no workload, and says so", () => {
  const { docs, warnings } = toManifests(app([fn("square")], "calc"), opts);
  assert.deepEqual(docs, []);
  assert.deepEqual(warnings, ['app "calc" has no web function and no schedule: nothing would run in the cluster']);
});

const clusterApp = () =>
  app([
    web("api"),
    fn("resize", { maxContainers: 5, minContainers: 1, concurrency: 4, volumes: { "/m": "media" } }),
    fn("notify", { maxContainers: 2, minContainers: 2 }),
    fn("nightly", { schedule: { kind: "cron", expression: "0 3 * * *", timezone: "UTC" } }),
  ]);

test("--cluster URL: every pod gets the URL, a Deployment per called function, a KEDA ScaledObject where maxContainers > minContainers", () => {
  const { docs, warnings } = toManifests(clusterApp(), { ...opts, cluster: { url: "redis://redis.infra:6380/2" } });
  for (const d of docs) validate(d);
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
    "Deployment/shop-api",
    "Service/shop-api",
    "CronJob/shop-nightly",
    "Deployment/shop-resize",
    "ScaledObject/shop-resize",
    "Deployment/shop-notify",
    "PersistentVolumeClaim/media",
  ]);
  const byName = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const args = (d) => (d.spec.template ?? d.spec.jobTemplate.spec.template).spec.containers[0].args;
  assert.deepEqual(args(byName("Deployment", "shop-api")).slice(-2), ["--cluster", "redis://redis.infra:6380/2"]);
  assert.deepEqual(args(byName("CronJob", "shop-nightly")), ["start", "app.mjs", "--call", "nightly", "--only", "nightly", "--cluster", "redis://redis.infra:6380/2"]);
  const resize = byName("Deployment", "shop-resize");
  assert.deepEqual(args(resize), ["start", "app.mjs", "--only", "resize", "--health-port", "8081", "--cluster", "redis://redis.infra:6380/2"]);
  assert.equal(resize.spec.replicas, 1, "KEDA scales from minContainers");
  assert.equal(resize.spec.template.spec.containers[0].readinessProbe.httpGet.path, "/readyz");
  assert.deepEqual(resize.spec.template.spec.volumes.map((v) => v.name), ["media"], "its own volumes only");
  assert.equal(byName("Deployment", "shop-api").spec.template.spec.volumes, undefined, "the web pod runs no function that mounts one");
  assert.equal(byName("Deployment", "shop-notify").spec.replicas, 2, "no scaler: minContainers replicas");
  assert.deepEqual(byName("ScaledObject", "shop-resize").spec, {
    scaleTargetRef: { name: "shop-resize" },
    minReplicaCount: 1,
    maxReplicaCount: 5,
    cooldownPeriod: 60,
    triggers: [{ type: "redis", metadata: { address: "redis.infra:6380", listName: "nodal:shop:resize:wait", listLength: "4", databaseIndex: "2" } }],
  });
  assert.ok(!warnings.some((w) => /inside the pods of its callers/.test(w)));
});

test("--cluster with no URL: a Redis Deployment and Service of its own, labelled for trying, addressed by its full name", () => {
  const { docs, warnings } = toManifests(clusterApp(), { ...opts, namespace: "shop-ns", cluster: {} });
  for (const d of docs) validate(d);
  const redis = docs.filter((d) => d.metadata.labels["app.kubernetes.io/component"] === "redis");
  assert.deepEqual(redis.map((d) => `${d.kind}/${d.metadata.name}`), ["Deployment/shop-redis", "Service/shop-redis"]);
  for (const d of redis) assert.match(d.metadata.annotations["nodal/purpose"], /^for trying/);
  assert.deepEqual(redis[0].spec.template.spec.containers[0].args, ["--save", "", "--appendonly", "no"]);
  const url = "redis://shop-redis.shop-ns.svc.cluster.local:6379";
  assert.ok(docs.filter((d) => d.kind === "Deployment" && d !== redis[0]).every((d) => d.spec.template.spec.containers[0].args.includes(url)));
  assert.equal(docs.find((d) => d.kind === "ScaledObject").spec.triggers[0].metadata.address, "shop-redis.shop-ns.svc.cluster.local:6379");
  assert.ok(!warnings.some((w) => /namespace "default"/.test(w)), "the namespace is known");
  assert.ok(toManifests(clusterApp(), { ...opts, cluster: {} }).warnings.some((w) => /namespace "default"/.test(w)));
});

test("--cluster with credentials in the URL is an error: they would be written into the manifests", () => {
  assert.throws(() => toManifests(clusterApp(), { ...opts, cluster: { url: "redis://:hunter2@redis:6379" } }), (e) => e.code === "E_INVALID_INPUT" && !e.message.includes("hunter2"));
  assert.throws(() => toManifests(clusterApp(), { ...opts, cluster: { url: "http://redis:6379" } }), (e) => e.code === "E_INVALID_INPUT");
});
