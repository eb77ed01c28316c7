import type { WireError } from "../errors.js";
import type { AppManifest } from "../loader/manifest.js";

export type { WireError };

/** Messages from the engine to a worker. */
export type ToWorker =
  | { t: "preload"; modules: string[] }
  | { t: "load"; bundle: string; file: string; selector?: string; env: Record<string, string> }
  | { t: "start"; fn: string }
  | { t: "conn" }
  | { t: "call"; id: number; fn: string; args: unknown[] }
  | { t: "entrypoint"; id: number; argv: string[] }
  | { t: "remote-result"; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: "drain"; graceMs: number; closeIdle: boolean }
  | { t: "activity" };

/** Messages from a worker to the engine. */
export type FromWorker =
  | { t: "hello" }
  | { t: "loaded"; manifest: AppManifest }
  | { t: "ready" }
  | { t: "failed"; error: WireError }
  | { t: "result"; id: number; ok: boolean; value?: unknown; error?: WireError }
  | { t: "remote"; id: number; fn: string; args: unknown[] }
  /** `.spawn()` in app code: the engine answers (`remote-result`) the stored call's id, or undefined. */
  | { t: "spawn"; id: number; fn: string; args: unknown[] }
  | { t: "activity"; inFlight: number; idleMs: number }
  /**
   * A web worker's requests since its last batch (sent at most every `STATS_BATCH_MS`):
   * `durations` is a uniform sample of theirs, at most `STATS_SAMPLE`.
   */
  | { t: "stats"; requests: number; errors: number; durations: number[] };

/** The most request durations a batch carries. */
export const STATS_SAMPLE = 64;

/** How often a web worker reports its request figures, when it had requests. */
export const STATS_BATCH_MS = 250;

/** An error from serializing a value that structured clone cannot carry (a function, a socket…). */
export function isCloneError(error: unknown): boolean {
  const e = error as Error | undefined;
  return e?.name === "DataCloneError" || /could not be cloned/.test(e?.message ?? "");
}
