// Reading an export back: every document parsed with `yaml` and validated against the
// Kubernetes and KEDA schemas, golden files compared (UPDATE_GOLDEN=1 writes them).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { parseAllDocuments } from "yaml";

const GOLDEN = fileURLToPath(new URL("golden/", import.meta.url));
const MODELS = { Deployment, Service, CronJob, PersistentVolumeClaim, ScaledObject };
const VERSION = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")).version;

/** A function of a hand-made manifest, with the defaults discovery gives; `extra` overrides. */
export const fn = (name, extra = {}) => ({
  name,
  kind: "function",
  timeoutSec: 300,
  retries: { maxRetries: 0, backoffCoefficient: 2, initialDelaySec: 1, maxDelaySec: 60 },
  concurrency: 1,
  minContainers: 0,
  maxContainers: 10,
  volumes: {},
  secretNames: [],
  env: {},
  secretValues: [],
  ...extra,
});

/** A web function (`app.webApp`) of a hand-made manifest. */
export const web = (name, extra = {}) => fn(name, { kind: "web", style: "app", ...extra });

/** Validates one object against the Kubernetes schema of its kind; throws naming it. */
export function validate(doc) {
  const Model = MODELS[doc.kind];
  assert.ok(Model, `a kind the export writes: ${doc.kind}`);
  try {
    new Model(doc).validate();
  } catch (error) {
    throw new Error(`${doc.kind} ${doc.metadata?.name} is not valid: ${error.message}`);
  }
}

/** The documents of DIR/manifests.yaml, each validated. */
export function validDocs(dir) {
  const parsed = parseAllDocuments(readFileSync(join(dir, "manifests.yaml"), "utf8"));
  const docs = [];
  for (const d of parsed) {
    assert.deepEqual(d.errors, [], "the YAML parses");
    const doc = d.toJS();
    validate(doc);
    docs.push(doc);
  }
  return docs;
}

/** The version of nodal in file names and package specs, so that golden files outlive a release. */
const normalise = (text) => text.split(`nodal-${VERSION}.tgz`).join("nodal-VERSION.tgz");

/** DIR's text files (not app.mjs, the lock or the tarball) match golden/NAME/, or are written there with UPDATE_GOLDEN=1. */
export function matchesGolden(dir, name) {
  const files = { "manifests.yaml": "manifests.yaml", "README.md": "README.md", "Dockerfile": "context/Dockerfile", "package.json": "context/package.json" };
  const golden = join(GOLDEN, name);
  for (const [g, file] of Object.entries(files)) {
    const actual = normalise(readFileSync(join(dir, file), "utf8"));
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(golden, { recursive: true });
      writeFileSync(join(golden, g), actual);
    } else {
      assert.ok(existsSync(join(golden, g)), `golden/${name}/${g} exists (write it with UPDATE_GOLDEN=1)`);
      assert.equal(actual, readFileSync(join(golden, g), "utf8"), `${file} of ${name} matches golden/${name}/${g}`);
    }
  }
}

/** Every text file under DIR (the tarball is the packed nodal, not the app's). */
export function textFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) out.push(...textFiles(file));
    else if (!entry.endsWith(".tgz")) out.push(file);
  }
  return out;
}
