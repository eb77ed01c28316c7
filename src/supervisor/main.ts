/**
 * The supervisor's entry. It forks the app's first worker before anything else is loaded,
 * so that worker's start-up overlaps the supervisor's own (and the deploying CLI's build);
 * messages from the CLI that arrive meanwhile are kept until supervisor.ts takes over.
 */
import { Worker } from "../engine/worker.js";
import type { ToSupervisor } from "./supervisor.js";

// Started without it (see deploy/pending.ts): the workers get it back.
if (process.env.NODAL_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.NODAL_EXTRA_CA_CERTS;
  delete process.env.NODAL_EXTRA_CA_CERTS;
}

const early = new Worker();
const queued: ToSupervisor[] = [];
let deliver: ((msg: ToSupervisor) => void) | undefined;
process.on("message", (msg: ToSupervisor) => (deliver ? deliver(msg) : queued.push(msg)));
// The CLI that started this supervisor left before it was even loaded (its command failed):
// nobody will ever tell it what to run. (supervisor.ts handles a disconnect after that.)
const orphaned = () => deliver === undefined && process.exit(0);
process.on("disconnect", orphaned);
if (!process.connected) orphaned();

void import("./supervisor.js").then(({ runSupervisor }) => {
  runSupervisor(early, (handler) => {
    deliver = handler;
    for (const msg of queued.splice(0)) handler(msg);
  });
});
