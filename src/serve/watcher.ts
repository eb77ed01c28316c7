import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FSWatcher } from "chokidar";

/**
 * The quiet-period policy, all of it here. Changes are reported after 1 ms (a build may start
 * at once); `settled()` holds the swap until a burst has been quiet for `QUIET_MS`, so 50 files
 * written at once still make one reload while the build overlaps the wait. A burst that goes
 * on is reported at least every `MAX_WAIT_MS`.
 */
const REPORT_MS = 1;
const QUIET_MS = 8;
const MAX_WAIT_MS = 100;
/**
 * chokidar drops a `change` that comes within 50 ms of the previous one for the same file
 * (a leading-edge throttle with no trailing event: node_modules/chokidar/index.js, `_throttle`),
 * so a second quick save (format-on-save, a script) would be lost. Re-reading each changed
 * file once after that window catches it.
 */
const RECHECK_MS = 60;
/**
 * Linux stamps mtime from a coarse clock (a tick, up to ~4 ms, behind the real time), so a
 * write just after a build started can carry an mtime just before it. Erring this much
 * towards "changed" costs at most one identical rebuild.
 */
const MTIME_SLACK_MS = 10;
/**
 * A save that writes in place (truncate, then write: most editors' default) can be read between
 * the two: an empty file. Such a reading is checked again after `RECHECK_MS` before it counts, so
 * a save of identical content is not reported as two changes.
 */
const EMPTY = createHash("sha1").digest("hex");

/**
 * Watches exactly the files a build read (esbuild's metafile inputs) and reports real changes:
 * a burst of events becomes one report, a save that left the content unchanged none.
 * chokidar turns an editor's atomic save (write temp, rename over) into one `change`.
 */
export class Watcher {
  #watcher: FSWatcher | undefined;
  #files = new Set<string>();
  #hashes = new Map<string, string>();
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #rechecks = new Map<string, NodeJS.Timeout>();
  /** Files read empty once, waiting for their recheck. */
  #emptied = new Set<string>();
  /** When the last file event arrived (performance.now()). */
  #lastEventAt = 0;
  #onChange: (files: string[]) => void;
  #folder: { dir: string; names: string[] } | undefined;
  #folderWatcher: FSWatcher | undefined;

  /**
   * `folder`: files of that folder (by name) watched whatever the build read, whether they
   * exist yet or not (an app's package.json and lockfile).
   */
  constructor(onChange: (files: string[]) => void, folder?: { dir: string; names: string[] }) {
    this.#onChange = onChange;
    this.#folder = folder;
  }

  /**
   * Watches `files` from now on (new imports added, dropped ones unwatched). A newly watched
   * file modified since `builtAt` (performance.now() when the build that found it started)
   * may have changed after the build read it: it is reported as changed, to be safe.
   */
  async setFiles(files: string[], builtAt?: number): Promise<void> {
    const { watch } = await import("chokidar");
    if (this.#folder && !this.#folderWatcher) await this.#watchFolder(watch);
    const next = new Set(files);
    const fresh = [...next].filter((f) => !this.#hashes.has(f));
    await Promise.all(fresh.map(async (f) => this.#hashes.set(f, await hashOf(f))));
    if (!this.#watcher) {
      this.#watcher = watch([...next], { ignoreInitial: true, persistent: true });
      this.#watcher.on("all", (_event, path) => this.#event(path));
      await new Promise<void>((resolve) => this.#watcher!.once("ready", () => resolve()));
    } else {
      const added = [...next].filter((f) => !this.#files.has(f));
      const removed = [...this.#files].filter((f) => !next.has(f));
      if (added.length) this.#watcher.add(added);
      if (removed.length) {
        this.#watcher.unwatch(removed);
        for (const f of removed) this.#hashes.delete(f);
      }
    }
    this.#files = next;
    if (builtAt !== undefined && this.#watcher) {
      const since = Date.now() - (performance.now() - builtAt);
      for (const f of fresh) {
        if (mtimeOf(f) >= since - MTIME_SLACK_MS) {
          this.#hashes.set(f, "unknown");
          this.#queue(f);
        }
      }
    }
  }

  /**
   * A file that does not exist yet is watched through its folder: chokidar reports a watched
   * path that appears later, but may miss its next changes (seen with chokidar 5). The folder
   * is watched alone (depth 0), only the named files let through.
   */
  async #watchFolder(watch: typeof import("chokidar").watch): Promise<void> {
    const { dir, names } = this.#folder!;
    const paths = names.map((n) => join(dir, n));
    await Promise.all(paths.map(async (p) => this.#hashes.set(p, await hashOf(p))));
    const wanted = new Set(paths);
    this.#folderWatcher = watch(dir, { ignoreInitial: true, persistent: true, depth: 0, ignored: (p) => p !== dir && !wanted.has(p) });
    this.#folderWatcher.on("all", (_event, path) => this.#event(path));
    await new Promise<void>((resolve) => this.#folderWatcher!.once("ready", () => resolve()));
  }

  #event(path: string): void {
    this.#recheck(path);
    this.#queue(path);
  }

  /** Reads `path` again once chokidar's throttle window has passed. */
  #recheck(path: string): void {
    clearTimeout(this.#rechecks.get(path));
    this.#rechecks.set(
      path,
      setTimeout(() => {
        this.#rechecks.delete(path);
        this.#queue(path);
      }, RECHECK_MS),
    );
  }

  /** Resolves once no file event has arrived for a quiet period (the end of a burst). */
  async settled(): Promise<void> {
    for (;;) {
      const left = QUIET_MS - (performance.now() - this.#lastEventAt);
      // A file read empty mid-save is part of the burst until its recheck says what it holds.
      if (left <= 0 && this.#emptied.size === 0) return;
      await new Promise((r) => setTimeout(r, Math.max(left, 1)));
    }
  }

  #queue(path: string): void {
    this.#lastEventAt = performance.now();
    if (this.#pending.size === 0) this.#burstStart = performance.now();
    this.#pending.add(path);
    clearTimeout(this.#timer);
    const waited = performance.now() - this.#burstStart;
    this.#timer = setTimeout(() => void this.#flush(), waited >= MAX_WAIT_MS ? 0 : REPORT_MS);
  }

  async #flush(): Promise<void> {
    const paths = [...this.#pending];
    this.#pending.clear();
    const changed: string[] = [];
    const settled: string[] = [];
    await Promise.all(
      paths.map(async (p) => {
        const hash = await hashOf(p);
        if (hash === EMPTY && this.#hashes.get(p) !== EMPTY && !this.#emptied.has(p)) {
          this.#emptied.add(p);
          this.#recheck(p);
          return;
        }
        settled.push(p);
        if (hash !== this.#hashes.get(p)) {
          this.#hashes.set(p, hash);
          changed.push(p);
        }
      }),
    );
    if (changed.length) this.#onChange(changed.sort());
    // Only once its change (if any) is reported: `settled()` must not let a swap go first.
    for (const p of settled) this.#emptied.delete(p);
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    for (const t of this.#rechecks.values()) clearTimeout(t);
    await Promise.all([this.#watcher?.close(), this.#folderWatcher?.close()]);
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

async function hashOf(path: string): Promise<string> {
  try {
    return createHash("sha1").update(await readFile(path)).digest("hex");
  } catch {
    return "missing";
  }
}
