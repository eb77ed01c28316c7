import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { InvalidError } from "../errors.js";
import type { Volume } from "../volume.js";

/** What the tenant helpers need of a volume: its absolute directory. A `Volume` fits. */
export type TenantVolume = Pick<Volume, "path">;

// A lone UTF-16 surrogate has no UTF-8 encoding: Node hashes it as U+FFFD, so "\uD800" and
// "\uDBFF" would share a directory. With the `u` flag, \p{Cs} only matches unpaired halves.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The directory of one tenant inside a volume: `<volume.path>/tenants/<aa>/<bb>/<sha256(id)>`.
 *
 * The id is hashed, never joined, so "../", "/", NUL or unicode in it cannot pick the
 * directory; the two fan-out levels (`aa/bb`, the hash's first bytes) keep any one folder
 * small with many tenants. Ids are compared exactly as given (no unicode normalisation, no
 * case folding): two different strings are two different tenants. The directory is not
 * created; use {@link ensureTenantDir} for that.
 *
 * @example
 * const data = Volume.fromName("saas-data", { createIfMissing: true });
 * web.get("/settings", requireApiKey(), async (_req, res) => {
 *   const dir = tenantPath(data, res.locals.apiKeyId); // ".../data/tenants/3f/a2/3fa2…"
 *   res.json(JSON.parse(await readFile(join(dir, "settings.json"), "utf8")));
 * });
 */
export function tenantPath(volume: TenantVolume, tenantId: string): string {
  if (!volume || typeof volume.path !== "string" || volume.path === "") {
    throw new InvalidError("tenantPath: volume must have a `path` (pass a Volume from Volume.fromName)");
  }
  if (typeof tenantId !== "string" || tenantId === "") {
    throw new InvalidError(
      `tenantPath: tenantId must be a non-empty string (got ${describe(tenantId)})`,
    );
  }
  if (LONE_SURROGATE.test(tenantId)) {
    throw new InvalidError("tenantPath: tenantId contains an unpaired UTF-16 surrogate, which has no stable encoding");
  }
  const hash = createHash("sha256").update(tenantId, "utf8").digest("hex");
  const root = isAbsolute(volume.path) ? volume.path : resolve(volume.path);
  return join(root, "tenants", hash.slice(0, 2), hash.slice(2, 4), hash);
}

/**
 * Creates the tenant's directory (and its parents, owner-only: mode 0o700) if missing and
 * returns it, as {@link tenantPath} computes it.
 *
 * @example
 * const dir = await ensureTenantDir(data, tenantId);
 * await writeFile(join(dir, "notes.json"), JSON.stringify(notes));
 */
export async function ensureTenantDir(volume: TenantVolume, tenantId: string): Promise<string> {
  const dir = tenantPath(volume, tenantId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function describe(value: unknown): string {
  if (value === "") return "an empty string";
  if (value === null) return "null";
  return typeof value;
}
