import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { expand, LOG_FILE, type LogRecord, type StoredRecord } from "./record.js";

export interface LogFilter {
  since?: Date;
  until?: Date;
  function?: string;
  search?: string;
  stream?: LogRecord["stream"];
}

export function matches(r: LogRecord, f: LogFilter): boolean {
  if (f.function && r.function !== f.function) return false;
  if (f.stream && r.stream !== f.stream) return false;
  if (f.search && !r.line.includes(f.search)) return false;
  if (f.since && new Date(r.time) < f.since) return false;
  if (f.until && new Date(r.time) > f.until) return false;
  return true;
}

/** The records of one stored line, or undefined for a line that is not one (a crashed writer's partial last line). */
export function parseStored(line: string): LogRecord[] | undefined {
  try {
    return expand(JSON.parse(line) as StoredRecord);
  } catch {
    return undefined;
  }
}

/** A log file by path and inode: rotation renames files, so only the inode names one for good. */
export interface LogFile {
  path: string;
  ino: number;
}

/**
 * The current file and its rotations, newest first (`app.log`, `app.log.1`, …). Rotation only
 * renames a file to a higher number, so scanning from the newest down sees every file at least
 * once even while the writer rotates; a file seen twice is kept where it was seen first.
 */
export function logFiles(dir: string): LogFile[] {
  let max = 0;
  try {
    for (const name of readdirSync(dir)) {
      const m = /^app\.log\.(\d+)$/.exec(name);
      if (m) max = Math.max(max, Number(m[1]));
    }
  } catch {
    return [];
  }
  const files: LogFile[] = [];
  const seen = new Set<number>();
  for (let i = 0; i <= max + 1; i++) {
    const path = join(dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`);
    try {
      const { ino } = statSync(path);
      if (!seen.has(ino)) files.push({ path, ino });
      seen.add(ino);
    } catch {}
  }
  return files;
}

const CHUNK = 64 * 1024;

/** Lines of an open file from `end` backwards, reading only as many chunks as needed. */
function* linesBackwards(fd: number, end?: number): Generator<string> {
  let pos = Math.min(end ?? Infinity, fstatSync(fd).size);
  let rest = Buffer.alloc(0);
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, pos);
    const joined = rest.length ? Buffer.concat([buf, rest]) : buf;
    // Yield every complete line after the first newline in this window.
    let stop = joined.length;
    let nl = joined.lastIndexOf(10);
    while (nl >= 0) {
      const line = joined.subarray(nl + 1, stop).toString("utf8");
      if (line) yield line;
      stop = nl;
      nl = nl === 0 ? -1 : joined.lastIndexOf(10, nl - 1);
    }
    rest = joined.subarray(0, stop);
  }
  if (rest.length) yield rest.toString("utf8");
}

/** Where reading backwards starts: a file (by inode) and an offset in it, as a follower took it. */
export interface LogPosition {
  ino: number;
  offset: number;
}

/**
 * The last `n` records matching `filter`, oldest first, without reading whole files. With `from`,
 * files newer than that one are skipped and that one is read up to its offset (where a follower
 * takes over), so the two together print every record once.
 */
export function readLast(dir: string, n: number, filter: LogFilter = {}, from?: LogPosition): LogRecord[] {
  const out: LogRecord[] = [];
  if (n <= 0) return out;
  let files = logFiles(dir);
  const start = from ? files.findIndex((f) => f.ino === from.ino) : -1;
  if (start >= 0) files = files.slice(start);
  for (const file of files) {
    let fd: number;
    try {
      fd = openSync(file.path, "r");
    } catch {
      continue; // rotated out of existence since the scan
    }
    try {
      for (const line of linesBackwards(fd, file.ino === from?.ino ? from.offset : undefined)) {
        const records = parseStored(line);
        if (!records) continue;
        for (let j = records.length - 1; j >= 0; j--) {
          const r = records[j]!;
          if (filter.since && new Date(r.time) < filter.since) return out.reverse();
          if (!matches(r, filter)) continue;
          out.push(r);
          if (out.length >= n) return out.reverse();
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return out.reverse();
}
