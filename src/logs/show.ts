import { existsSync } from "node:fs";
import { join } from "node:path";
import { nodalHome } from "../registry/home.js";
import { liveState, type AppRecord } from "../registry/apps.js";
import { resolveApp } from "../registry/resolve.js";
import { style } from "../ui/output.js";
import { logSize, matches, readFrom, readLast, type LogFilter } from "./reader.js";
import type { LogRecord } from "./record.js";
import { stdout } from "../ui/stdio.js";

export interface ShowLogsOptions {
  tail: number;
  follow: boolean;
  json: boolean;
  filter: LogFilter;
}

function format(r: LogRecord, json: boolean): string {
  if (json) return JSON.stringify(r);
  const tag = style("dim", `${r.time.replace("T", " ").replace("Z", "")} [${r.function} ${r.source}]`);
  const line = r.stream === "stderr" ? style("red", r.line) : r.stream === "system" ? style("yellow", r.line) : r.line;
  return `${tag} ${line}`;
}

/** Prints the last entries, and with `follow` everything new until the app stops. */
export async function showLogs(app: AppRecord, opts: ShowLogsOptions): Promise<void> {
  const dir = join(nodalHome(), "logs", app.id);
  const out = (records: LogRecord[]) => {
    if (records.length) stdout.write(records.map((r) => format(r, opts.json)).join("\n") + "\n");
  };
  if (!existsSync(dir)) return;
  let offset = logSize(dir);
  out(readLast(dir, opts.tail, opts.filter, offset));
  if (!opts.follow) return;
  const running = () => {
    const state = liveState(resolveApp(app.id));
    return state === "deployed" || state === "ephemeral";
  };
  for (;;) {
    const stillRunning = running();
    const next = readFrom(dir, offset);
    offset = next.offset;
    out(next.records.filter((r) => matches(r, opts.filter)));
    if (!stillRunning) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
