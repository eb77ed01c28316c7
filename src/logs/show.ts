import { existsSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { nodalHome } from "../registry/home.js";
import { liveState, type AppRecord } from "../registry/apps.js";
import { style } from "../ui/output.js";
import { stdout } from "../ui/stdio.js";
import { LogFollower } from "./follower.js";
import { matches, readLast, type LogFilter } from "./reader.js";
import type { LogRecord } from "./record.js";
import { escapeTerminal } from "./terminal.js";

export interface ShowLogsOptions {
  tail: number;
  follow: boolean;
  json: boolean;
  filter: LogFilter;
}

/** How often a follower asks whether the app still runs (one read of /proc/PID/stat). */
const LIVENESS_MS = 1000;

function format(r: LogRecord, json: boolean, terminal: boolean): string {
  if (json) return JSON.stringify(r);
  const tag = style("dim", `${r.time.replace("T", " ").replace("Z", "")} [${r.function} ${r.source}]`);
  const text = terminal ? escapeTerminal(r.line) : r.line;
  const line = r.stream === "stderr" ? style("red", text) : r.stream === "system" ? style("yellow", text) : text;
  return `${tag} ${line}`;
}

/** Prints the last entries, and with `follow` everything new until the app stops. */
export async function showLogs(app: AppRecord, opts: ShowLogsOptions): Promise<void> {
  const dir = join(nodalHome(), "logs", app.id);
  if (!existsSync(dir)) return;
  // App output is escaped only where a terminal would interpret it; pipes get it byte for byte.
  const terminal = !opts.json && stdout.isTTY === true;
  const print = (records: LogRecord[]) => {
    if (records.length) stdout.write(records.map((r) => format(r, opts.json, terminal)).join("\n") + "\n");
  };
  if (!opts.follow) return print(readLast(dir, opts.tail, opts.filter));
  const follower = new LogFollower(dir);
  try {
    print(readLast(dir, opts.tail, opts.filter, follower.start()));
    // The record as it was when the command started: a later instance of the name is another app.
    const running = () => {
      const state = liveState(app);
      return state === "deployed" || state === "ephemeral";
    };
    await follow(dir, follower, running, (records) => print(records.filter((r) => matches(r, opts.filter))));
  } finally {
    follower.close();
  }
}

/**
 * Reads on every change in the log directory (a write or a rotation) and, every second, after
 * asking whether the app still runs; once it does not, reads what is left and returns.
 */
function follow(dir: string, follower: LogFollower, running: () => boolean, emit: (records: LogRecord[]) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let queued = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(timer);
      if (error) reject(error);
      else resolve();
    };
    const read = () => {
      try {
        follower.read(emit);
      } catch (error) {
        finish(error);
      }
    };
    // Events of a burst collapse into one read per event-loop turn.
    const changed = () => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        if (!done) read();
      });
    };
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dir, changed);
      watcher.on("error", () => {}); // the directory removed: the timer still ends the follow
    } catch {
      // A file system without change events: the timer alone reads, once a second.
    }
    // Asked before reading: a record written just before the app exited is then still read.
    const check = () => {
      const alive = running();
      read();
      if (!alive) finish();
    };
    const timer = setInterval(check, LIVENESS_MS);
    check();
  });
}
