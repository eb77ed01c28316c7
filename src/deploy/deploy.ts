import { dashboardLink } from "../dashboard/link.js";
import { rmSync } from "node:fs";
import type { BuildOutput } from "../loader/build.js";
import type { Target } from "../loader/target.js";
import { UserError } from "../errors.js";
import { checkName } from "../sdk/names.js";
import { homeDir } from "../registry/home.js";
import { listApps, liveState, newAppId, type AppRecord } from "../registry/apps.js";
import { withNameLock } from "../registry/lock.js";
import { repairRecords } from "../registry/live.js";
import { sweep } from "../registry/sweep.js";
import { listVersions, saveVersion, versionBuild, versionDir, type VersionRecord } from "../registry/versions.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import type { PublicManifest } from "../engine/status.js";
import type { AppSource } from "../supervisor/supervisor.js";
import { style } from "../ui/output.js";
import { progress } from "../ui/progress.js";
import { PendingSupervisor, startFailure } from "./pending.js";
import { deployTree } from "./tree.js";
import { stdout } from "../ui/stdio.js";

export interface DeployOptions {
  name?: string;
  host: string;
  json: boolean;
  /** Kept with the new version (`app history`). */
  tag?: string;
}

export interface DeployResult {
  name: string;
  version: number;
  urls: Record<string, string>;
  manifest: PublicManifest | undefined;
  skipped: boolean;
  /** Unchanged code whose declared secrets changed: new workers for the live version. */
  rolledOver?: boolean;
  id: string;
}

/** The live deployed instance of a name, if any (a crashed one is not live). */
export function liveDeployment(name: string): AppRecord | undefined {
  return listApps()
    .filter((r) => r.name === name && r.state === "deployed")
    .find((r) => liveState(r) === "deployed");
}

/**
 * The live deployed instance last deployed from this file under the App's own name (the
 * redeploy fast path). One deployed with `--name` is an app of its own, reached only by that name.
 */
function liveFromFile(target: Target): AppRecord | undefined {
  const latest = listApps().filter((r) => r.state === "deployed" && r.file === target.path && liveState(r) === "deployed");
  return latest.find((r) => {
    const newest = listVersions(r.name)[0];
    return newest?.selector === target.selector && !newest.named;
  });
}

/**
 * `nodal deploy`. A redeploy of a live app swaps the new snapshot into its supervisor. A first
 * deploy starts a supervisor at once, so its Node start-up overlaps the build; the supervisor
 * loads the build, names the app, and commits only once this CLI holds the name's lock.
 */
export async function deploy(target: Target, opts: DeployOptions): Promise<number> {
  const started = performance.now();
  sweep(); // leftovers of killed commands: build folders, temp files of records
  await repairRecords(); // a damaged record of a running app must not hide it (reads the records only, unless one is damaged)
  // Then, before anything slow is loaded: a first deploy's supervisor (and the worker it forks
  // at once) boots while this CLI builds. A redeploy swaps into the live supervisor instead; a
  // spare one would only take CPU from it.
  const guess = opts.name ? liveDeployment(checkNameForCli(opts.name)) : liveFromFile(target);
  const pending = guess ? undefined : PendingSupervisor.spawn();
  const source = appSource(opts.host, target.file, target.path, target.selector);
  // A redeploy: the live supervisor boots the new version's worker while this CLI builds.
  if (guess) void controlRequest(controlSocketPath(guess.id), "warm", {}, 2000).catch(() => {});
  const buildDir = homeDir("builds", `deploy-${process.pid}-${Date.now()}`);
  // Loaded after the supervisor is on its way: esbuild's module takes a while to load.
  const { Builder } = await import("../loader/build.js");
  const builder = new Builder(target.path, buildDir);
  const meta = { file: target.path, display: target.file, ...(target.selector ? { selector: target.selector } : {}), ...(opts.name ? { named: true } : {}), ...(opts.tag !== undefined ? { tag: opts.tag } : {}) };
  const spinner = progress();
  try {
    spinner.step(`Building ${target.file}…`);
    const build = await builder.build();
    await builder.dispose();
    let result: DeployResult;
    spinner.step(guess ? `Swapping the new version into ${guess.name}…` : `Starting ${target.file}…`);
    if (guess) {
      result = await withNameLock(guess.name, async () => {
        const live = liveDeployment(guess.name);
        if (!live) return startFresh(guess.name, opts.host, () => saveVersion(guess.name, build, meta));
        return swapInto(live, build.hash, () => saveVersion(guess.name, build, meta), opts.name ? undefined : guess.name);
      });
    } else {
      const manifest = await pending!.inspect(build, source);
      const name = checkNameForCli(opts.name ?? manifest.appName);
      result = await withNameLock(name, async () => {
        const live = liveDeployment(name);
        // Deployed meanwhile (another deploy won the lock) or from another file: swap into it.
        if (live) return swapInto(live, build.hash, () => saveVersion(name, build, meta));
        return startFresh(name, opts.host, () => saveVersion(name, build, meta), pending);
      });
    }
    spinner.done();
    printResult(result, opts.json, started);
    return 0;
  } finally {
    spinner.done();
    pending?.release();
    await builder.dispose();
    rmSync(buildDir, { recursive: true, force: true });
  }
}

/** What a supervisor is told it runs (see AppSource). */
function appSource(host: string, display: string, path: string, selector: string | undefined): AppSource {
  return { host, display, path, ...(selector ? { selector } : {}) };
}

function checkNameForCli(name: string): string {
  try {
    return checkName("app", name);
  } catch (error) {
    throw new UserError("E_INVALID_NAME", (error as Error).message, "pass a valid --name");
  }
}

/**
 * Under the name's lock: swap a new version into a live instance through its control socket.
 * Unchanged code (`hash` equals the live version's) is skipped, unless the secrets it declares
 * changed: then the live version rolls over to new workers. A version that fails is removed.
 */
export async function swapInto(live: AppRecord, hash: string | undefined, makeVersion: () => VersionRecord, expectName?: string): Promise<DeployResult> {
  const latest = listVersions(live.name)[0];
  const socket = controlSocketPath(live.id);
  if (hash !== undefined && latest && latest.n === live.version && latest.hash === hash) {
    const { rolled, urls } = await controlRequest(socket, "rollover", { ifSecretsChanged: true }, 120_000);
    return { name: live.name, version: live.version, urls, manifest: undefined, skipped: !rolled, rolledOver: rolled, id: live.id };
  }
  const version = makeVersion();
  try {
    const res = await controlRequest(socket, "activate", { version: version.n, ...(expectName ? { expectName } : {}) }, 120_000);
    return { name: live.name, version: res.version, urls: res.urls, manifest: res.manifest, skipped: false, id: live.id };
  } catch (error) {
    rmSync(versionDir(live.name, version.n), { recursive: true, force: true });
    throw startFailure(error, `v${version.n} of "${live.name}" failed to start`, `v${live.version} is still serving; fix the error and deploy again`);
  }
}

/**
 * Under the name's lock: start a new instance (reusing a crashed one's id, so its logs continue).
 * A version made for this start is removed if it fails; a `stored` one (`nodal resurrect`
 * starting the current version again) is kept.
 */
export async function startFresh(name: string, host: string, makeVersion: () => VersionRecord, pending?: PendingSupervisor, stored = false): Promise<DeployResult> {
  const version = makeVersion();
  const supervisor = pending ?? PendingSupervisor.spawn();
  try {
    if (!pending) await supervisor.inspect(versionBuild(name, version), appSource(host, version.display, version.file, version.selector));
    const crashed = listApps().filter((r) => r.name === name && r.state === "deployed").at(-1);
    const id = crashed?.id ?? newAppId();
    const res = await supervisor.go(id, name, version.n);
    return { name, version: version.n, urls: res.urls, manifest: res.manifest, skipped: false, id };
  } catch (error) {
    if (!stored) rmSync(versionDir(name, version.n), { recursive: true, force: true });
    throw error;
  } finally {
    if (!pending) supervisor.release();
  }
}

export function printResult(result: DeployResult, json: boolean, started: number): void {
  if (json) {
    const { name, version, urls, id, skipped, rolledOver = false } = result;
    stdout.write(JSON.stringify({ name, version, urls, id, skipped, rolledOver }, null, 2) + "\n");
    return;
  }
  if (result.rolledOver) {
    stdout.write(`${style("green", "✓")} Secrets changed: ${result.name} v${result.version} rolled over to new workers (no code change)\n`);
    return;
  }
  if (result.skipped) {
    stdout.write(`${style("green", "✓")} Deployment skipped: no changes detected (${result.name} v${result.version} is live)\n`);
    return;
  }
  if (result.manifest) stdout.write(deployTree(result.manifest, result.urls) + "\n");
  const secs = ((performance.now() - started) / 1000).toFixed(2);
  stdout.write(`${style("green", "✓")} App deployed in ${secs}s! 🎉 ${result.name} v${result.version}\n`);
  stdout.write(`View Deployment: ${style("cyan", dashboardLink(result.name))} (with \`nodal dashboard\` running)\n`);
}

export type { BuildOutput };
