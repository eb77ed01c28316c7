/** File-tree helpers for `volume put|get|list`: walking, atomic copies, sizes. */
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserError } from "../../errors.js";
import { copyFileAtomic } from "../../registry/atomic.js";

/**
 * Relative paths of the regular files under `root`, sorted. Directory links are never followed
 * (a link to `..` would loop forever); file links are followed only on the local side of `put`,
 * never inside a volume, where a link could point anywhere on the machine.
 */
export async function listFiles(root: string, opts: { followFileLinks: boolean }, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const rel = prefix ? join(prefix, entry.name) : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, opts, rel)));
    else if (entry.isFile()) out.push(rel);
    else if (entry.isSymbolicLink() && opts.followFileLinks) {
      const st = await stat(join(root, rel)).catch(() => undefined);
      if (st?.isFile()) out.push(rel);
    }
  }
  return out;
}

/** Number of files and their total size under `root` (links not followed). */
export async function treeStats(root: string): Promise<{ files: number; size: number }> {
  let size = 0;
  const files = await listFiles(root, { followFileLinks: false });
  for (const rel of files) size += (await stat(join(root, rel))).size;
  return { files: files.length, size };
}

/** Copies `src` to `dest` atomically (a reader sees the old file or the new one, even after a crash). */
export async function atomicCopy(src: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await copyFileAtomic(src, dest);
}

/** A file-system failure while copying, as a user error naming the path (disk full, permissions…). */
export function copyFailed(error: unknown, path: string): Error {
  const e = error as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOSPC: "no space left on the device",
    EISDIR: "a directory is in the way",
    ENOTDIR: "a file is in the way of a directory",
    EEXIST: "a file is in the way of a directory",
    EROFS: "read-only file system",
  };
  const why = e?.code ? known[e.code] : undefined;
  return why ? new UserError("E_INVALID_INPUT", `cannot write "${path}": ${why}`) : (error as Error);
}

/** Bytes as Modal prints them: "512 B", "1.5 KiB", "2.0 MiB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(1)} ${units[i]}`;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
