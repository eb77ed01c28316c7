import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOutput } from "../loader/build.js";
import { writeFileAtomicSync } from "./atomic.js";
import { homeDir } from "./home.js";

/** One deployed version of an app name: a snapshot of the bundle, immune to later edits. */
export interface VersionRecord {
  n: number;
  hash: string;
  /** The source file it was built from (absolute). */
  file: string;
  /** The file as the user named it, and the `::selector`, for messages and discovery. */
  display: string;
  selector?: string;
  createdAt: string;
  externals: string[];
  inputs: string[];
  /** Deployed under a name of its own (`deploy --name`), not the App's. */
  named?: boolean;
  /** Set when this version was made by `app rollback` from another. */
  rollbackOf?: number;
  /** `deploy --tag TAG`: the user's own label (a release, a commit). */
  tag?: string;
}

export function versionsDir(name: string): string {
  return homeDir("deployments", name, "versions");
}

export function versionDir(name: string, n: number): string {
  return join(versionsDir(name), `v${n}`);
}

/** Every version of a name, newest first. */
export function listVersions(name: string): VersionRecord[] {
  if (!existsSync(join(homeDir("deployments"), name))) return [];
  const out: VersionRecord[] = [];
  for (const dir of readdirSync(versionsDir(name))) {
    try {
      out.push(JSON.parse(readFileSync(join(versionsDir(name), dir, "version.json"), "utf8")) as VersionRecord);
    } catch {
      // A version whose record was never written (a crash mid-deploy) does not exist.
    }
  }
  return out.sort((a, b) => b.n - a.n);
}

export function readVersion(name: string, n: number): VersionRecord | undefined {
  return listVersions(name).find((v) => v.n === n);
}

/**
 * Stores a new version: the bundle is copied first, the record written last (atomically),
 * so a crash in between leaves no half version behind.
 */
export function saveVersion(name: string, build: Pick<BuildOutput, "file" | "hash" | "externals" | "inputs">, meta: Omit<VersionRecord, "n" | "hash" | "createdAt" | "externals" | "inputs">): VersionRecord {
  const n = (listVersions(name)[0]?.n ?? 0) + 1;
  const dir = versionDir(name, n);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(build.file, join(dir, "app.mjs"));
  const record: VersionRecord = {
    n,
    hash: build.hash,
    createdAt: new Date().toISOString(),
    externals: build.externals,
    inputs: build.inputs,
    ...meta,
  };
  writeFileAtomicSync(join(dir, "version.json"), JSON.stringify(record, null, 2) + "\n");
  return record;
}

/** A stored version as the engine's build input. */
export function versionBuild(name: string, v: VersionRecord): BuildOutput {
  return { file: join(versionDir(name, v.n), "app.mjs"), hash: v.hash, inputs: v.inputs, externals: v.externals, ms: 0 };
}
