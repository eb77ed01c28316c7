import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { logFiles, parseStored, type LogPosition } from "./reader.js";
import { LOG_FILE, type LogRecord } from "./record.js";

const CHUNK = 1024 * 1024;

/**
 * Reads an app's log as it grows, across any number of rotations between two reads. It holds
 * the file it reads open (a rotation renames it, and may even delete it, without taking it
 * away); once the current `app.log` is another file (by inode), it drains the held one to its
 * end, then reads every newer rotated file in order, then the current one. Records are never
 * split across files (the writer rotates between records), so what a finished file leaves
 * without a newline is a crashed writer's partial line, and is dropped.
 */
export class LogFollower {
  readonly #dir: string;
  #fd: number | undefined;
  #ino = 0;
  #pos = 0;
  #partial = Buffer.alloc(0);
  #buf = Buffer.allocUnsafe(CHUNK);

  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Opens the current file at the end of its last complete record: the position for `readLast`,
   * which prints what is before it while this reads what follows. Undefined when there is no
   * file yet (the first one is then read from its start).
   */
  start(): LogPosition | undefined {
    try {
      this.#fd = openSync(join(this.#dir, LOG_FILE), "r");
    } catch {
      return undefined;
    }
    const st = fstatSync(this.#fd);
    this.#ino = st.ino;
    this.#pos = this.#lastLineEnd(st.size);
    return { ino: this.#ino, offset: this.#pos };
  }

  /** Emits every record written since the last read, oldest first, in batches. */
  read(emit: (records: LogRecord[]) => void): void {
    if (this.#fd === undefined && this.start() !== undefined) this.#pos = 0;
    if (this.#fd === undefined) return;
    this.#drain(emit);
    // Bounded: a file that keeps vanishing between the scan and the open is retried next read.
    for (let tries = 0; tries < 100; tries++) {
      if (this.#currentIno() === this.#ino) return;
      const files = logFiles(this.#dir);
      const at = files.findIndex((f) => f.ino === this.#ino);
      if (at === 0) return; // the new app.log is not created yet: ours is still the newest
      // Rotated: ours is complete (the writer renames a file only after its last write to it).
      this.#drain(emit);
      this.#partial = Buffer.alloc(0);
      // Ours gone too (more rotations than kept files): the oldest left is the next one.
      const next = at < 0 ? files.at(-1) : files[at - 1];
      if (!next) return;
      let fd: number;
      try {
        fd = openSync(next.path, "r");
      } catch {
        continue; // renamed since the scan: look again
      }
      if (fstatSync(fd).ino !== next.ino) {
        closeSync(fd);
        continue;
      }
      closeSync(this.#fd);
      this.#fd = fd;
      this.#ino = next.ino;
      this.#pos = 0;
      this.#drain(emit);
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #currentIno(): number | undefined {
    try {
      return statSync(join(this.#dir, LOG_FILE)).ino;
    } catch {
      return undefined;
    }
  }

  /** Reads the held file from the position to its end, emitting the complete records. */
  #drain(emit: (records: LogRecord[]) => void): void {
    const fd = this.#fd!;
    for (;;) {
      const n = readSync(fd, this.#buf, 0, CHUNK, this.#pos);
      if (n === 0) return;
      this.#pos += n;
      const data = this.#partial.length ? Buffer.concat([this.#partial, this.#buf.subarray(0, n)]) : this.#buf.subarray(0, n);
      const last = data.lastIndexOf(10);
      // Copied: the read buffer is reused.
      this.#partial = Buffer.from(data.subarray(last + 1));
      if (last < 0) continue;
      const records: LogRecord[] = [];
      for (const line of data.toString("utf8", 0, last).split("\n")) {
        for (const r of parseStored(line) ?? []) records.push(r);
      }
      if (records.length) emit(records);
    }
  }

  /** The offset just after the last newline before `size` (a writer may be mid-record). */
  #lastLineEnd(size: number): number {
    let end = size;
    while (end > 0) {
      const len = Math.min(64 * 1024, end);
      const n = readSync(this.#fd!, this.#buf, 0, len, end - len);
      const nl = this.#buf.subarray(0, n).lastIndexOf(10);
      if (nl >= 0) return end - len + nl + 1;
      end -= len;
    }
    return 0;
  }
}
