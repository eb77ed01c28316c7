/**
 * Stored secrets, as the CLI manages them: `$NODAL_HOME/secrets/NAME.json` =
 * `{ name, values, createdAt, updatedAt }`, mode 0600 in a 0700 directory (`Secret.fromName`
 * reads `values`). Nothing here returns values to a caller that prints: `SecretInfo` has keys only.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { InvalidError } from "../sdk/errors.js";
import { checkName, isValidName } from "../sdk/names.js";
import { secretFile } from "../sdk/secret.js";
import { fsyncDirSync, writeFileAtomicSync } from "./atomic.js";
import { homeDir, nodalHome } from "./home.js";

/** What may be shown of a secret. */
export interface SecretInfo {
  name: string;
  keys: string[];
  createdAt: string | null;
  updatedAt: string | null;
}

/** Checks a secret name, as a user error (exit 1) rather than the SDK's InvalidError. */
export function secretName(name: string): string {
  try {
    return checkName("secret", name);
  } catch (error) {
    if (error instanceof InvalidError) throw new UserError("E_INVALID_NAME", error.message);
    throw error;
  }
}

/** Keys and dates of a stored secret; undefined when it does not exist. */
export function readInfo(name: string): SecretInfo | undefined {
  let text: string;
  try {
    text = readFileSync(secretFile(name), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Never surface JSON.parse's message: V8 quotes the text around the error, i.e. values.
  let record: { values?: Record<string, string>; createdAt?: string; updatedAt?: string };
  try {
    record = JSON.parse(text);
  } catch {
    return { name, keys: [], createdAt: null, updatedAt: null };
  }
  return { name, keys: Object.keys(record.values ?? {}).sort(), createdAt: record.createdAt ?? null, updatedAt: record.updatedAt ?? null };
}

/** Every stored secret, by name. */
export function listInfos(): SecretInfo[] {
  return readdirSync(homeDir("secrets"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .filter((n) => isValidName(n))
    .sort()
    .flatMap((n) => readInfo(n) ?? []);
}

/**
 * Stores a secret atomically, 0600. A create links its temp file into place, so two racing
 * creates never both win; a replace renames over the old file.
 */
export function writeSecret(name: string, values: Record<string, string>, replace: boolean): "created" | "replaced" {
  const dir = homeDir("secrets");
  chmodSync(dir, 0o700); // a directory made by hand or an older tool may be group-readable
  const now = new Date().toISOString();
  const old = readInfo(name);
  if (old && !replace) throw alreadyExists(name);
  const record = { name, values, createdAt: old?.createdAt ?? now, updatedAt: now };
  try {
    writeFileAtomicSync(secretFile(name), JSON.stringify(record, null, 2) + "\n", { mode: 0o600, exclusive: !replace });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(name);
    throw error;
  }
  return old ? "replaced" : "created";
}

/** Removes a stored secret; false when there was none. */
export function deleteSecret(name: string): boolean {
  try {
    rmSync(secretFile(name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  fsyncDirSync(homeDir("secrets"));
  return true;
}

export function notFound(name: string): UserError {
  return new UserError("E_NOT_FOUND", `secret "${name}" does not exist`, "see the stored secrets with `nodal secret list`");
}

function alreadyExists(name: string): UserError {
  return new UserError("E_ALREADY_EXISTS", `secret "${name}" already exists; pass --force to replace it`);
}

/**
 * Every value of every stored secret, for masking only: the engine masks output of an app
 * that failed to load (and so never said which secrets it declares) with all of them.
 */
export function storedSecretValues(): string[] {
  const values: string[] = [];
  // A container (`nodal start`) has no store: its secrets are in the environment.
  if (process.env.NODAL_SECRETS_SOURCE === "env" || !existsSync(join(nodalHome(), "secrets"))) return values;
  for (const { name } of listInfos()) {
    try {
      const record = JSON.parse(readFileSync(secretFile(name), "utf8")) as { values?: Record<string, string> };
      values.push(...Object.values(record.values ?? {}).filter((v) => typeof v === "string" && v.length >= 4));
    } catch {
      // Unreadable or removed meanwhile: nothing to mask from it.
    }
  }
  return values;
}
