import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nodeCrypto } from "../lazy.js";
import { writeFileAtomicSync } from "./atomic.js";
import { homeDir } from "./home.js";
import { isSameProcess } from "./proc.js";
import { stderr } from "../ui/stdio.js";

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
  writeFileAtomicSync(appFile(record.id), JSON.stringify(record, null, 2) + "\n");
}

/** The record file of an app id. */
export function appFile(id: string): string {
  return join(appsDir(), `${id}.json`);
}

/** A record file that could not be read as a record: its file name and why. */
export interface DamagedRecord {
  file: string;
  id: string;
  why: string;
}

/** Every record, oldest first, and every damaged one (`null`, truncated, not JSON, wrong shape). */
export function scanApps(): { records: AppRecord[]; damaged: DamagedRecord[] } {
  const records: AppRecord[] = [];
  const damaged: DamagedRecord[] = [];
  const dir = appsDir();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".json")) continue;
    const id = file.slice(0, -".json".length);
    let why: string | undefined;
    try {
      const parsed = JSON.parse(readFileSync(join(dir, file), "utf8")) as unknown;
      why = shapeProblem(parsed, id);
      if (!why) records.push(parsed as AppRecord);
    } catch (error) {
      // Never JSON.parse's message: V8 quotes the text around the error.
      why = error instanceof SyntaxError ? "not valid JSON: truncated or overwritten" : `cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`;
    }
    if (why) damaged.push({ file, id, why });
  }
  return { records: records.sort(byCreatedAt), damaged };
}

// Shared through a global: deploy's early start (bin/nodal) and the CLI are two bundles in one
// process, each with its own copy of this module, and a damaged record is reported once.
const REPORTED = Symbol.for("nodal.registry.reportedDamage");
const reported: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[REPORTED] ??= new Set<string>());

/**
 * Every readable record, oldest first. A damaged one is skipped and reported on stderr, one
 * line, once per process: the other apps keep working.
 */
export function listApps(): AppRecord[] {
  const { records, damaged } = scanApps();
  for (const d of damaged) {
    if (reported.has(d.file)) continue;
    reported.add(d.file);
    stderr.write(`warning: skipped damaged app record ${d.file} (${d.why})\n`);
  }
  return records;
}

const STATES: readonly string[] = ["deployed", "ephemeral", "stopped"];

/** What is wrong with a parsed record, or undefined when it has the shape of an AppRecord. */
export function shapeProblem(value: unknown, id: string): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `not an app record: ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  const r = value as Record<string, unknown>;
  const isString = (v: unknown) => typeof v === "string";
  const isStringOrNull = (v: unknown) => v === null || typeof v === "string";
  const checks: [string, boolean][] = [
    ["id", r.id === id],
    ["name", isString(r.name)],
    ["state", STATES.includes(r.state as string)],
    ["version", typeof r.version === "number"],
    ["file", isString(r.file)],
    ["createdAt", isString(r.createdAt)],
    ["stoppedAt", isStringOrNull(r.stoppedAt)],
    ["pid", r.pid === null || (Number.isInteger(r.pid) && (r.pid as number) > 0)],
    ["pidStart", isStringOrNull(r.pidStart)],
    ["urls", typeof r.urls === "object" && r.urls !== null && Object.values(r.urls).every(isString)],
    ["functions", Array.isArray(r.functions) && r.functions.every(isString)],
  ];
  const bad = checks.filter(([, ok]) => !ok).map(([field]) => field);
  return bad.length ? `wrong shape: bad or missing ${bad.join(", ")}` : undefined;
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
