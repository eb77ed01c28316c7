/**
 * Removes what killed processes left behind: temporary files of an atomic write or of a
 * `volume put` cut short, and the build folders of a `deploy` that died. Only leftovers whose
 * owning process is gone are removed, never a live process's work in progress: each name
 * carries its owner's pid.
 */
import { existsSync, readdirSync, rmSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { TEMP_FILE_RE } from "./atomic.js";
import { nodalHome } from "./home.js";
import { processStartTime } from "./proc.js";

/** `$NODAL_HOME/builds/deploy-<pid>-<ms>`: a deploy's build folder. */
const DEPLOY_BUILD_RE = /^deploy-(\d+)-\d+$/;

/** True while `pid` runs (a zombie has exited). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (processStartTime(pid) !== undefined) return true;
  // No /proc entry (or a zombie's): gone. Where there is no /proc at all (macOS), a signal-0 probe.
  if (existsSync("/proc/self")) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The owner pid of a leftover name, or undefined when the name is not one of ours. */
function ownerOf(name: string, patterns: RegExp[]): number | undefined {
  for (const re of patterns) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * Removes the temp files of dead processes in `dir` (and, `recursive`, below it, never following
 * links); returns the paths removed.
 */
export function sweepTempFiles(dir: string, opts: { recursive?: boolean } = {}): string[] {
  const removed: string[] = [];
  for (const entry of entries(dir)) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (opts.recursive) removed.push(...sweepTempFiles(p, opts));
      continue;
    }
    if (!entry.isFile()) continue;
    const pid = ownerOf(entry.name, [TEMP_FILE_RE]);
    if (pid !== undefined && !pidAlive(pid)) {
      rmSync(p, { force: true });
      removed.push(p);
    }
  }
  return removed;
}

/** Removes the build folders of `deploy` commands that are no longer running; returns them. */
export function sweepBuilds(): string[] {
  const dir = join(nodalHome(), "builds");
  const removed: string[] = [];
  for (const entry of entries(dir)) {
    const pid = entry.isDirectory() ? ownerOf(entry.name, [DEPLOY_BUILD_RE]) : undefined;
    if (pid !== undefined && !pidAlive(pid)) {
      rmSync(join(dir, entry.name), { recursive: true, force: true });
      removed.push(join(dir, entry.name));
    }
  }
  return removed;
}

/**
 * The leftovers of killed commands in the registry: deploy build folders, and temp files of the
 * records (apps, secrets, locks, versions, volume metadata). Volume contents are swept by
 * `sweepVolume`, by the commands that use one volume, since walking every volume costs.
 */
export function sweep(): string[] {
  const home = nodalHome();
  const removed = sweepBuilds();
  for (const sub of ["apps", "secrets", "locks"]) removed.push(...sweepTempFiles(join(home, sub)));
  for (const v of entries(join(home, "volumes"))) {
    if (v.isDirectory()) removed.push(...sweepTempFiles(join(home, "volumes", v.name)));
  }
  for (const d of entries(join(home, "deployments"))) {
    if (!d.isDirectory()) continue;
    for (const v of entries(join(home, "deployments", d.name, "versions"))) {
      if (v.isDirectory()) removed.push(...sweepTempFiles(join(home, "deployments", d.name, "versions", v.name)));
    }
  }
  return removed;
}

/** The temp files of dead processes anywhere in one volume (a `volume put` or `writeJSON` cut short). */
export function sweepVolume(root: string): string[] {
  return sweepTempFiles(root, { recursive: true });
}
