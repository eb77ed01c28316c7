import { constants } from "node:os";
import { dirname, relative, resolve } from "node:path";
import type { Activation, Version } from "../engine/engine.js";
import { BuildError, type BuildOutput } from "../loader/build.js";
import { style } from "../ui/output.js";
import type { Round, ServeEvent } from "./events.js";

/** The stages a session drives. Each reports back through `dispatch`; a test may pass fakes. */
export interface Stages {
  watcher: {
    setFiles(files: string[], builtAt?: number): Promise<void>;
    /** Resolves once the current burst of file events has gone quiet (the quiet-period policy). */
    settled(): Promise<void>;
    close(): Promise<void>;
  };
  builder: { readonly entry: string; build(): Promise<BuildOutput> };
  host: {
    activate(build: BuildOutput, version: number): Promise<Activation>;
    /** Work in flight gets at most `capMs` to finish. */
    stop(capMs: number): Promise<void>;
    system(line: string): void;
    readonly engine: { readonly urls: Record<string, string> };
  };
  /** Kills every worker now, waiting for nothing (a forced stop). */
  kill(): void;
  /**
   * Where the session's lines go: lifecycle lines (errors to stderr), the URL list, and a line
   * that says what a stop waits for (a spinner on a terminal) until the returned function ends it.
   */
  print: {
    line(message: string, error?: boolean): void;
    urls(urls: Record<string, string>, functionCount: number): void;
    waiting(text: string): () => void;
  };
}

/** How a session ended. */
export interface Ending {
  /** 128 + the signal's number after a signal, 0 after `nodal app stop`. */
  code: number;
  /** A second signal cut the graceful stop short. */
  forced: boolean;
}

/** At most how long a graceful stop lets work in flight finish (`app stop --grace` may say less). */
const STOP_GRACE_MS = 3000;
/** A stop with nothing in flight is over sooner than this; past it, the stop says what it waits for. */
const STOP_QUIET_MS = 300;

type State = "idle" | "building" | "swapping" | "stopping";

/**
 * `serve` as a pipeline: Watcher → Builder → AppHost, each reporting a `ServeEvent` here.
 * Events are handled one at a time, in order; a handler awaits only the watcher (ms), never a
 * build, a swap or a stop, which report back as events of their own. The edges:
 *
 * - `changed`: idle → building (a round starts with every unreported change); while building or
 *   swapping the round is marked superseded; while stopping, ignored.
 * - `built`: superseded → building again (the newest sources, not a stale swap); the same
 *   bundle as the live one → "nothing to reload", then next; otherwise → swapping.
 * - `build-failed`: the error is printed, the files it names are watched too (a fix there
 *   rebuilds); the last good version keeps serving; then next.
 * - `swapped`: the new version's imports are watched, then "reloaded vN" is printed; then next.
 * - `swap-failed`: the load error is printed; the last good version keeps serving; then next.
 * - `stop`: → stopping: the watcher closes and the host stops with a grace period. A second
 *   `stop` with a signal while stopping forces: workers killed at once, the session ends now.
 * - `stopped`: the graceful stop finished; the session ends.
 *
 * "Next" is building when a change arrived during the round, idle otherwise. Files stay
 * unreported until a round that answers them ends, so a superseded round's files are named
 * by the round that finally swaps. In stopping, the outcome of a late build or swap is dropped.
 */
export class ServePipeline {
  readonly #stages: Stages;
  #state: State = "idle";
  #current: Version;
  /** Changed files no printed line has named yet, each with the number of its latest change. */
  #pending = new Map<string, number>();
  /** Changes counted so far (a round answers those up to its `mark`). */
  #changes = 0;
  /** When the oldest of `#pending` arrived. */
  #since = 0;
  #superseded = false;
  #signal: NodeJS.Signals | undefined;
  /** Shows the waiting line once a stop has taken STOP_QUIET_MS. */
  #waitTimer: NodeJS.Timeout | undefined;
  /** Ends the waiting line, once it shows. */
  #endWaiting: (() => void) | undefined;
  #forced = false;
  #queue: Promise<void> = Promise.resolve();
  #end!: (ending: Ending) => void;
  /** Resolves when the session has ended. */
  readonly ended: Promise<Ending>;

  constructor(stages: Stages, current: Version) {
    this.#stages = stages;
    this.#current = current;
    this.ended = new Promise((resolve) => (this.#end = resolve));
  }

  get state(): State {
    return this.#state;
  }

  dispatch(event: ServeEvent): void {
    this.#queue = this.#queue
      .then(() => this.#handle(event))
      .catch((error: Error) => {
        // Only the watcher can throw here (setFiles): say so, and go on rather than stall.
        this.#stages.print.line(`${style("red", "error")} while handling "${event.type}": ${error.stack ?? error.message}`, true);
        if (this.#state === "building" || this.#state === "swapping") this.#next();
      });
  }

  async #handle(event: ServeEvent): Promise<void> {
    const { watcher } = this.#stages;
    switch (event.type) {
      case "changed":
        if (this.#state === "stopping") return;
        if (this.#pending.size === 0) this.#since = performance.now();
        for (const f of event.files) this.#pending.set(f, ++this.#changes);
        if (this.#state === "idle") this.#build();
        else this.#superseded = true;
        return;
      case "built":
        if (this.#state === "stopping") return;
        if (this.#superseded) return this.#build();
        if (event.build.hash === this.#current.build.hash) {
          this.#answered(event.round);
          await watcher.setFiles(event.build.inputs, event.round.builtAt);
          this.#stages.print.line(`${names(event.round)} changed; the build is identical, nothing to reload`);
          return this.#next();
        }
        return this.#swap(event.round, event.build);
      case "build-failed": {
        if (this.#state === "stopping") return;
        this.#answered(event.round);
        if (event.error instanceof BuildError) {
          const named = event.error.messages.flatMap((m) => (m.location?.file ? [resolve(dirname(this.#stages.builder.entry), m.location.file)] : []));
          await watcher.setFiles([...new Set([...this.#current.build.inputs, ...named])]);
        }
        this.#failed(event.round, event.error);
        return this.#next();
      }
      case "swapped": {
        if (this.#state === "stopping") return;
        const version = event.activation.version;
        this.#current = version;
        this.#answered(event.round);
        // Watch what this version imports before saying it is live.
        await watcher.setFiles(version.build.inputs, event.round.builtAt);
        const ms = Math.round(performance.now() - event.round.since);
        this.#stages.print.line(`reloaded ${style("green", `v${version.n}`)} in ${ms} ms (changed: ${names(event.round)})`);
        this.#stages.host.system(`reloaded v${version.n} (changed: ${names(event.round)})`);
        if (event.urlsChanged) this.#stages.print.urls(event.activation.urls, version.manifest.functions.length);
        return this.#next();
      }
      case "swap-failed":
        if (this.#state === "stopping") return;
        this.#answered(event.round);
        this.#failed(event.round, event.error);
        return this.#next();
      case "stop":
        if (this.#state !== "stopping") return this.#stop(event.signal, Math.min(event.capMs ?? Infinity, STOP_GRACE_MS));
        if (event.signal && !this.#forced) {
          this.#forced = true;
          this.#stopWaiting();
          this.#stages.kill();
          this.#stages.print.line(`${event.signal} received while stopping; workers killed`);
          this.#end({ code: exitCode(event.signal), forced: true });
        }
        return;
      case "stopped":
        this.#stopWaiting();
        if (!this.#forced) this.#end({ code: exitCode(this.#signal), forced: false });
        return;
      default:
        return unreachable(event);
    }
  }

  #build(): void {
    this.#state = "building";
    this.#superseded = false;
    const round: Round = { files: [...this.#pending.keys()], mark: this.#changes, since: this.#since, builtAt: performance.now() };
    this.#stages.builder.build().then(
      async (build) => {
        // The swap waits for the burst to end; the build did not.
        await this.#stages.watcher.settled();
        this.dispatch({ type: "built", round, build });
      },
      (error: Error) => this.dispatch({ type: "build-failed", round, error }),
    );
  }

  #swap(round: Round, build: BuildOutput): void {
    this.#state = "swapping";
    const before = JSON.stringify(this.#stages.host.engine.urls);
    this.#stages.host.activate(build, this.#current.n + 1).then(
      (activation) => this.dispatch({ type: "swapped", round, activation, urlsChanged: JSON.stringify(activation.urls) !== before }),
      (error: Error) => this.dispatch({ type: "swap-failed", round, error }),
    );
  }

  #next(): void {
    if (this.#superseded) this.#build();
    else this.#state = "idle";
  }

  #stop(signal: NodeJS.Signals | undefined, capMs: number): void {
    this.#state = "stopping";
    this.#signal = signal;
    this.#stages.print.line(`${signal ? `${signal} received` : "stop requested"}; stopping${signal ? " (press Ctrl-C again to force)" : ""}`);
    this.#waitTimer = setTimeout(() => {
      this.#endWaiting = this.#stages.print.waiting("stopping: waiting for in-flight requests and calls to finish…");
    }, STOP_QUIET_MS);
    this.#waitTimer.unref();
    const { watcher, host } = this.#stages;
    void (async () => {
      await watcher.close();
      await host.stop(capMs);
    })()
      .catch((error: Error) => this.#stages.print.line(`${style("red", "stop failed")}: ${error.message}`, true))
      .finally(() => this.dispatch({ type: "stopped" }));
  }

  #stopWaiting(): void {
    clearTimeout(this.#waitTimer);
    this.#endWaiting?.();
    this.#endWaiting = undefined;
  }

  /**
   * The round's files have been named in a printed line. A file changed again after the round's
   * build started stays pending: the build may have read it before that change.
   */
  #answered(round: Round): void {
    for (const f of round.files) if (this.#pending.get(f)! <= round.mark) this.#pending.delete(f);
    if (this.#pending.size > 0) this.#since = performance.now();
  }

  #failed(round: Round, error: Error): void {
    this.#stages.print.line(`${style("red", "reload failed")} (still serving v${this.#current.n}; changed: ${names(round)}):\n${error.message}`, true);
  }
}

function names(round: Round): string {
  return round.files
    .map((f) => relative(process.cwd(), f) || f)
    .sort()
    .join(", ");
}

function exitCode(signal: NodeJS.Signals | undefined): number {
  return signal ? 128 + constants.signals[signal] : 0;
}

function unreachable(event: never): never {
  throw new Error(`unhandled serve event ${JSON.stringify(event)}`);
}
