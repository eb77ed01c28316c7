import { fstatSync, writeSync } from "node:fs";
import { lazy } from "../lazy.js";

/**
 * The CLI's standard output and error, written with write(2). Node builds `process.stdout` on
 * first use, and for a pipe that loads its net and stream modules: ~6 ms of every command here
 * (`node -e 0` takes ~38 ms). Commands that print a result write it through these instead;
 * those that stream output while they serve (serve, run, `volume get -`) keep to
 * `process.stdout`, which buffers rather than blocks once a pipe is full, so one stream never
 * overtakes the other.
 */
export interface TextOut {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * Whether a write failed because the reader of our output has gone: EPIPE from a pipe, and
 * ECONNRESET from a socket (what a parent process's "pipe" often is) closed with data unread.
 */
export function readerGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "EPIPE" || code === "ECONNRESET";
}

/** The reader of our output has gone (`nodal app logs | head`): the bin entry ends quietly. */
export class OutputClosedError extends Error {
  override name = "OutputClosedError";
  readonly code = "EPIPE";
  constructor(fd: number) {
    super(`the reader of ${fd === 1 ? "stdout" : "stderr"} has gone`);
  }
}

const tty = lazy(() => require("node:tty") as typeof import("node:tty"));

/** Where output goes instead of the descriptors: set by in-process tests only. */
let sink: { stdout: TextOut; stderr: TextOut } | undefined;

/** Sends the CLI's output to `out` instead of fds 1 and 2 (in-process tests); `undefined` restores them. */
export function setOutput(out: { stdout: TextOut; stderr: TextOut } | undefined): void {
  sink = out;
}

class FdOut implements TextOut {
  readonly #fd: 1 | 2;
  #tty: boolean | undefined;
  /** Node's stream for this fd, once a full non-blocking pipe made us hand writes over to it. */
  #stream: NodeJS.WriteStream | undefined;

  constructor(fd: 1 | 2) {
    this.#fd = fd;
  }

  #sink(): TextOut | undefined {
    return sink && (this.#fd === 1 ? sink.stdout : sink.stderr);
  }

  /**
   * Asked only by what colours its output or draws a spinner. node:tty loads the net module
   * too, so it is asked only about a character device: a pipe or a file is never a terminal.
   */
  get isTTY(): boolean {
    const other = this.#sink();
    if (other) return other.isTTY === true;
    if (this.#tty === undefined) {
      let device = false;
      try {
        device = fstatSync(this.#fd).isCharacterDevice();
      } catch {}
      this.#tty = device && tty().isatty(this.#fd);
    }
    return this.#tty;
  }

  write(text: string): void {
    const other = this.#sink();
    if (other) {
      other.write(text);
      return;
    }
    if (this.#stream) {
      this.#stream.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(this.#fd, bytes, done);
      } catch (error) {
        if (readerGone(error)) throw new OutputClosedError(this.#fd);
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        // A descriptor left non-blocking by whoever opened it answers EAGAIN once the pipe is
        // full. Waiting here would block (or spin) the event loop until the reader catches up;
        // Node's stream queues the rest and writes it as the pipe drains, and bin/nodal.cjs
        // flushes it before exiting. Everything after goes through the stream too, in order.
        this.#stream = this.#fd === 1 ? process.stdout : process.stderr;
        this.#stream.write(bytes.subarray(done));
        return;
      }
    }
  }
}

export const stdout: TextOut = new FdOut(1);
export const stderr: TextOut = new FdOut(2);
