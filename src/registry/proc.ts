import { readFileSync } from "node:fs";

/**
 * The start time of a process (clock ticks since boot, from /proc), or undefined when it does
 * not exist. A pid plus its start time names one process for good: a recycled pid has another.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie (state Z) has exited; it only waits for a parent that may never reap it.
    if (fields[0] === "Z") return undefined;
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the same process that had `startTime`. */
export function isSameProcess(pid: number | undefined, startTime: string | undefined): boolean {
  if (!pid) return false;
  const now = processStartTime(pid);
  if (now === undefined) {
    // No /proc (macOS): fall back to a signal-0 probe.
    try {
      process.kill(pid, 0);
      return startTime === undefined;
    } catch {
      return false;
    }
  }
  return now === startTime;
}
