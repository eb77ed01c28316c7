import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LOG_FILE, type LogRecord } from "./record.js";

export interface LogWriterOptions {
  /** Rotate when the file passes this size; default 20 MiB. */
  maxBytes?: number;
  /** Rotated files kept (`app.log.1` newest … `app.log.N`); default 5. */
  keep?: number;
}

/**
 * Appends log records to `DIR/app.log`, one JSON object a line. Records are batched per event
 * loop turn and written with one synchronous write: order is kept, nothing is dropped under
 * bursts, and a record is readable at most one turn after it was printed. Rotation renames
 * `app.log` → `app.log.1` → … and drops the oldest beyond `keep`.
 */
export class LogWriter {
  readonly dir: string;
  #fd: number;
  #size: number;
  #batch: string[] = [];
  #scheduled = false;
  #maxBytes: number;
  #keep: number;

  constructor(dir: string, opts: LogWriterOptions = {}) {
    this.dir = dir;
    this.#maxBytes = opts.maxBytes ?? Number(process.env.NODAL_LOG_MAX_BYTES || 20 * 1024 * 1024);
    this.#keep = opts.keep ?? 5;
    this.#fd = openSync(join(dir, LOG_FILE), "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  write(record: LogRecord): void {
    this.#push(JSON.stringify(record) + "\n");
  }

  /**
   * Many lines sharing time, function, source and stream (one chunk read from a worker's
   * pipe), stored as one `{ …, "lines": [...] }` record: a burst of 100k lines writes ~1 MB
   * instead of ~10 MB of repeated fields. The reader expands it (see `expand`).
   */
  writeLines(head: Omit<LogRecord, "line">, lines: string[]): void {
    if (lines.length === 1) return this.write({ ...head, line: lines[0]! });
    // Records stay small next to the rotation size, so files rotate close to it.
    const limit = Math.min(16 * 1024, this.#maxBytes / 4);
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < lines.length; i++) {
      bytes += lines[i]!.length + 3;
      if (bytes >= limit || i === lines.length - 1) {
        this.#push(JSON.stringify({ ...head, lines: lines.slice(start, i + 1) }) + "\n");
        start = i + 1;
        bytes = 0;
      }
    }
  }

  #push(text: string): void {
    this.#batch.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes everything batched so far (also called before exit), rotating where a file fills up. */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return;
    const all = batch.join("");
    const allBytes = Buffer.byteLength(all);
    if (this.#size + allBytes <= this.#maxBytes) return this.#write(all);
    let chunk: string[] = [];
    let bytes = 0;
    for (const line of batch) {
      const len = Buffer.byteLength(line);
      if (this.#size + bytes + len > this.#maxBytes && this.#size + bytes > 0) {
        this.#write(chunk.join(""));
        this.#rotate();
        chunk = [];
        bytes = 0;
      }
      chunk.push(line);
      bytes += len;
    }
    if (chunk.length) this.#write(chunk.join(""));
  }

  #write(text: string): void {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(this.#fd, buf, off);
    this.#size += buf.length;
  }

  #rotate(): void {
    closeSync(this.#fd);
    const base = join(this.dir, LOG_FILE);
    rmSync(`${base}.${this.#keep}`, { force: true });
    for (let i = this.#keep - 1; i >= 1; i--) if (existsSync(`${base}.${i}`)) renameSync(`${base}.${i}`, `${base}.${i + 1}`);
    renameSync(base, `${base}.1`);
    this.#fd = openSync(base, "a", 0o600);
    this.#size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}
