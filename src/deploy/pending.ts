import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { BuildOutput } from "../loader/build.js";
import { fromWire, UserError, type WireError } from "../errors.js";
import type { PublicManifest } from "../engine/status.js";
import { homeDir } from "../registry/home.js";
import { distFile } from "../paths.js";
import type { AppSource, FromSupervisor, ToSupervisor } from "../supervisor/supervisor.js";

const SUPERVISOR_MAIN = distFile("supervisor", "main.cjs");
/**
 * A supervisor lives as long as its app. With V8's default semi-space, its young generation
 * grew with every redeploy and was never given back (~45 KB a redeploy: 48 → 57 MB over 200);
 * 1 MB semi-spaces held it at 49.5 → 51.5 MB over 80 (`node bench/index.js memory`).
 * A 1 GB heap limit, far above what a supervisor holds, makes V8 collect its start-up garbage
 * sooner (the default limit here is ~4 GB): an idle supervisor is ~0.9 MB smaller (45.2 →
 * 44.3 MB; any limit of 1 GB or less does it, 2 GB or more does not).
 */
const SUPERVISOR_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=1024"];

/**
 * A version that failed to start, as the user's error: what failed, then the error itself (a
 * user error found by the supervisor or a worker keeps its code, hint and frames).
 */
export function startFailure(error: unknown, what: string, hint?: string): Error {
  if (!(error instanceof UserError)) return error as Error;
  return new UserError(error.code, `${what}: ${error.message}`, error.hint ?? hint, error.frames);
}

/**
 * The supervisor's environment: the CLI's, except NODE_EXTRA_CA_CERTS, which is passed on as
 * NODAL_EXTRA_CA_CERTS. Node 20 parses that certificate file as it starts (about 80 ms for a
 * system bundle, on the path to a deploy's first response), and a supervisor opens no TLS
 * connections; supervisor/main.ts puts it back for the workers, which run the app's code.
 * Only Node 20 needs this (22 and later read the file at the first TLS connection); it is done
 * on every Node, as bin/nodal does, so that there is one path to test. Drop it with Node 20.
 */
export function supervisorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: extra, ...rest } = env;
  return extra === undefined ? rest : { ...rest, NODAL_EXTRA_CA_CERTS: extra };
}

/**
 * A supervisor started before the deploy knows what it will run (see supervisor/main.ts):
 * its Node start-up overlaps the build. Until `go` it has committed nothing.
 */
export class PendingSupervisor {
  readonly child: ChildProcess;
  #committed = false;
  #exited: Promise<string>;

  private constructor() {
    const logFd = openSync(join(homeDir("logs"), "supervisors.log"), "a", 0o600);
    this.child = spawn(process.execPath, [...SUPERVISOR_FLAGS, SUPERVISOR_MAIN], {
      detached: true, // its own session: it outlives this CLI and the terminal
      stdio: ["ignore", logFd, logFd, "ipc"],
      env: supervisorEnv(process.env),
    });
    closeSync(logFd);
    this.#exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
    this.child.on("error", () => {});
  }

  /** Starts a supervisor; it forks its first worker at once and waits for `inspect`. */
  static spawn(): PendingSupervisor {
    return new PendingSupervisor();
  }

  /** Sends `msg`; resolves to the reply `want`, rejects with the supervisor's error (`fromWire`). */
  #request<T extends FromSupervisor["t"]>(msg: ToSupervisor, want: T): Promise<Extract<FromSupervisor, { t: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: FromSupervisor) => {
        if (reply.t === want) resolve(reply as Extract<FromSupervisor, { t: T }>);
        else if (reply.t === "failed") reject(fromWire(reply.error satisfies WireError));
      };
      this.child.on("message", onMessage);
      void this.#exited.then((how) =>
        reject(
          new UserError(
            "E_WORKER_FAILED",
            `the app's supervisor exited (${how}) before it was ready`,
            `see ${join(homeDir("logs"), "supervisors.log")}`,
          ),
        ),
      );
      this.child.send(msg);
    });
  }

  /** Loads the build of `where.path` in a worker; resolves to its manifest (the app's name among it). */
  async inspect(build: BuildOutput, where: AppSource): Promise<PublicManifest> {
    return (await this.#request({ t: "inspect", build, ...where }, "manifest")).manifest;
  }

  /** Commits: ports, registry record, control socket. Resolves once the app is healthy. */
  async go(id: string, name: string, version: number): Promise<{ urls: Record<string, string>; manifest: PublicManifest }> {
    this.#committed = true;
    try {
      return await this.#request({ t: "go", id, name, version }, "healthy");
    } catch (error) {
      throw startFailure(error, `v${version} of "${name}" failed to start`, "fix the error and deploy again");
    }
  }

  /** Lets a committed supervisor live on alone; ends one that was never told to go. */
  release(): void {
    if (!this.#committed && this.child.exitCode === null) this.child.kill("SIGTERM");
    if (this.child.connected) this.child.disconnect();
    this.child.unref();
  }
}
