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

const tty = lazy(() => require("node:tty") as typeof import("node:tty"));
// A descriptor left non-blocking by whoever opened it answers EAGAIN when the pipe is full.
const pause = lazy(() => new Int32Array(new SharedArrayBuffer(4)));

class FdOut implements TextOut {
  readonly #fd: number;
  #tty: boolean | undefined;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Asked only by what colours its output or draws a spinner. node:tty loads the net module
   * too, so it is asked only about a character device: a pipe or a file is never a terminal.
   */
  get isTTY(): boolean {
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
    const bytes = Buffer.from(text);
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(this.#fd, bytes, done);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") Atomics.wait(pause(), 0, 0, 1);
        // The reader is gone (`nodal app logs | head`): stop quietly, as other Unix tools do.
        else if (code === "EPIPE") process.exit(0);
        else throw error;
      }
    }
  }
}

export const stdout: TextOut = new FdOut(1);
export const stderr: TextOut = new FdOut(2);
