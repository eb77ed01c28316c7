/**
 * `nodal export kubernetes`: loads the app as `nodal start` would in a pod (secrets from the
 * environment, volumes under a volumes root), maps its manifest to Kubernetes objects, and writes
 * a build context, `manifests.yaml` and a README into one folder. Everything that can fail on
 * the app's declarations fails before anything is written; a failure while writing removes what
 * was written.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { stringify } from "yaml";
import { Engine } from "../engine/engine.js";
import { UserError } from "../errors.js";
import { Builder } from "../loader/build.js";
import type { AppManifest } from "../loader/manifest.js";
import type { Target } from "../loader/target.js";
import { nodalHome } from "../registry/home.js";
import { readInfo } from "../registry/secrets.js";
import { Volume } from "../sdk/volume.js";
import { stderr, stdout } from "../ui/stdio.js";
import { writeContext } from "./context.js";
import { toManifests, type Doc } from "./manifests.js";
import { dnsName } from "./names.js";
import { nextCommands, readme } from "./readme.js";

export interface KubernetesExportOptions {
  /** The output folder, as the user wrote it (shown in the README and the next commands). */
  out: string;
  image?: string;
  namespace?: string;
  /** `--cluster [URL]`: cross-pod calls through Redis (URL undefined: a Redis of the export's own). */
  cluster?: { url?: string };
}

/** Stand-in for required secret keys while the app loads here; never written anywhere. */
const PLACEHOLDER = "nodal-export-placeholder";
/** Loads tried while learning which secret keys and volumes the app needs. */
const MAX_LOADS = 20;

export async function exportKubernetes(target: Target, opts: KubernetesExportOptions): Promise<number> {
  if (opts.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(opts.namespace)) {
    throw new UserError("E_INVALID_INPUT", `--namespace "${opts.namespace}" is not a Kubernetes namespace name`, "use lowercase letters, digits and \"-\", at most 63 characters");
  }
  const scratch = mkdtempSync(join(tmpdir(), "nodal-export-"));
  try {
    const { manifest, required, missingVolumes } = await load(target, scratch);
    const image = opts.image ?? `${dnsName(manifest.appName)}:latest`;
    const secretKeys = keysOf(manifest, required);
    const entry = target.selector ? `app.mjs::${target.selector}` : "app.mjs";
    const { docs, secrets, warnings } = toManifests(manifest, { image, entry, ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.cluster ? { cluster: opts.cluster } : {}), secretKeys });
    for (const v of missingVolumes) {
      warnings.push(`volume "${v}" is loaded without createIfMissing: a new PersistentVolumeClaim holds no volume yet, so the pods fail to load; use Volume.fromName("${v}", { createIfMissing: true })`);
    }

    const portable = new Builder(target.path, join(scratch, "portable"), { portable: true });
    let bundle;
    try {
      bundle = await portable.build();
    } finally {
      await portable.dispose();
    }

    const out = resolve(opts.out);
    const created = !existsSync(out);
    const staging = join(out, `.context-${process.pid}`);
    let files: string[];
    try {
      mkdirSync(out, { recursive: true });
      const context = await writeContext(staging, {
        bundle: bundle.file,
        packages: bundle.packages ?? [],
        appDir: dirname(target.path),
        name: dnsName(manifest.appName),
        entry,
      });
      files = context.files;
      warnings.push(...context.warnings);
      rmSync(join(out, "context"), { recursive: true, force: true });
      renameSync(staging, join(out, "context"));
      writeFileSync(join(out, "manifests.yaml"), toYaml(manifest.appName, docs));
      const kinds = countKinds(docs);
      writeFileSync(join(out, "README.md"), readme({ appName: manifest.appName, dir: opts.out, image, ...(opts.namespace ? { namespace: opts.namespace } : {}), secrets, kinds, volumes: docs.some((d) => d.kind === "PersistentVolumeClaim") }));
    } catch (error) {
      rmSync(created ? out : staging, { recursive: true, force: true });
      throw error;
    }

    for (const w of warnings) stderr.write(`warning: ${w}\n`);
    const lines = [
      `wrote ${opts.out}/`,
      `  context/         ${files.join(", ")}`,
      ...(docs.length ? kindLines(docs).map((l, i) => `  ${i === 0 ? "manifests.yaml " : "               "}  ${l}`) : ["  manifests.yaml   no objects"]),
      `  README.md`,
      `next:`,
      ...nextCommands({ dir: opts.out, image, ...(opts.namespace ? { namespace: opts.namespace } : {}), secrets }).map((c) => `  ${c}`),
    ];
    stdout.write(lines.join("\n") + "\n");
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** One line per kind: "2 Deployments: shop-api, shop-admin". */
function kindLines(docs: Doc[]): string[] {
  const names = new Map<string, string[]>();
  for (const d of docs) names.set(d.kind, [...(names.get(d.kind) ?? []), String(d.metadata.name)]);
  return [...names].map(([kind, list]) => `${list.length} ${kind}${list.length > 1 ? "s" : ""}: ${list.join(", ")}`);
}

/** "1 Deployment", "2 PersistentVolumeClaims"… in the order the kinds first appear. */
function countKinds(docs: Doc[]): string[] {
  const counts = new Map<string, number>();
  for (const d of docs) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}${n > 1 ? "s" : ""}`);
}

function toYaml(appName: string, docs: Doc[]): string {
  const header = `# Written by \`nodal export kubernetes\` for app "${appName}": kubectl apply -f this file.\n`;
  // lineWidth 0: NODAL_SECRET_KEYS is JSON on one line; folding it would still parse, but unreadably.
  return header + docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join("");
}

/** Keys of each named secret: those stored here (keys only, never values) and those the app requires. */
function keysOf(manifest: AppManifest, required: Map<string, Set<string>>): Record<string, string[]> {
  const keys: Record<string, string[]> = {};
  // readInfo makes the secrets folder when it is missing; an export leaves NODAL_HOME as it was.
  const stored = existsSync(join(nodalHome(), "secrets"));
  for (const name of new Set(manifest.functions.flatMap((f) => f.secretNames))) {
    if (name === "(inline)") continue;
    keys[name] = [...new Set([...((stored && readInfo(name)?.keys) || []), ...(required.get(name) ?? [])])].sort();
  }
  return keys;
}

/**
 * Loads the app in a worker the way a pod does: secrets from the environment, volumes under a
 * scratch volumes root, so that exporting needs no stored secret and touches no local volume.
 * A load that fails on a missing required key or volume learns it, stands it in, and loads again.
 */
async function load(target: Target, scratch: string): Promise<{ manifest: AppManifest; required: Map<string, Set<string>>; missingVolumes: string[] }> {
  // Workers take the environment of this process; what is set here is put back afterwards.
  const saved = { ...process.env };
  process.env.NODAL_SECRETS_SOURCE = "env";
  process.env.NODAL_SECRET_KEYS = "{}";
  process.env.NODAL_VOLUMES_DIR = join(scratch, "volumes");
  const required = new Map<string, Set<string>>();
  const missingVolumes: string[] = [];
  const builder = new Builder(target.path, join(scratch, "build"));
  try {
    const build = await builder.build();
    for (let attempt = 1; ; attempt++) {
      const engine = new Engine({
        file: target.file,
        ...(target.selector ? { selector: target.selector } : {}),
        host: "127.0.0.1",
        basePort: 8000,
        serveWeb: false,
        spares: 0,
        onLog: (e) => stderr.write(`${e.lines.join("\n")}\n`),
      });
      try {
        return { manifest: await engine.prepare(build), required, missingVolumes };
      } catch (error) {
        if (attempt >= MAX_LOADS || !(error instanceof UserError) || !learn(error.message, required, missingVolumes)) throw error;
      } finally {
        await engine.discardPrepared();
        await engine.stop(500);
      }
    }
  } finally {
    await builder.dispose();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Stands in what a failed load missed; false when the failure is something else. */
function learn(message: string, required: Map<string, Set<string>>, missingVolumes: string[]): boolean {
  const keys = /secret "([^"]+)" is missing required keys? ([^;]+);/.exec(message);
  if (keys) {
    const names = keys[2]!.split(",").map((k) => k.trim()).filter((k) => k && process.env[k] === undefined);
    if (names.length === 0) return false;
    for (const k of names) process.env[k] = PLACEHOLDER;
    required.set(keys[1]!, new Set([...(required.get(keys[1]!) ?? []), ...names]));
    return true;
  }
  const volume = /volume "([^"]+)" does not exist/.exec(message);
  if (volume && Volume.create(volume[1]!)) {
    missingVolumes.push(volume[1]!);
    return true;
  }
  return false;
}
