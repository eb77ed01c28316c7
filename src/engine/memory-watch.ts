import { readFileSync } from "node:fs";

/**
 * A worker's `memory` limit, kept two ways: V8's old-space limit (a heap that outgrows it ends
 * the process with "JavaScript heap out of memory"), and an RSS watchdog for what the heap limit
 * does not see (buffers, native memory, the young generation).
 */

/** How often the watchdog reads a worker's RSS. */
export const WATCH_INTERVAL_MS = 250;

/**
 * The old-space size for a limit of `memoryMiB`: the limit less room for the rest of the
 * process (Node's own code and data, the young generation, buffers), half the limit up to
 * 96 MiB: a worker on Node 22 or 24 holds 65-70 MiB besides its heap once its app is loaded.
 * The heap then fills before the RSS reaches the limit in most programs (a synchronous burst
 * too, which outruns the watchdog's readings), and its failure names the cause; the watchdog
 * catches the rest.
 */
export function heapLimitMiB(memoryMiB: number): number {
  return Math.max(16, memoryMiB - Math.min(Math.floor(memoryMiB / 2), 96));
}

/** The resident set of process `pid` in MiB (from /proc), or undefined if it cannot be read. */
export function readRssMiB(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined; // gone, or no /proc (macOS: the heap limit alone applies)
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** True when a worker's exit is V8's out-of-heap abort. */
export function isHeapOutOfMemory(exit: { code: number | null; signal: string | null }, stderrTail: string): boolean {
  // V8 calls abort(): SIGABRT, or 134 when a shell in between reports it as an exit code.
  return exit.signal === "SIGABRT" || exit.code === 134 || /JavaScript heap out of memory/.test(stderrTail);
}

/**
 * Reads a process's RSS every `intervalMs` and calls `onOver` once, with the RSS it read, when
 * that goes over `limitMiB`. The timer does not keep the process alive.
 */
export class MemoryWatch {
  readonly limitMiB: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    pid: number,
    limitMiB: number,
    onOver: (rssMiB: number) => void,
    opts: { intervalMs?: number; read?: (pid: number) => number | undefined } = {},
  ) {
    this.limitMiB = limitMiB;
    const read = opts.read ?? readRssMiB;
    this.#timer = setInterval(() => {
      const rss = read(pid);
      if (rss === undefined || rss <= limitMiB) return;
      this.stop();
      onOver(rss);
    }, opts.intervalMs ?? WATCH_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
