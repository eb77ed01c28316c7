/**
 * nodal's one atomic writer. A file is replaced so that a reader, or a crash at any moment, sees
 * the old file or the new one, never a torn one: write a temporary file beside it (same
 * directory, so the rename never crosses a file system), fsync it, rename it over, fsync the
 * directory (so the rename itself survives a power cut).
 *
 * Temporary files are named `.nodal-<pid>-<random>.tmp`: short (the target's own name may be near
 * NAME_MAX), hidden, and naming the process that writes them, so that `sweep` can remove those
 * of a process that was killed mid-write, and never another live process's.
 */
import { closeSync, copyFileSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { copyFile, link, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The names of temporary files, with the pid of the process that writes them (group 1). */
export const TEMP_FILE_RE = /^\.nodal-(\d+)-[0-9a-f]+\.tmp$/;

export interface AtomicOptions {
  /** Mode of a new file (default 0600). A copy keeps its source's mode. */
  mode?: number;
  /**
   * Create only: fail with EEXIST when `file` exists, even if another process creates it
   * meanwhile (link(2) instead of rename(2)), so two racing creates never both win.
   */
  exclusive?: boolean;
}

/** A fresh temporary path beside `file`. */
export function tempPathFor(file: string): string {
  // Not node:crypto: loading it costs every supervisor ~2 MB. A counter makes names unique within
  // the process; the random part keeps a recycled pid off a dead process's leftover ("wx" would fail).
  const unique = (++counter).toString(16) + Math.floor(Math.random() * 0xffffffff).toString(16);
  return join(dirname(file), `.nodal-${process.pid}-${unique}.tmp`);
}

let counter = 0;

/** True when `name` (a file name, not a path) is one of the writer's temporary files. */
export function isTempName(name: string): boolean {
  return TEMP_FILE_RE.test(basename(name));
}

/** Replaces (or, `exclusive`, creates) `file` with `data`, synchronously. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicOptions = {}): void {
  const tmp = tempPathFor(file);
  try {
    const fd = openSync(tmp, "wx", opts.mode ?? 0o600);
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    commitSync(tmp, file, opts.exclusive === true);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDirSync(dirname(file));
}

/** Replaces (or, `exclusive`, creates) `file` with `data`. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    const fh = await open(tmp, "wx", opts.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await commit(tmp, file, opts.exclusive === true);
  } finally {
    await rm(tmp, { force: true });
  }
  fsyncDirSync(dirname(file));
}

/** Replaces `dest` with a copy of `src` (its mode kept). */
export async function copyFileAtomic(src: string, dest: string): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    await copyFile(src, tmp);
    // "r" rather than "r+": copyFile keeps the source's mode, which may be read-only.
    const fh = await open(tmp, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
  fsyncDirSync(dirname(dest));
}

/** Replaces `dest` with a copy of `src`, synchronously. */
export function copyFileAtomicSync(src: string, dest: string): void {
  const tmp = tempPathFor(dest);
  try {
    copyFileSync(src, tmp);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDirSync(dirname(dest));
}

/** fsync of a directory makes a rename or an unlink in it durable. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function commitSync(tmp: string, file: string, exclusive: boolean): void {
  // link(2) fails with EEXIST if `file` exists; the temp name is then removed by the caller.
  if (exclusive) linkSync(tmp, file);
  else renameSync(tmp, file);
}

async function commit(tmp: string, file: string, exclusive: boolean): Promise<void> {
  if (exclusive) await link(tmp, file);
  else await rename(tmp, file);
}
