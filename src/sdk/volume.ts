import { existsSync, mkdirSync, readFileSync, readdirSync, openSync, fsyncSync, closeSync } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { join, resolve, sep, relative } from "node:path";
import { writeFileAtomic, writeFileAtomicSync } from "../registry/atomic.js";
import { homeDir } from "../registry/home.js";
import { withFileLock } from "../registry/lock.js";
import { InvalidError, NotFoundError } from "./errors.js";
import { checkName } from "./names.js";
import { noteVolumeUse } from "./runtime.js";

/** Parameters of `Volume.fromName`. */
export interface VolumeFromNameParams {
  /** Create the volume when it does not exist (otherwise loading the app fails). */
  createIfMissing?: boolean;
}

/** One entry of `volume.listdir()`. */
export interface VolumeEntry {
  path: string;
  type: "file" | "directory";
  size: number;
  mtime: Date;
}

interface VolumeMeta {
  name: string;
  version: number;
  createdAt: string;
  committedAt?: string;
}

/**
 * Where volumes live: `$NODAL_HOME/volumes/NAME/{data,volume.json}`, or under
 * `$NODAL_VOLUMES_DIR` (a container's mounted PersistentVolumeClaims, `nodal start`).
 */
export function volumeRoot(name: string): string {
  const root = process.env.NODAL_VOLUMES_DIR;
  return root ? join(root, name) : join(homeDir("volumes"), name);
}

/**
 * A persistent directory shared by the functions that mount it.
 *
 * @example
 * const data = Volume.fromName("todo-data", { createIfMissing: true });
 * await data.writeJSON("todos/1.json", { title: "milk" });
 * await data.commit();
 */
export class Volume {
  readonly name: string;
  #path: string;
  #metaFile: string;

  private constructor(name: string) {
    this.name = name;
    const root = volumeRoot(name);
    this.#path = join(root, "data");
    this.#metaFile = join(root, "volume.json");
  }

  /** A volume by name; a missing one is an error unless `createIfMissing`. */
  static fromName(name: string, params: VolumeFromNameParams = {}): Volume {
    checkName("volume", name);
    const volume = new Volume(name);
    if (!existsSync(volume.#metaFile)) {
      if (!params.createIfMissing) {
        throw new NotFoundError(
          `volume "${name}" does not exist; create it with \`nodal volume create ${name}\` or pass { createIfMissing: true }`,
        );
      }
      Volume.create(name);
    }
    return volume;
  }

  /** Creates the volume's directory and metadata; returns false when it existed. */
  static create(name: string): boolean {
    checkName("volume", name);
    const root = volumeRoot(name);
    const metaFile = join(root, "volume.json");
    if (existsSync(metaFile)) return false;
    mkdirSync(join(root, "data"), { recursive: true, mode: 0o700 });
    const meta: VolumeMeta = { name, version: 0, createdAt: new Date().toISOString() };
    // Exclusive: two processes creating one volume at once never overwrite each other's metadata.
    try {
      writeFileAtomicSync(metaFile, JSON.stringify(meta) + "\n", { mode: 0o600, exclusive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
    return true;
  }

  /** The volume's absolute directory. */
  get path(): string {
    noteVolumeUse(this.name);
    return this.#path;
  }

  /** The version number, raised by each `commit()`. */
  get version(): number {
    return this.#readMeta().version;
  }

  /** Resolves `rel` inside the volume; a path that leaves it is refused. */
  resolve(rel: string): string {
    noteVolumeUse(this.name);
    const root = this.#path;
    const abs = resolve(root, rel.replace(/^\/+/, ""));
    if (abs !== root && !abs.startsWith(root + sep)) {
      throw new InvalidError(`path "${rel}" leaves volume "${this.name}"`);
    }
    return abs;
  }

  /** Reads a JSON file of the volume; `undefined` when it does not exist. */
  async readJSON<T = unknown>(rel: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.resolve(rel), "utf8")) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Writes a JSON file atomically (temp file + fsync + rename): readers never see a torn file. */
  async writeJSON(rel: string, value: unknown): Promise<void> {
    const file = this.resolve(rel);
    mkdirSync(join(file, ".."), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n", { mode: 0o666 });
  }

  /** Lists a directory of the volume (default its root). */
  async listdir(rel = "/"): Promise<VolumeEntry[]> {
    const dir = this.resolve(rel);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries = await Promise.all(
      names.sort().map(async (n) => {
        const st = await stat(join(dir, n));
        return {
          path: relative(this.#path, join(dir, n)),
          type: st.isDirectory() ? ("directory" as const) : ("file" as const),
          size: st.size,
          mtime: st.mtime,
        };
      }),
    );
    return entries;
  }

  /** Makes every write so far durable (fsync of files and directories) and bumps the version. */
  async commit(): Promise<number> {
    noteVolumeUse(this.name);
    syncTree(this.#path);
    // Read, bump and write under a lock: commits from several workers at once each get a version.
    return withFileLock(this.#metaFile, () => {
      const meta = this.#readMeta();
      meta.version += 1;
      meta.committedAt = new Date().toISOString();
      writeFileAtomicSync(this.#metaFile, JSON.stringify(meta) + "\n", { mode: 0o600 });
      return meta.version;
    });
  }

  /** Sees the latest committed state. Local volumes are one directory, so this only re-reads the version. */
  async reload(): Promise<number> {
    return this.version;
  }

  #readMeta(): VolumeMeta {
    return JSON.parse(readFileSync(this.#metaFile, "utf8")) as VolumeMeta;
  }
}

/** fsyncs every file and directory; one removed meanwhile (another worker's rename) is skipped. */
function syncTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  for (const entry of entries) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) syncTree(p);
    else if (entry.isFile()) fsyncPath(p, "r");
  }
  fsyncPath(dir, "r");
}

function fsyncPath(p: string, flags: string): void {
  let fd: number;
  try {
    fd = openSync(p, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

