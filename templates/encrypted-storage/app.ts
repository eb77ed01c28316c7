/**
 * A key-value store of JSON records, encrypted at rest: each record is written to the volume as
 * an AES-256-GCM token (`encryptJSON`), so the files on disk hold no plaintext, and an altered
 * file is refused (`decryptJSON` throws) rather than read as garbage. The key comes from a
 * secret; `rotate` re-encrypts everything with a new key.
 *
 *   nodal secret create encrypted-storage-keys API_KEYS=… ENCRYPTION_KEY=$(openssl rand -base64 32)
 *   nodal serve app.ts
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { App, DecryptionError, Secret, Volume, decryptJSON, encryptJSON, rateLimit, requireApiKey, validateBody } from "nodal";

export const app = new App("encrypted-storage");
const data = Volume.fromName("encrypted-storage-data", { createIfMissing: true });
const keys = Secret.fromName("encrypted-storage-keys", { requiredKeys: ["API_KEYS", "ENCRYPTION_KEY"] });

/** A stored record: only the id and the time are in the clear. */
interface Stored {
  id: string;
  updatedAt: string;
  /** `encryptJSON` of a {@link Sealed}. */
  data: string;
}

/** What is encrypted: the value, and the id it belongs to, so a token copied into another record's file is refused. */
interface Sealed {
  id: string;
  value: unknown;
}

/** The value of a stored record; a `DecryptionError` if it was altered, moved, or no key opens it. */
function open(stored: Stored, keyList: string[]): unknown {
  const sealed = decryptJSON<Sealed | null>(stored.data, keyList);
  if (sealed?.id !== stored.id) throw new DecryptionError(`record "${stored.id}" holds the data of record "${sealed?.id}"`);
  return sealed.value;
}

/**
 * The keys, read when used: ENCRYPTION_KEY (32 bytes, base64) encrypts; it and the
 * comma-separated ENCRYPTION_KEYS_OLD decrypt, so data written before a rotation stays readable.
 */
function keyring(): { current: string; all: string[] } {
  const current = process.env.ENCRYPTION_KEY ?? "";
  const old = (process.env.ENCRYPTION_KEYS_OLD ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  return { current, all: [current, ...old] };
}

/** Throws, saying how to make a good key, when a key is missing or not 32 bytes of base64. */
function checkKeys(): void {
  for (const key of keyring().all) encryptJSON(null, key);
}

// Record ids are chosen by clients, so they are checked before they become file names.
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const fileOf = (id: string) => `records/${id}.json`;
const RecordBody = z.record(z.string(), z.unknown());

const web = express();
web.get("/health", (_req, res) => {
  res.json({ status: "ok" });
});
web.use(rateLimit(), requireApiKey(), express.json({ limit: "1mb" }));

web.get("/records", async (_req, res) => {
  const files = (await data.listdir("records")).filter((e) => e.type === "file" && e.path.endsWith(".json"));
  const stored = await Promise.all(files.map((e) => data.readJSON<Stored>(e.path)));
  res.json({ records: stored.filter((s) => s !== undefined).map(({ id, updatedAt }) => ({ id, updatedAt })) });
});

web.put("/records/:id", validateBody(RecordBody), async (req, res) => {
  const { id } = req.params;
  if (!ID.test(id)) return void res.status(400).json({ error: "invalid record id: use 1 to 64 of A-Z a-z 0-9 _ -" });
  const existed = (await data.readJSON(fileOf(id))) !== undefined;
  const updatedAt = new Date().toISOString();
  await data.writeJSON(fileOf(id), { id, updatedAt, data: encryptJSON({ id, value: req.body } satisfies Sealed, keyring().current) } satisfies Stored);
  res.status(existed ? 200 : 201).json({ id, updatedAt });
});

web.get("/records/:id", async (req, res) => {
  const stored = ID.test(req.params.id) ? await data.readJSON<Stored>(fileOf(req.params.id)) : undefined;
  if (!stored) return void res.status(404).json({ error: "record not found" });
  res.json({ id: stored.id, updatedAt: stored.updatedAt, data: open(stored, keyring().all) });
});

web.delete("/records/:id", async (req, res) => {
  const removed = ID.test(req.params.id) && (await removeFile(fileOf(req.params.id)));
  if (!removed) return void res.status(404).json({ error: "record not found" });
  res.status(204).end();
});

web.use((_req, res) => {
  res.status(404).json({ error: "not found" });
});
web.use((error: { status?: number; message?: string }, req: Request, res: Response, _next: NextFunction) => {
  if (error instanceof DecryptionError) {
    // Never answer with what a bad token decodes to: say the record is unreadable, and log why.
    console.error(`${req.path}: ${error.message}`);
    return void res.status(500).json({ error: "record cannot be decrypted: it was altered, or its key is not in ENCRYPTION_KEY / ENCRYPTION_KEYS_OLD" });
  }
  const status = error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  res.status(status).json({ error: status === 500 ? "internal error" : (error.message ?? "bad request") });
});

export const api = app.webApp({ volumes: { "/data": data }, secrets: [keys] }, () => {
  checkKeys(); // a missing or malformed key fails here, at start, with a hint
  return web;
});

/**
 * Re-encrypts every record with ENCRYPTION_KEY. To rotate: store the new key and keep the old
 * one readable (`nodal secret create encrypted-storage-keys … ENCRYPTION_KEY=NEW
 * ENCRYPTION_KEYS_OLD=OLD --force`), restart the app, run `nodal run app.ts::rotate`, then drop
 * ENCRYPTION_KEYS_OLD. Records no key can open are reported, not touched.
 */
export const rotate = app.function({ volumes: { "/data": data }, secrets: [keys], timeout: 600 }, async () => {
  const { current, all } = keyring();
  checkKeys(); // a missing or malformed key stops here, before any record is touched
  const report = { rotated: 0, unchanged: 0, unreadable: [] as string[] };
  for (const entry of await data.listdir("records")) {
    if (entry.type !== "file" || !entry.path.endsWith(".json")) continue;
    const stored = await data.readJSON<Stored>(entry.path);
    if (!stored) continue; // deleted meanwhile
    try {
      open(stored, [current]);
      report.unchanged += 1;
      continue;
    } catch {}
    let value: unknown;
    try {
      value = open(stored, all);
    } catch {
      report.unreadable.push(stored.id);
      continue;
    }
    // A PUT since we read it wrote with the current key already: keep the newer value.
    if ((await data.readJSON<Stored>(entry.path))?.data !== stored.data) continue;
    await data.writeJSON(entry.path, { ...stored, data: encryptJSON({ id: stored.id, value } satisfies Sealed, current) } satisfies Stored);
    report.rotated += 1;
  }
  await data.commit();
  return report;
});

/** Deletes a file of the volume; false when there was none. */
async function removeFile(rel: string): Promise<boolean> {
  try {
    await rm(join(data.path, rel));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
