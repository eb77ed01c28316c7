import { join } from "node:path";
import lockfile from "proper-lockfile";
import { homeDir } from "./home.js";

/**
 * Holds the lock of one app name while `fn` runs: two deploys (or a deploy and a stop) of one
 * name never interleave. proper-lockfile uses an atomic mkdir and refreshes the lock's mtime,
 * so a lock left by a killed CLI goes stale and is taken over after `staleMs`.
 */
export async function withNameLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const target = join(homeDir("locks"), name);
  const release = await lockfile.lock(target, {
    realpath: false,
    stale: 10_000,
    update: 2_000,
    retries: { retries: 600, minTimeout: 10, maxTimeout: 100, factor: 1.3 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
