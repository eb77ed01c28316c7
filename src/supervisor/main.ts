/**
 * The supervisor's entry. It forks the app's first worker before anything else is loaded,
 * so that worker's start-up overlaps the supervisor's own (and the deploying CLI's build);
 * messages from the CLI that arrive meanwhile are kept until supervisor.ts takes over.
 */
import { Worker } from "../engine/worker.js";
import type { ToSupervisor } from "./supervisor.js";

const early = new Worker();
const queued: ToSupervisor[] = [];
let deliver: ((msg: ToSupervisor) => void) | undefined;
process.on("message", (msg: ToSupervisor) => (deliver ? deliver(msg) : queued.push(msg)));

const { runSupervisor } = await import("./supervisor.js");
runSupervisor(early, (handler) => {
  deliver = handler;
  for (const msg of queued.splice(0)) handler(msg);
});
