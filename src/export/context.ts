/**
 * The build context of an exported app: what `docker build` needs and nothing from this machine's
 * paths. The snapshot is a portable bundle (bare imports), nodal itself a packed tarball, so the
 * image installs everything with `npm ci` and needs no published nodal.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { NODAL_ROOT } from "../paths.js";
import { APP_PORT, HEALTH_PORT, VOLUMES_DIR } from "./manifests.js";

export interface ContextInput {
  /** The portable bundle, copied in as app.mjs. */
  bundle: string;
  /** Packages the bundle imports, bare names. */
  packages: string[];
  /** The app file's folder: its package.json gives the image the app's dependencies. */
  appDir: string;
  /** The Kubernetes name of the app (the image package's name). */
  name: string;
  /** What the image starts: `app.mjs`, or `app.mjs::NAME`. */
  entry: string;
}

export interface ContextOutput {
  files: string[];
  warnings: string[];
}

/** The official Node image of a supported line, slim. */
export const BASE_IMAGE = "node:24-slim";

/** Where the image keeps Node's compile cache of the app's code (written by its build's `--check`). */
export const COMPILE_CACHE_DIR = "/app/.cache/node-compile";

export async function writeContext(dir: string, input: ContextInput): Promise<ContextOutput> {
  const { execa } = await import("execa");
  const warnings: string[] = [];
  mkdirSync(dir, { recursive: true });
  copyFileSync(input.bundle, join(dir, "app.mjs"));

  const packed = await run(execa, "npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir, NODAL_ROOT], dir, "packing nodal");
  const tarball = (JSON.parse(packed) as { filename: string }[])[0]!.filename.replace(/^.*\//, "");

  const appDeps = readDependencies(join(input.appDir, "package.json"));
  for (const [pkg, spec] of Object.entries(appDeps)) {
    if (/^(file|link):/.test(spec) && pkg !== "nodal") {
      warnings.push(`dependency "${pkg}": ${spec} points outside the build context; publish it, or copy it into the context and fix the path`);
    }
  }
  delete appDeps.nodal;
  const nodalDeps = readDependencies(join(NODAL_ROOT, "package.json"));
  for (const pkg of input.packages) {
    if (pkg !== "nodal" && !(pkg in appDeps) && !(pkg in nodalDeps)) {
      warnings.push(`package "${pkg}" is imported but not in ${join(input.appDir, "package.json")}; the image will not have it: add it to the app's dependencies`);
    }
  }
  // Not the app's bare name: an App named "nodal" would make a package that depends on itself.
  const manifest = { name: `${input.name}-image`, private: true, dependencies: { ...sorted(appDeps), nodal: `file:./${tarball}` } };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
  writeFileSync(join(dir, "Dockerfile"), dockerfile(tarball, input.entry));
  // --prefer-offline: package metadata npm has cached is used without asking the registry again
  // (3.7 → 2.1 s here); what it lacks is fetched as usual.
  await run(execa, "npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], dir, "writing package-lock.json");
  return { files: ["Dockerfile", "app.mjs", "package.json", "package-lock.json", tarball], warnings };
}

export function dockerfile(tarball: string, entry: string): string {
  return `# Written by \`nodal export kubernetes\`: the app's snapshot, its packages and nodal itself.
FROM ${BASE_IMAGE}
ENV NODE_ENV=production NODAL_VOLUMES_DIR=${VOLUMES_DIR}
WORKDIR /app
COPY package.json package-lock.json ${tarball} ./
RUN npm ci --omit=dev --no-audit --no-fund
# V8's code caches of nodal's bundles, written by this image's Node: the ones in the package are
# from the Node that packed it, which another V8 rejects (a pod's start would compile them).
RUN NODAL_WRITE_CODE_CACHE=1 node_modules/.bin/nodal --version
COPY app.mjs ./
# The app loaded as a pod loads it (secrets are the pod's, so they are not checked here): an app
# that cannot load in this image fails the build rather than the pods. Node writes the compile
# cache of the code loaded where NODE_COMPILE_CACHE says, and the pods' workers read it rather
# than compile the app and its packages again.
ENV NODE_COMPILE_CACHE=${COMPILE_CACHE_DIR}
RUN ["node_modules/.bin/nodal", "start", ${JSON.stringify(entry)}, "--check"]
# Volumes no PersistentVolumeClaim is mounted for are made here, by the non-root user.
RUN mkdir -p ${VOLUMES_DIR} && chown node:node ${VOLUMES_DIR}
USER node
EXPOSE ${APP_PORT} ${HEALTH_PORT}
# The manifests pass their own arguments (--only, --port, --health-port, --call) to the entrypoint.
ENTRYPOINT ["node_modules/.bin/nodal"]
CMD ["start", ${JSON.stringify(entry)}, "--host", "0.0.0.0"]
`;
}

function readDependencies(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    return { ...((JSON.parse(readFileSync(file, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {}) };
  } catch (error) {
    throw new UserError("E_INVALID_INPUT", `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

type Execa = typeof import("execa").execa;

async function run(execa: Execa, cmd: string, args: string[], cwd: string, what: string): Promise<string> {
  const result = await execa(cmd, args, { cwd, reject: false, stdin: "ignore" });
  if (result.exitCode !== 0 || result.failed) {
    const tail = `${result.stderr}`.trim().split("\n").slice(-8).join("\n");
    throw new UserError("E_INVALID_STATE", `${what} failed (\`${cmd} ${args.join(" ")}\`):\n${tail || result.shortMessage}`, "check that npm can reach its registry, then export again");
  }
  return `${result.stdout}`;
}
