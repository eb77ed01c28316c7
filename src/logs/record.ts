/** One log entry as stored (one JSON object a line) and as `app logs --json` prints it. */
export interface LogRecord {
  /** ISO-8601. */
  time: string;
  /** The function that printed it, or "nodal" for the app's own lifecycle lines. */
  function: string;
  /** The worker (`w3`) or scheduled run (`run-…`) it came from. */
  source: string;
  stream: "stdout" | "stderr" | "system";
  line: string;
}

export const LOG_FILE = "app.log";

/** A stored line of the log file: one record, or several lines sharing their fields. */
export type StoredRecord = LogRecord | (Omit<LogRecord, "line"> & { lines: string[] });

/** The records a stored line holds, in order. */
export function expand(stored: StoredRecord): LogRecord[] {
  if (!("lines" in stored)) return [stored];
  const { lines, ...head } = stored;
  return lines.map((line) => ({ ...head, line }));
}
