// Pod memory from the functions' `memory` limits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SUPERVISOR_MIB, toManifests } from "../../dist/modules/export/manifests.js";
import { fn, validate, web } from "./k8s.js";

const opts = { image: "shop:latest", entry: "app.mjs", secretKeys: {} };
const containerOf = (docs, kind, name) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  return (kind === "CronJob" ? d.spec.jobTemplate.spec.template.spec : d.spec.template.spec).containers[0];
};

test("a pod whose function sets memory requests and is limited to it plus nodal's own; one without has no resources", () => {
  const hourly = { kind: "cron", expression: "0 * * * *", timezone: "UTC" };
  const { docs } = toManifests(
    {
      appName: "shop",
      hasLocalEntrypoint: false,
      functions: [web("api", { memoryMiB: 256 }), web("plain"), fn("report", { memoryMiB: 512, schedule: hourly })],
    },
    opts,
  );
  for (const d of docs) validate(d);
  assert.equal(SUPERVISOR_MIB, 64);
  // Each pod runs a worker of every (non-web) function it may call: report's limit counts in api's pod.
  const api = containerOf(docs, "Deployment", "shop-api");
  assert.deepEqual(api.resources, { requests: { memory: "832Mi" }, limits: { memory: "832Mi" } });
  assert.equal(containerOf(docs, "Deployment", "shop-plain").resources, undefined);
  assert.deepEqual(containerOf(docs, "CronJob", "shop-report").resources.limits, { memory: "576Mi" });

  // With --cluster a pod runs its own function only.
  const cluster = toManifests({ appName: "shop", hasLocalEntrypoint: false, functions: [web("api", { memoryMiB: 256 }), fn("report", { memoryMiB: 512 })] }, { ...opts, cluster: "redis://redis:6379" });
  for (const d of cluster.docs) validate(d);
  assert.deepEqual(containerOf(cluster.docs, "Deployment", "shop-api").resources.limits, { memory: "320Mi" });
  assert.deepEqual(containerOf(cluster.docs, "Deployment", "shop-report").resources.limits, { memory: "576Mi" });
});
