import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
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

const CHUNK = 64 * 1024;

/** Lines of one file from the end backwards, reading only as many chunks as needed. */
function* linesBackwards(path: string, end?: number): Generator<string> {
  const fd = openSync(path, "r");
  try {
    let pos = Math.min(end ?? Infinity, fstatSync(fd).size);
    let rest = Buffer.alloc(0);
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      let joined = Buffer.concat([buf, rest]);
      let nl = joined.lastIndexOf(10);
      // Yield every complete line after the first newline in this window.
      let end = joined.length;
      while (nl >= 0) {
        const line = joined.subarray(nl + 1, end).toString("utf8");
        if (line) yield line;
        end = nl;
        nl = nl === 0 ? -1 : joined.lastIndexOf(10, nl - 1);
      }
      rest = joined.subarray(0, end);
      joined = Buffer.alloc(0);
    }
    if (rest.length) yield rest.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The current file and its rotations, newest first. */
export function logFiles(dir: string): string[] {
  const files: string[] = [];
  const base = join(dir, LOG_FILE);
  if (existsSync(base)) files.push(base);
  for (let i = 1; existsSync(`${base}.${i}`); i++) files.push(`${base}.${i}`);
  return files;
}

/**
 * The last `n` records matching `filter`, oldest first, without reading whole files; `end`
 * stops the current file at that offset (where a follower takes over).
 */
export function readLast(dir: string, n: number, filter: LogFilter = {}, end?: number): LogRecord[] {
  const out: LogRecord[] = [];
  if (n <= 0) return out;
  for (const [i, file] of logFiles(dir).entries()) {
    for (const line of linesBackwards(file, i === 0 ? end : undefined)) {
      let records: LogRecord[];
      try {
        records = expand(JSON.parse(line) as StoredRecord);
      } catch {
        continue; // a partial last line of a crashed writer
      }
      for (let j = records.length - 1; j >= 0; j--) {
        const r = records[j]!;
        if (filter.since && new Date(r.time) < filter.since) return out.reverse();
        if (!matches(r, filter)) continue;
        out.push(r);
        if (out.length >= n) return out.reverse();
      }
    }
  }
  return out.reverse();
}

/** Size of the current log file (where a follower starts). */
export function logSize(dir: string): number {
  try {
    return statSync(join(dir, LOG_FILE)).size;
  } catch {
    return 0;
  }
}

/**
 * Reads records appended since `offset`; returns them and the new offset. A rotation (the file
 * got smaller) restarts at 0 of the new file, after draining the rotated one from `offset`.
 */
export function readFrom(dir: string, offset: number): { records: LogRecord[]; offset: number } {
  const base = join(dir, LOG_FILE);
  const records: LogRecord[] = [];
  let size = logSize(dir);
  if (size < offset) {
    // Rotated: finish the old file (now app.log.1), then start the new one at 0.
    if (existsSync(`${base}.1`)) records.push(...readRange(`${base}.1`, offset, statSync(`${base}.1`).size).records);
    offset = 0;
    size = logSize(dir);
  }
  if (size > offset) {
    const r = readRange(base, offset, size);
    records.push(...r.records);
    offset = r.offset;
  }
  return { records, offset };
}

function readRange(path: string, from: number, to: number): { records: LogRecord[]; offset: number } {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(to - from);
    readSync(fd, buf, 0, buf.length, from);
    const last = buf.lastIndexOf(10);
    if (last < 0) return { records: [], offset: from };
    const records: LogRecord[] = [];
    for (const line of buf.subarray(0, last).toString("utf8").split("\n")) {
      try {
        records.push(...expand(JSON.parse(line) as StoredRecord));
      } catch {}
    }
    return { records, offset: from + last + 1 };
  } finally {
    closeSync(fd);
  }
}

/** `30m`, `2h`, `1d`, `45s` (ago) or an ISO-8601 time. */
export function parseTime(value: string, now = Date.now()): Date | undefined {
  const m = value.match(/^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/);
  if (m) return new Date(now - Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "s"]);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
