import { readdirSync, readFileSync } from "node:fs";

/** One process as /proc shows it: enough to find a tree and to tell a recycled pid apart. */
interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  start: string;
}

function readProcs(): Proc[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return []; // no /proc (macOS): process groups are all we have
  }
  const procs: Proc[] = [];
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 2 (comm) may hold spaces and parentheses: count fields after the last ")".
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (f[0] === "Z") continue; // exited, only waiting to be reaped
      procs.push({ pid: Number(name), ppid: Number(f[1]), pgrp: Number(f[2]), start: f[19]! });
    } catch {
      // Gone between readdir and read.
    }
  }
  return procs;
}

/** A process found in a tree: its pid and start time (a pid alone may be recycled by then). */
export type TreeMember = readonly [pid: number, start: string];

/**
 * Every live process below `root` — its descendants, including those that left its process
 * group with setsid(), and whatever else is in the group `root` leads — `root` excluded.
 * Taken before `root` dies: an orphan is re-parented to init and cannot be traced back.
 */
export function processTree(root: number): TreeMember[] {
  const procs = readProcs();
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, Proc>();
  const stack = [root];
  while (stack.length) {
    for (const child of children.get(stack.pop()!) ?? []) {
      if (found.has(child.pid)) continue;
      found.set(child.pid, child);
      stack.push(child.pid);
    }
  }
  for (const p of procs) if (p.pgrp === root && p.pid !== root) found.set(p.pid, p);
  return [...found.values()].map((p) => [p.pid, p.start] as const);
}

/** Members of a tree taken earlier that are still the same processes (not recycled pids). */
export function stillAlive(members: readonly TreeMember[]): TreeMember[] {
  if (!members.length) return [];
  const live = new Map(readProcs().map((p) => [p.pid, p.start]));
  return members.filter(([pid, start]) => live.get(pid) === start);
}

/** Sends `signal` to each member that is still the process it was; returns those signalled. */
export function signalMembers(members: readonly TreeMember[], signal: NodeJS.Signals): TreeMember[] {
  const alive = stillAlive(members);
  for (const [pid] of alive) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
  return alive;
}

/** Signals a process group; false when it has no member left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
