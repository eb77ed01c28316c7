/**
 * Running supervisors found by their control sockets rather than by their records: a record can
 * be damaged (truncated, overwritten) while its supervisor keeps serving, and such a supervisor
 * must still be found, e.g. by `app stop`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { appFile, scanApps } from "./apps.js";
import { socketAppId, socketDirs } from "./sockets.js";
import { stderr } from "../ui/stdio.js";

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
export async function ping(socket: string, timeoutMs: number): Promise<number | undefined> {
  const { controlRequest } = await import("../engine/control.js");
  return controlRequest(socket, "ping", {}, timeoutMs).then(
    (r) => r.pid,
    () => undefined,
  );
}

/**
 * Asks every running supervisor whose record is damaged to write it again (it holds the
 * record in memory): a truncated record then never hides a live app from `deploy` or `app
 * list`. Says so on stderr, one line per record; returns the app ids written again.
 */
export async function repairRecords(): Promise<string[]> {
  const { damaged } = scanApps();
  if (damaged.length === 0) return [];
  const { controlRequest } = await import("../engine/control.js");
  const live = (await findLiveSupervisors()).filter((s) => damaged.some((d) => d.id === s.id));
  const repaired: string[] = [];
  for (const s of live) {
    try {
      await controlRequest(s.socket, "record", {}, 2000);
      repaired.push(s.id);
      stderr.write(`note: app record ${s.id}.json was damaged; its running supervisor (pid ${s.pid}) wrote it again\n`);
    } catch {
      // It stopped meanwhile: the record stays damaged and is reported as such.
    }
  }
  return repaired;
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
