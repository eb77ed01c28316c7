/**
 * A REST API for "items": create, read, update, delete. One JSON file per item in a volume
 * (written atomically), bodies validated with zod (400 names the failing fields), every
 * /items route behind an API key (401) and a rate limit (429). GET /health is public.
 *
 *   nodal secret create rest-api-keys API_KEYS=k1,k2
 *   nodal serve app.ts
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { App, Secret, Volume, rateLimit, requireApiKey, validateBody } from "nodal";

export const app = new App("rest-api");
const data = Volume.fromName("rest-api-data", { createIfMissing: true });
const keys = Secret.fromName("rest-api-keys", { requiredKeys: ["API_KEYS"] });

/** What a client sends; unknown fields are dropped. */
const ItemInput = z.object({
  name: z.string().trim().min(1).max(200),
  quantity: z.number().int().min(0).default(0),
  tags: z.array(z.string().max(50)).max(20).default([]),
});
type Item = z.infer<typeof ItemInput> & { id: string; createdAt: string; updatedAt: string };

// Ids are ours (UUIDs): checking the shape before touching the disk means no client string
// ever becomes part of a path.
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const fileOf = (id: string) => `items/${id}.json`;

async function findItem(id: string): Promise<Item | undefined> {
  return ID.test(id) ? data.readJSON<Item>(fileOf(id)) : undefined;
}

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

const notFound = (res: Response) => res.status(404).json({ error: "item not found" });

const web = express();
web.get("/health", (_req, res) => {
  res.json({ status: "ok" });
});

// The limiter goes first so that requests with a wrong key count too (per IP): guessing keys
// is slowed down. With a valid key, each key has its own budget.
const items = express.Router();
items.use(rateLimit({ limit: 60, windowMs: 60_000 }), requireApiKey(), express.json());

items.get("/", async (_req, res) => {
  const files = (await data.listdir("items")).filter((e) => e.type === "file" && e.path.endsWith(".json"));
  const all = await Promise.all(files.map((e) => data.readJSON<Item>(e.path)));
  res.json({ items: all.filter((item) => item !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt)) });
});

items.post("/", validateBody(ItemInput), async (req, res) => {
  const now = new Date().toISOString();
  const item: Item = { ...(req.body as z.infer<typeof ItemInput>), id: randomUUID(), createdAt: now, updatedAt: now };
  // writeJSON is atomic (temp file, fsync, rename): a reader never sees half an item.
  await data.writeJSON(fileOf(item.id), item);
  res.status(201).location(`/items/${item.id}`).json(item);
});

items.get("/:id", async (req, res) => {
  const item = await findItem(req.params.id);
  if (!item) return void notFound(res);
  res.json(item);
});

items.put("/:id", validateBody(ItemInput), async (req, res) => {
  const item = await findItem(req.params.id);
  if (!item) return void notFound(res);
  const updated: Item = { ...(req.body as z.infer<typeof ItemInput>), id: item.id, createdAt: item.createdAt, updatedAt: new Date().toISOString() };
  await data.writeJSON(fileOf(item.id), updated);
  res.json(updated);
});

items.delete("/:id", async (req, res) => {
  const removed = ID.test(req.params.id) && (await removeFile(fileOf(req.params.id)));
  if (!removed) return void notFound(res);
  res.status(204).end();
});

web.use("/items", items);

// Everything else answers in JSON too: unknown routes, malformed JSON, unexpected errors.
web.use((_req, res) => {
  res.status(404).json({ error: "not found" });
});
web.use((error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
  const status = error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  res.status(status).json({ error: status === 500 ? "internal error" : (error.message ?? "bad request") });
});

export const api = app.webApp({ volumes: { "/data": data }, secrets: [keys] }, () => web);
