import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nodeCrypto } from "../lazy.js";
import { writeFileAtomicSync } from "./atomic.js";
import { homeDir } from "./home.js";
import { isSameProcess } from "./proc.js";

/** What a process claims about the app instance it runs. */
export type StoredState = "deployed" | "ephemeral" | "stopped";
/** What `app list` shows: a claim whose process is gone reads `crashed`. */
export type AppState = StoredState | "crashed";

/** One app instance: a `serve` session or a deployed app. */
export interface AppRecord {
  id: string;
  name: string;
  state: StoredState;
  version: number;
  file: string;
  createdAt: string;
  stoppedAt: string | null;
  /** The process that runs it (serve, or the supervisor) and its start time. */
  pid: number | null;
  pidStart: string | null;
  urls: Record<string, string>;
  functions: string[];
}

function appsDir(): string {
  return homeDir("apps");
}

export function newAppId(): string {
  return `ap-${nodeCrypto().randomBytes(8).toString("base64url").replace(/[-_]/g, "x").slice(0, 10)}`;
}

/** Writes a record atomically (temp file + rename): a crash never leaves it torn. */
export function saveApp(record: AppRecord): void {
  writeFileAtomicSync(join(appsDir(), `${record.id}.json`), JSON.stringify(record, null, 2) + "\n");
}

/** Every record, oldest first; unreadable files (a foreign file, say) are skipped. */
export function listApps(): AppRecord[] {
  const records: AppRecord[] = [];
  const dir = appsDir();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    try {
      records.push(JSON.parse(readFileSync(join(dir, name), "utf8")) as AppRecord);
    } catch {
      // Atomic writes never leave a torn record; anything unparsable is not ours.
    }
  }
  return records.sort(byCreatedAt);
}

/**
 * Oldest first. ISO timestamps sort as plain strings; localeCompare would build an ICU collator
 * first, which costs `nodal app list` about 14 ms.
 */
export function byCreatedAt(a: AppRecord, b: AppRecord): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

/** The state to show: a running claim whose process is gone (or was recycled) is `crashed`. */
export function liveState(record: AppRecord): AppState {
  if (record.state === "stopped") return "stopped";
  return isSameProcess(record.pid ?? undefined, record.pidStart ?? undefined) ? record.state : "crashed";
}
