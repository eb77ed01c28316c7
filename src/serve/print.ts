import type { LogRecord } from "../logs/record.js";
import { lifecycle, style } from "../ui/output.js";

/**
 * What `serve` prints goes to process.stdout and process.stderr, the streams its app's own log
 * lines use: one stream per fd, so on a full pipe neither blocks nor overtakes the other.
 */

/** Prints a log record: a function's line as `api | hello`, the app's own as a lifecycle line. */
export function printRecord(record: LogRecord): void {
  if (record.stream === "system") {
    if (record.function !== "nodal") lifecycle(`${record.function}: ${record.line}`, process.stderr);
    return;
  }
  const stream = record.stream === "stderr" ? process.stderr : process.stdout;
  stream.write(`${style("dim", `${record.function} |`, stream)} ${record.line}\n`);
}

/** The URL of each web function, and how many functions have none. */
export function printUrls(urls: Record<string, string>, functionCount: number): void {
  const names = Object.keys(urls);
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const [fn, url] of Object.entries(urls)) process.stdout.write(`  ${fn.padEnd(width)}  ${style("cyan", url)}\n`);
  const others = functionCount - names.length;
  if (others > 0) process.stdout.write(`  ${style("dim", `+ ${others} function${others > 1 ? "s" : ""} without a URL`)}\n`);
}
