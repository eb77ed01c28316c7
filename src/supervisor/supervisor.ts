/**
 * The supervisor of one deployed app. `nodal deploy` starts it detached (its own session,
 * stdio to a file) before it has even built the app, so Node's start-up overlaps the build:
 *
 *   CLI → { t: "inspect", build }        supervisor loads it in a worker, answers
 *   ← { t: "manifest", manifest }        the app's name: the CLI takes the name's lock and
 *   CLI → { t: "go", id, name, version } decides; "go" commits (ports, registry, control
 *   ← { t: "healthy", urls, manifest }   socket), "quit" abandons.
 *
 * After "healthy" the CLI disconnects and the supervisor lives on its own, running the same
 * AppHost as `nodal serve`, until `nodal app stop` or SIGTERM.
 * It needs nothing to start: main.ts forks the first worker (any app's) before this module, and
 * all of the engine, is even loaded. "inspect" says which app it is.
 */
import { basePort } from "../engine/front-door.js";
import type { BuildOutput } from "../loader/build.js";
import { toWire, UserError, type WireError } from "../errors.js";
import { publicManifest, type PublicManifest } from "../engine/status.js";
import { listApps } from "../registry/apps.js";
import { readVersion, versionBuild } from "../registry/versions.js";
import type { Worker } from "../engine/worker.js";
import { AppHost } from "../engine/host.js";

/** The app a supervisor runs: its file as the user named it, its absolute path, `::selector`. */
export interface AppSource {
  host: string;
  display: string;
  path: string;
  selector?: string;
}

export type ToSupervisor =
  | ({ t: "inspect"; build: BuildOutput } & AppSource)
  | { t: "go"; id: string; name: string; version: number }
  | { t: "quit" };

export type FromSupervisor =
  | { t: "manifest"; manifest: PublicManifest }
  | { t: "healthy"; urls: Record<string, string>; version: number; manifest: PublicManifest }
  | { t: "failed"; error: WireError };

const send = (msg: FromSupervisor) => process.connected && process.send!(msg);
let appName = "";

function makeHost({ host, display, path, selector }: AppSource, early: Worker[]): AppHost {
  const h: AppHost = new AppHost({
    kind: "deployed",
    schedules: true,
    file: display,
    path,
    engine: {
      file: display,
      ...(selector ? { selector } : {}),
      host,
      basePort: basePort(),
      serveWeb: true,
      // No idle spare once running: it would cost a deployed app ~55 MB for a faster redeploy.
      // The worker main.ts forked ahead is the only one, and it serves the first version.
      spares: 0,
      // Idle workers stop after their function's scaledownWindow (serve keeps its own warm).
      scaleToZero: true,
      adoptSpares: early,
    },
    // A redeploy or rollback swaps to a stored version without dropping a request.
    versions: (n) => {
      const next = readVersion(appName, n);
      if (!next) throw new UserError("E_NOT_FOUND", `version v${n} of "${appName}" is missing`, `see \`nodal app history ${appName}\``);
      return { build: versionBuild(appName, next), n: next.n };
    },
  });
  return h;
}

/** Made by "inspect". */
let host: AppHost | undefined;
let early: Worker;
let stopping = false;
/**
 * Work in flight finishes within its function's timeout, or `capMs` (`app stop --grace`) when
 * that is shorter. A second signal does not wait for anything. A signal (a shutdown, a reboot)
 * is not a stop on purpose: the app stays deployed, and `nodal resurrect` starts it again.
 */
const stop = (capMs?: number, bySignal = false) => {
  if (!host) early.kill();
  if (stopping) return void host?.engine.stop(0);
  stopping = true;
  void (host?.stop(capMs, bySignal) ?? Promise.resolve()).then(() => process.exit(0));
};
let committed = false;

/** Called by main.ts with the worker it forked first and the messages that came meanwhile. */
export function runSupervisor(first: Worker, onMessage: (handler: (msg: ToSupervisor) => void) => void): void {
  early = first;
  process.on("SIGTERM", () => stop(undefined, true));
  process.on("SIGINT", () => stop(undefined, true));
  process.on("SIGHUP", () => {}); // the terminal closing is not our business
  process.on("disconnect", () => {
    // The deploying CLI left: after "go" that is the plan; before it, nobody will ever say "go".
    if (!committed) process.exit(0);
  });
  onMessage(handle);
}

function handle(msg: ToSupervisor): void {
  switch (msg.t) {
    case "inspect": {
      const { t: _, build, ...source } = msg;
      host = makeHost(source, [early]);
      const h = host;
      h.engine.prepare(build).then(
        (manifest) => send({ t: "manifest", manifest: publicManifest(manifest) }),
        (error) => {
          send({ t: "failed", error: toWire(error) });
          void h.stop(0).then(() => process.exit(1));
        },
      );
      return;
    }
    case "go": {
      const h = host!;
      committed = true;
      appName = msg.name;
      const version = readVersion(msg.name, msg.version)!;
      // Keep the ports of this name's last instance when they are free (URLs survive a restart).
      const previous = listApps().filter((r) => r.name === msg.name).at(-1);
      h.engine.preferPorts(Object.fromEntries(Object.entries(previous?.urls ?? {}).map(([fn, url]) => [fn, Number(new URL(url).port)])));
      h.start(versionBuild(msg.name, version), version.n, { id: msg.id, name: msg.name }).then(
        (act) => {
          h.onStopRequested = stop;
          send({ t: "healthy", urls: act.urls, version: version.n, manifest: publicManifest(act.version.manifest) });
        },
        (error) => {
          send({ t: "failed", error: toWire(error) });
          void h.stop(0).then(() => process.exit(1));
        },
      );
      return;
    }
    case "quit":
      return stop();
  }
}
