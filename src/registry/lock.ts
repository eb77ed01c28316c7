import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Lockfile from "proper-lockfile";
import { lazy } from "../lazy.js";
import { stderr } from "../ui/stdio.js";
import { writeFileAtomicSync } from "./atomic.js";
import { homeDir } from "./home.js";
import { isSameProcess, processStartTime } from "./proc.js";

// Loaded on first use: a worker that imports the SDK and never commits a volume does without it.
const lockfile = lazy(() => require("proper-lockfile") as typeof Lockfile);

/**
 * A lock whose holder stopped refreshing it (a killed command) is taken over after this long.
 * NODAL_LOCK_STALE_MS shortens it (tests of a take-over need not wait 10 s); proper-lockfile
 * refreshes a held lock every STALE_MS / 5, and wants at least 2 s.
 */
export const STALE_MS = Math.max(2000, Number(process.env.NODAL_LOCK_STALE_MS) || 10_000);
/** How often a held lock is refreshed: proper-lockfile takes 1 s to half of `stale`. */
const UPDATE_MS = Math.min(Math.max(1000, STALE_MS / 5), STALE_MS / 2);
/** How long a command waits for a lock in silence before it says what it waits for. */
export const QUIET_WAIT_MS = 1_000;

/** Who holds a name's lock: written beside the lock once it is taken, for those who wait. */
interface LockOwner {
  pid: number;
  pidStart: string | null;
  command: string;
  since: string;
}

/**
 * Holds the lock of one app name while `fn` runs: two deploys (or a deploy and a stop) of one
 * name never interleave. proper-lockfile uses an atomic mkdir and refreshes the lock's mtime,
 * so a lock left by a killed CLI goes stale and is taken over after `STALE_MS`. A command that
 * waits longer than `QUIET_WAIT_MS` says on stderr what it waits for, once.
 */
export async function withNameLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = homeDir("locks");
  const target = join(dir, name);
  const ownerFile = join(dir, `${name}.owner`);
  const notice = setTimeout(() => stderr.write(waitingLine(name, ownerFile)), QUIET_WAIT_MS);
  let release: () => Promise<void>;
  try {
    release = await lockfile().lock(target, {
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      retries: { retries: 600, minTimeout: 10, maxTimeout: 100, factor: 1.3 },
    });
  } finally {
    clearTimeout(notice);
  }
  const owner: LockOwner = {
    pid: process.pid,
    pidStart: processStartTime(process.pid) ?? null,
    command: ["nodal", ...process.argv.slice(2, 4)].join(" "),
    since: new Date().toISOString(),
  };
  try {
    writeFileAtomicSync(ownerFile, JSON.stringify(owner) + "\n");
  } catch {
    // Only informative: a lock without a known owner still locks.
  }
  try {
    return await fn();
  } finally {
    rmSync(ownerFile, { force: true });
    await release().catch(() => {});
  }
}

/** One line naming the app and what holds its lock. */
export function waitingLine(name: string, ownerFile: string): string {
  const seconds = Math.round(STALE_MS / 1000);
  let owner: LockOwner | undefined;
  try {
    const parsed = JSON.parse(readFileSync(ownerFile, "utf8")) as unknown;
    if (parsed && typeof parsed === "object" && typeof (parsed as LockOwner).pid === "number") owner = parsed as LockOwner;
  } catch {}
  let holder: string;
  if (!owner) holder = "another nodal command (it did not say which)";
  else if (isSameProcess(owner.pid, owner.pidStart ?? undefined)) holder = `\`${owner.command}\` (pid ${owner.pid}, since ${owner.since})`;
  else holder = `\`${owner.command}\` (pid ${owner.pid}), which is no longer running`;
  return `waiting for the lock of app "${name}", held by ${holder}; a lock left by a killed command is taken over ${seconds} s after its last refresh\n`;
}

/**
 * Holds an exclusive lock on `file` (a `file.lock` directory beside it) while `fn` runs: for a
 * read-modify-write of one small file by several processes. Waits as long as the holder keeps
 * the lock fresh; a lock left by a killed process is taken over after `STALE_MS`.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T> | T): Promise<T> {
  const release = await lockfile().lock(file, {
    realpath: false,
    stale: STALE_MS,
    update: UPDATE_MS,
    retries: { retries: 2_000, minTimeout: 2, maxTimeout: 50, factor: 1.2, randomize: true },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
