import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidError } from "../errors.js";

/** Where the accepted API keys come from (shared by `requireApiKey` and `rateLimit`). */
export interface ApiKeySource {
  /** Fixed keys. When omitted, the keys are read from the environment on every request. */
  keys?: readonly string[];
  /** The environment variable holding comma-separated keys (default `API_KEYS`). */
  envVar?: string;
}

/** The configured keys right now, and what to set when there are none. */
export interface ConfiguredKeys {
  keys: string[];
  /** For the "no keys configured" message: `set API_KEYS`, or `the keys option is empty`. */
  fix: string;
}

/**
 * Validates the source once and returns a reader that yields the keys when asked. The
 * environment is read at each call, not captured, so rotating `API_KEYS` (e.g. by
 * redeploying with an updated secret, or setting it in-process) takes effect at once.
 */
export function keyReader(source: ApiKeySource, caller: string): () => ConfiguredKeys {
  const envVar = source.envVar ?? "API_KEYS";
  if (typeof envVar !== "string" || envVar === "") {
    throw new InvalidError(`${caller}: envVar must be a non-empty environment variable name`);
  }
  if (source.keys !== undefined) {
    if (!Array.isArray(source.keys) || source.keys.some((k) => typeof k !== "string")) {
      throw new InvalidError(`${caller}: keys must be an array of strings`);
    }
    const keys = clean(source.keys);
    return () => ({ keys, fix: "the keys option is empty" });
  }
  return () => ({ keys: clean((process.env[envVar] ?? "").split(",")), fix: `set ${envVar}` });
}

function clean(keys: readonly string[]): string[] {
  return keys.map((k) => k.trim()).filter((k) => k !== "");
}

/**
 * The configured key equal to `token`, in constant time: both sides are hashed first, so
 * `timingSafeEqual` always compares 32 bytes (it throws on unequal lengths, and an early
 * length check would leak the key's length), and every key is compared (no early exit
 * that would reveal which one matched).
 */
export function matchKey(token: string, keys: readonly string[]): string | undefined {
  const digest = sha256(token);
  let found: string | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, sha256(key)) && found === undefined) found = key;
  }
  return found;
}

/** A key's public id: the first 12 hex characters of its sha256; safe to log or use as a tenant id. */
export function apiKeyId(key: string): string {
  return sha256(key).toString("hex").slice(0, 12);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
