import { readdirSync, readFileSync } from "node:fs";

/**
 * SIGKILLs every child of this process, with its process group (each worker leads its own, so
 * whatever it spawned goes too): a forced stop waits for nothing, not even the engine's own
 * stop, which may be the very thing stuck. Returns the pids it signalled.
 */
export function killChildren(): number[] {
  const killed: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return killed; // no /proc: the workers still exit when their IPC channel closes with us
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // The command name in parentheses may hold spaces: fields count from the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== process.pid) continue;
    const pid = Number(name);
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
        break;
      } catch {
        // Not a group leader (esbuild's service): the process alone.
      }
    }
    killed.push(pid);
  }
  return killed;
}
