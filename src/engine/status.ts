/**
 * What a running app tells about itself (`status` on its control socket, `app show`): plain
 * data, and never a secret value — manifests leave the engine only as `PublicManifest`.
 */
import type { AppManifest, FunctionSpec } from "../loader/manifest.js";
import type { RunOutcome } from "./scheduler.js";

/** A function as it may be shown: no environment, no secret values. */
export type PublicFunctionSpec = Omit<FunctionSpec, "env" | "secretValues">;
export type PublicManifest = Omit<AppManifest, "functions"> & { functions: PublicFunctionSpec[] };

export function publicManifest(manifest: AppManifest): PublicManifest {
  return { ...manifest, functions: manifest.functions.map(({ env: _env, secretValues: _values, ...rest }) => rest) };
}

/** One worker process of the app. */
export interface WorkerStatus {
  pid: number;
  function: string;
  id: string;
}

export interface FunctionStatus {
  name: string;
  kind: "function" | "web";
  url?: string;
  schedule?: string;
  nextRun?: string;
  lastRun?: { startedAt: string; outcome: RunOutcome; durationMs: number; id: string };
  volumes: Record<string, string>;
  secrets: string[];
  /** Workers running now, and why that many (`scaled to zero after 60 s idle`, `minContainers`…). */
  containers?: { running: number; reason: string };
}

/** How a web function is doing. */
export interface WebHealth {
  /** "restarting" while one of its workers is down (and a restart is due or under way). */
  state: "ready" | "restarting";
  /** Restart attempts since the app started, failed ones included. */
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** When the next restart attempt is due (ISO time), while restarting. */
  nextAttemptAt?: string;
}

export interface AppStatus {
  id: string;
  version: number;
  /** The process that runs the app (serve, or the supervisor). */
  pid: number;
  workers: WorkerStatus[];
  urls: Record<string, string>;
  functions: FunctionStatus[];
  /** Crash restarts per web function since the app started. */
  restarts: Record<string, number>;
  /** Per web function of the live version. */
  health: Record<string, WebHealth>;
  /** Workers stopped over their `memory` limit since the app started, per function. */
  memoryStops: Record<string, number>;
}
