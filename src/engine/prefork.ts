/**
 * `nodal start` is what a container runs, and a pod's start is two Node start-ups: its own, then
 * its first worker's. bin/nodal.cjs loads this small bundle (dist/engine/prefork.cjs) before the
 * CLI and forks that worker at once, so that it boots while the CLI loads and parses its
 * arguments; it hands the worker to `main`, and `nodal start` adopts it (the engine takes it as
 * a spare, as a deploy's supervisor does with the worker it forks first). Any other outcome
 * (`start --help`, a usage error) ends the CLI, and the worker with it (it exits when its
 * engine goes).
 */
export { forkWorkerProcess as preforkWorker } from "./fork.js";
