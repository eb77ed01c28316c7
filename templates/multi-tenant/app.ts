/**
 * Notes, isolated per tenant. The tenant is the API key: `requireApiKey()` accepts the request
 * and sets `res.locals.apiKeyId`, and `tenantPath(volume, id)` turns that id into a directory
 * by hashing it. A tenant's requests only ever read and write its own directory, so no id,
 * path or header can reach another tenant's notes.
 *
 *   nodal secret create multi-tenant-keys API_KEYS=key-of-tenant-a,key-of-tenant-b
 *   nodal serve app.ts
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { App, Secret, Volume, rateLimit, requireApiKey, tenantPath, validateBody } from "nodal";

export const app = new App("multi-tenant");
const data = Volume.fromName("multi-tenant-data", { createIfMissing: true });
const keys = Secret.fromName("multi-tenant-keys", { requiredKeys: ["API_KEYS"] });

const NoteInput = z.object({
  title: z.string().trim().min(1).max(200),
  body: z.string().max(10_000).default(""),
});
type Note = z.infer<typeof NoteInput> & { id: string; createdAt: string };

// Note ids are UUIDs we make: anything else ("../x", "%2e%2e", …) is a 404 before any
// path is built, so a request can never climb out of its tenant's directory.
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The tenant of a request that passed `requireApiKey()`: a hash of its key, never the key. */
const tenantOf = (res: Response): string => res.locals.apiKeyId as string;

/** A path inside the tenant's directory, relative to the volume (what readJSON/writeJSON take). */
function tenantFile(res: Response, ...parts: string[]): string {
  return join(relative(data.path, tenantPath(data, tenantOf(res))), "notes", ...parts);
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

const web = express();
web.get("/health", (_req, res) => {
  res.json({ status: "ok" });
});
web.use(rateLimit(), requireApiKey(), express.json());

web.get("/me", (_req, res) => {
  res.json({ tenant: tenantOf(res) });
});

web.get("/notes", async (_req, res) => {
  const files = (await data.listdir(tenantFile(res))).filter((e) => e.type === "file" && e.path.endsWith(".json"));
  const notes = await Promise.all(files.map((e) => data.readJSON<Note>(e.path)));
  res.json({ notes: notes.filter((n) => n !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt)) });
});

web.post("/notes", validateBody(NoteInput), async (req, res) => {
  const note: Note = { ...(req.body as z.infer<typeof NoteInput>), id: randomUUID(), createdAt: new Date().toISOString() };
  await data.writeJSON(tenantFile(res, `${note.id}.json`), note);
  res.status(201).location(`/notes/${note.id}`).json(note);
});

web.get("/notes/:id", async (req, res) => {
  const note = ID.test(req.params.id) ? await data.readJSON<Note>(tenantFile(res, `${req.params.id}.json`)) : undefined;
  if (!note) return void res.status(404).json({ error: "note not found" });
  res.json(note);
});

web.delete("/notes/:id", async (req, res) => {
  const removed = ID.test(req.params.id) && (await removeFile(tenantFile(res, `${req.params.id}.json`)));
  if (!removed) return void res.status(404).json({ error: "note not found" });
  res.status(204).end();
});

web.use((_req, res) => {
  res.status(404).json({ error: "not found" });
});
web.use((error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
  const status = error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  res.status(status).json({ error: status === 500 ? "internal error" : (error.message ?? "bad request") });
});

export const api = app.webApp({ volumes: { "/data": data }, secrets: [keys] }, () => web);
