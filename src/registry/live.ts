/**
 * Running supervisors found by their control sockets rather than by their records: a record can
 * be damaged (truncated, overwritten) while its supervisor keeps serving, and such a supervisor
 * must still be found, e.g. by `app stop`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { appFile, scanApps } from "./apps.js";
import { socketAppId, socketDirs } from "./sockets.js";

export interface LiveSupervisor {
  id: string;
  pid: number;
  socket: string;
}

/** Every supervisor whose control socket answers `ping` within `timeoutMs`. */
export async function findLiveSupervisors(timeoutMs = 1000): Promise<LiveSupervisor[]> {
  const sockets: { id: string; socket: string }[] = [];
  for (const dir of socketDirs()) {
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const id = socketAppId(file);
      if (id) sockets.push({ id, socket: join(dir, file) });
    }
  }
  const answers = await Promise.all(sockets.map(async (s) => ({ ...s, pid: await ping(s.socket, timeoutMs) })));
  return answers.filter((a): a is LiveSupervisor => a.pid !== undefined);
}

/** The pid a control socket answers `ping` with, or undefined (no listener, no answer in time). */
export function ping(socket: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    let buffered = "";
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on("connect", () => conn.write(JSON.stringify({ id: 1, op: "ping" }) + "\n"));
    conn.on("data", (chunk) => {
      buffered += chunk.toString("utf8");
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      try {
        const res = JSON.parse(buffered.slice(0, nl)) as { ok?: boolean; result?: { pid?: unknown } };
        done(res.ok && typeof res.result?.pid === "number" ? res.result.pid : undefined);
      } catch {
        done(undefined);
      }
    });
    conn.on("error", () => done(undefined));
    conn.on("close", () => done(undefined));
  });
}

/**
 * A running supervisor of `nameOrId` whose record is damaged (or gone): matched by its app id,
 * or by the name still legible in a truncated record. Undefined when there is none.
 */
export async function findUnrecordedLive(nameOrId: string): Promise<LiveSupervisor | undefined> {
  const { records, damaged } = scanApps();
  const recorded = new Set(records.map((r) => r.id));
  const live = (await findLiveSupervisors()).filter((s) => !recorded.has(s.id));
  return live.find((s) => s.id === nameOrId) ?? live.find((s) => damaged.some((d) => d.id === s.id && salvageName(appFile(d.id)) === nameOrId));
}

/** The app ids of running supervisors whose record is damaged or gone (for hints). */
export async function unrecordedLiveIds(): Promise<string[]> {
  const recorded = new Set(scanApps().records.map((r) => r.id));
  return (await findLiveSupervisors()).filter((s) => !recorded.has(s.id)).map((s) => s.id);
}

/** The name in a damaged record, when its `"name": "…"` survived (a truncated file keeps its start). */
function salvageName(file: string): string | undefined {
  try {
    const m = /"name"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(readFileSync(file, "utf8"));
    return m ? (JSON.parse(`"${m[1]}"`) as string) : undefined;
  } catch {
    return undefined;
  }
}
