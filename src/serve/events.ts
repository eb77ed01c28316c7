import type { Activation } from "../engine/engine.js";
import type { BuildOutput } from "../loader/build.js";

/** One build-and-swap attempt: the changed files it answers and when they started. */
export interface Round {
  /** Files whose change this round answers (oldest unreported first). */
  files: string[];
  /** The number of the latest change when its build started: later changes are not answered by it. */
  mark: number;
  /** performance.now() when the oldest of those changes arrived (the reload time counts from it). */
  since: number;
  /** performance.now() when its build started (a file modified after it may be newer than the build). */
  builtAt: number;
}

/** What the stages of a serve session report; handled one at a time by `ServePipeline`. */
export type ServeEvent =
  /** The watcher saw these files' content change (a burst of writes is one event). */
  | { type: "changed"; files: string[] }
  /** The builder finished a round's build, and the burst of changes that led to it has gone quiet. */
  | { type: "built"; round: Round; build: BuildOutput }
  /** esbuild refused the round's sources. */
  | { type: "build-failed"; round: Round; error: Error }
  /** The host swapped the round's build in: new workers serve it. */
  | { type: "swapped"; round: Round; activation: Activation; urlsChanged: boolean }
  /** The round's version did not load or start; the previous one keeps serving. */
  | { type: "swap-failed"; round: Round; error: Error }
  /** A signal, or `nodal app stop` (no signal, maybe a `--grace` cap), asks the session to stop. */
  | { type: "stop"; signal: NodeJS.Signals | undefined; capMs?: number }
  /** The graceful stop finished: the watcher closed, the host stopped. */
  | { type: "stopped" };
