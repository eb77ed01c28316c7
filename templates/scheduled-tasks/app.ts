/**
 * A job queue in a volume, worked off by a cron poller. POST /jobs enqueues a job (optionally
 * due later); every minute `poll` finds the jobs that are due and processes each exactly once,
 * even when runs overlap, are retried, or crash half-way:
 *
 *   jobs/pending/ID.json ──rename──▶ jobs/processing/RUN/ID.json ──▶ jobs/done/ID.json
 *
 * - claim: a job is taken with an atomic rename out of pending/; of runs racing for a job,
 *   exactly one rename succeeds, the others see it gone and move on;
 * - record: the result goes to done/ID.json (keyed by the job id) before the claim is dropped,
 *   and a claimed job that already has a result is not run again;
 * - recover: a run's directory is named after its start; once that is older than the lease
 *   (twice the timeout, which kills any run still going), its jobs go back to pending/.
 *
 *   nodal serve app.ts            # the API, and the poller every minute
 *   nodal run app.ts::poll        # one poll now
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { App, Cron, Volume, validateBody } from "nodal";

export const app = new App("scheduled-tasks");
const data = Volume.fromName("scheduled-tasks-data", { createIfMissing: true });

const TIMEOUT_S = 60;
/** A run that started this long ago has ended, one way or another (its timeout kills it). */
const LEASE_MS = 2 * TIMEOUT_S * 1000;
/** A job whose work throws is tried again later, up to this many times, then goes to failed/. */
const MAX_ATTEMPTS = 3;

const JobInput = z.object({
  task: z.string().trim().min(1).max(100),
  payload: z.unknown().optional(),
  dueAt: z.iso.datetime({ offset: true }).optional(),
});
interface Job {
  id: string;
  task: string;
  payload?: unknown;
  dueAt: string;
  createdAt: string;
  attempts: number;
}

/**
 * The work of one job: replace this with yours. Make its side effects idempotent (keyed by
 * `job.id`): a crash after the work but before the result is written runs the job again.
 */
async function handle(job: Job): Promise<unknown> {
  console.log(`job ${job.id}: ${job.task}`);
  await sleep(100); // stands in for real work: an HTTP call, a report, an email…
  return { task: job.task, echo: job.payload ?? null };
}

/** Absolute path under the volume's jobs/ folder (for rename/readdir; JSON goes through the volume). */
const abs = (...parts: string[]) => join(data.path, "jobs", ...parts);
const rel = (...parts: string[]) => join("jobs", ...parts);
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Names in a folder; none when it does not exist. */
async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Renames, reporting whether it was this call that moved the file (false: someone else did). */
async function move(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

const jobFiles = (files: string[]) => files.filter((f) => f.endsWith(".json")); // not the atomic writer's temp files (.nodal-*.tmp)

/** Puts the jobs of runs that outlived the lease back in pending/; returns their ids. */
async function requeueStale(now: number): Promise<string[]> {
  const requeued: string[] = [];
  for (const run of await names(abs("processing"))) {
    const startedAt = Number(/^(\d+)-/.exec(run)?.[1] ?? 0);
    if (now - startedAt < LEASE_MS) continue;
    const dir = abs("processing", run);
    for (const file of jobFiles(await names(dir))) {
      if (await move(join(dir, file), abs("pending", file))) requeued.push(file.slice(0, -5));
    }
    // What is left are temp files of writes the run did not finish; then the folder goes.
    for (const file of await names(dir)) if (!file.endsWith(".json")) await rm(join(dir, file), { force: true });
    await rmdir(dir).catch(() => {}); // gone already (another run cleaned it), or a job file is left: kept
  }
  return requeued;
}

/** Ids of the pending jobs that are due, oldest due first. */
async function dueJobs(now: number): Promise<string[]> {
  const read = (f: string) =>
    data.readJSON<Job>(rel("pending", f)).catch((error: Error) => {
      console.error(`skipping pending/${f}: ${error.message}`); // a bad file must not stop every poll
      return undefined;
    });
  const jobs = await Promise.all(jobFiles(await names(abs("pending"))).map(read));
  return jobs
    .filter((job): job is Job => job !== undefined && Date.parse(job.dueAt) <= now)
    .sort((a, b) => a.dueAt.localeCompare(b.dueAt))
    .map((job) => job.id);
}

type Outcome = "done" | "alreadyFinished" | "retrying" | "failed";

/** Runs a job this run has claimed and records the outcome; the claim is dropped last. */
async function processClaimed(runId: string, id: string): Promise<Outcome> {
  const claimed = rel("processing", runId, `${id}.json`);
  const job = (await data.readJSON<Job>(claimed))!;
  const finished = (await data.readJSON(rel("done", `${id}.json`))) ?? (await data.readJSON(rel("failed", `${id}.json`)));
  if (finished !== undefined) {
    await rm(join(data.path, claimed)); // finished by a run that crashed before dropping its claim
    return "alreadyFinished";
  }
  try {
    const result = await handle(job);
    await data.writeJSON(rel("done", `${id}.json`), { ...job, status: "done", result, runId, finishedAt: new Date().toISOString() });
    await rm(join(data.path, claimed));
    return "done";
  } catch (error) {
    const attempts = job.attempts + 1;
    const lastError = (error as Error)?.message ?? String(error);
    if (attempts >= MAX_ATTEMPTS) {
      await data.writeJSON(rel("failed", `${id}.json`), { ...job, status: "failed", attempts, lastError });
      await rm(join(data.path, claimed));
      return "failed";
    }
    // Back to pending, due again after a backoff: 10 s, 20 s, …
    const dueAt = new Date(Date.now() + 10_000 * 2 ** (attempts - 1)).toISOString();
    await data.writeJSON(claimed, { ...job, attempts, dueAt, lastError });
    await move(join(data.path, claimed), abs("pending", `${id}.json`));
    return "retrying";
  }
}

/** Every minute: re-queue what crashed runs left behind, then claim and process due jobs one by one. */
export const poll = app.function(
  { schedule: new Cron("* * * * *"), volumes: { "/data": data }, retries: 2, timeout: TIMEOUT_S },
  async () => {
    await data.reload();
    const started = Date.now();
    const runId = `${started}-${randomUUID().slice(0, 8)}`;
    await mkdir(abs("pending"), { recursive: true });
    const report: Record<Outcome, string[]> & { runId: string; requeued: string[] } = {
      runId, requeued: await requeueStale(started), done: [], alreadyFinished: [], retrying: [], failed: [],
    };
    await mkdir(abs("processing", runId), { recursive: true });
    for (const id of await dueJobs(started)) {
      // Stop claiming well before the timeout: what is left is the next run's.
      if (Date.now() - started > (TIMEOUT_S - 15) * 1000) break;
      if (!(await move(abs("pending", `${id}.json`), abs("processing", runId, `${id}.json`)))) continue; // another run has it
      report[await processClaimed(runId, id)].push(id);
    }
    // Empty unless a job's bookkeeping failed: then its claim stays for recovery after the lease.
    await rmdir(abs("processing", runId)).catch(() => {});
    await data.commit();
    return report;
  },
);

const web = express();
web.use(express.json());

web.post("/jobs", validateBody(JobInput), async (req, res) => {
  const input = req.body as z.infer<typeof JobInput>;
  const now = new Date();
  const job: Job = {
    id: randomUUID(),
    task: input.task,
    ...(input.payload === undefined ? {} : { payload: input.payload }),
    dueAt: new Date(input.dueAt ?? now).toISOString(),
    createdAt: now.toISOString(),
    attempts: 0,
  };
  await data.writeJSON(rel("pending", `${job.id}.json`), job);
  res.status(201).location(`/jobs/${job.id}`).json({ ...job, status: "pending" });
});

/** Every job id by status. */
web.get("/jobs", async (_req, res) => {
  const ids = (files: string[]) => jobFiles(files).map((f) => f.slice(0, -5));
  const processing = await Promise.all((await names(abs("processing"))).map(async (run) => ids(await names(abs("processing", run)))));
  const jobs = {
    pending: ids(await names(abs("pending"))),
    processing: processing.flat(),
    done: ids(await names(abs("done"))),
    failed: ids(await names(abs("failed"))),
  };
  const counts = Object.fromEntries(Object.entries(jobs).map(([status, list]) => [status, list.length]));
  res.json({ counts, jobs });
});

/** One job, wherever it is now. */
web.get("/jobs/:id", async (req, res) => {
  const { id } = req.params;
  if (ID.test(id)) {
    const pending = await data.readJSON<Job>(rel("pending", `${id}.json`));
    if (pending) return void res.json({ ...pending, status: "pending" });
    for (const run of await names(abs("processing"))) {
      const job = await data.readJSON<Job>(rel("processing", run, `${id}.json`));
      if (job) return void res.json({ ...job, status: "processing" });
    }
    const finished = (await data.readJSON(rel("done", `${id}.json`))) ?? (await data.readJSON(rel("failed", `${id}.json`)));
    if (finished) return void res.json(finished);
  }
  res.status(404).json({ error: "job not found" });
});

web.use((_req, res) => {
  res.status(404).json({ error: "not found" });
});
web.use((error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
  const status = error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  res.status(status).json({ error: status === 500 ? "internal error" : (error.message ?? "bad request") });
});

export const api = app.webApp({ volumes: { "/data": data } }, () => web);
