// templates/scheduled-tasks from `nodal init`: jobs enqueued over HTTP, then the poller run three
// at a time with `nodal run` (not by the scheduler's ticks): every due job is done exactly once,
// also after a simulated crash.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { assertJSONError, call, initTemplate, serve, volumeData } from "./common.js";

const JOBS = 16;

/** The JSON result `nodal run` printed last (after the function's own output lines). */
function report(stdout) {
  const lines = stdout.split("\n");
  return JSON.parse(lines.slice(lines.lastIndexOf("{")).join("\n"));
}

/** How many times the work of each job ran: its `job ID: …` log line, in every output given. */
function executions(outputs, ids) {
  const text = outputs.join("\n");
  return Object.fromEntries(ids.map((id) => [id, text.split(`job ${id}: `).length - 1]));
}

const jsonFiles = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : []);

test("scheduled-tasks: overlapping polls process every due job exactly once, and recover from a crash", async (t) => {
  const { box, file, stdout } = await initTemplate(t, "scheduled-tasks");
  assert.doesNotMatch(stdout, /secret create/, "no secret needed");
  // --no-schedules: the polls under test are ours; a tick of the real schedule must not join in.
  const { proc, url } = await serve(box, file, ["--no-schedules"]);
  const jobs = join(volumeData(box, "scheduled-tasks-data"), "jobs");
  const enqueue = async (body) => {
    const res = await call(`${url}/jobs`, { method: "POST", json: body });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.location, `/jobs/${res.body.id}`);
    return res.body.id;
  };
  /** Three `nodal run FILE::poll` at once; their reports and outputs. */
  const pollThrice = async () => {
    const runs = await Promise.all([1, 2, 3].map(() => box.run(["run", `${file}::poll`])));
    for (const r of runs) assert.equal(r.code, 0, `poll failed:\n${r.stdout}${r.stderr}`);
    return { reports: runs.map((r) => report(r.stdout)), outputs: runs.map((r) => r.stdout) };
  };

  const bad = await call(`${url}/jobs`, { method: "POST", json: { dueAt: "tomorrow" } });
  assertJSONError(bad, 400, "invalid job");
  assert.deepEqual(bad.body.fields.map((f) => f.path).sort(), ["dueAt", "task"]);

  const ids = [];
  for (let i = 0; i < JOBS; i++) ids.push(await enqueue({ task: `task-${i}`, payload: { n: i } }));
  const later = await enqueue({ task: "later", dueAt: new Date(Date.now() + 3_600_000).toISOString() });
  assert.equal((await call(`${url}/jobs/${ids[0]}`)).body.status, "pending");
  assert.equal(jsonFiles(join(jobs, "pending")).length, JOBS + 1);

  // Round 1: three overlapping polls.
  const first = await pollThrice();
  const done = first.reports.flatMap((r) => r.done);
  assert.equal(new Set(done).size, done.length, `a job reported done twice: ${done}`);
  assert.deepEqual([...done].sort(), [...ids].sort(), "every due job done by one of the polls");
  for (const [id, n] of Object.entries(executions([...first.outputs, proc.output], ids))) assert.equal(n, 1, `job ${id} ran ${n} times`);
  const runIds = new Set(ids.map((id) => JSON.parse(readFileSync(join(jobs, "done", `${id}.json`), "utf8")).runId));
  assert.ok(runIds.size >= 2, `the polls overlapped: jobs done by ${runIds.size} run(s)`);
  for (const [i, id] of ids.entries()) {
    const job = await call(`${url}/jobs/${id}`);
    assert.equal(job.body.status, "done");
    assert.deepEqual(job.body.result, { task: `task-${i}`, echo: { n: i } });
  }
  assert.deepEqual(jsonFiles(join(jobs, "pending")), [`${later}.json`], "the job due later waits");
  const status = (await call(`${url}/jobs`)).body;
  assert.deepEqual(status.counts, { pending: 1, processing: 0, done: JOBS, failed: 0 });

  // Round 2, after a crash: a poll that started 10 minutes ago (far past its lease) died
  //  - holding `lost`, claimed but never processed: it must be re-queued and done once;
  //  - holding `finished`, whose result it wrote before dying: it must not run again.
  // A poll that started just now (within its lease) holds `busy`: nobody else may touch it.
  const lost = await enqueue({ task: "lost" });
  const finished = await enqueue({ task: "finished" });
  const busy = await enqueue({ task: "busy" });
  const crashed = join(jobs, "processing", `${Date.now() - 600_000}-crashed`);
  const alive = join(jobs, "processing", `${Date.now()}-alive`);
  mkdirSync(crashed, { recursive: true });
  mkdirSync(alive, { recursive: true });
  renameSync(join(jobs, "pending", `${lost}.json`), join(crashed, `${lost}.json`));
  renameSync(join(jobs, "pending", `${finished}.json`), join(crashed, `${finished}.json`));
  const finishedResult = { id: finished, task: "finished", status: "done", result: "from the crashed run", runId: "crashed" };
  writeFileSync(join(jobs, "done", `${finished}.json`), JSON.stringify(finishedResult));
  renameSync(join(jobs, "pending", `${busy}.json`), join(alive, `${busy}.json`));
  assert.equal((await call(`${url}/jobs/${lost}`)).body.status, "processing");

  const second = await pollThrice();
  const requeued = second.reports.flatMap((r) => r.requeued);
  assert.deepEqual(requeued.sort(), [lost, finished].sort(), "each stale claim re-queued by exactly one poll");
  assert.deepEqual(second.reports.flatMap((r) => r.done), [lost], "only the lost job is processed");
  assert.deepEqual(second.reports.flatMap((r) => r.alreadyFinished), [finished]);
  const counts = executions([...first.outputs, ...second.outputs, proc.output], [...ids, lost, finished, busy]);
  for (const id of ids) assert.equal(counts[id], 1, `job ${id} ran again`);
  assert.equal(counts[lost], 1, "the lost job ran once");
  assert.equal(counts[finished], 0, "the finished job did not run again");
  assert.equal(counts[busy], 0, "a claim within its lease is left alone");
  assert.deepEqual(JSON.parse(readFileSync(join(jobs, "done", `${finished}.json`), "utf8")), finishedResult);
  assert.equal((await call(`${url}/jobs/${lost}`)).body.status, "done");
  assert.ok(!existsSync(crashed), "the dead run's folder is cleaned up");
  assert.deepEqual(readdirSync(join(jobs, "processing")), [basename(alive)]);
  assert.deepEqual(jsonFiles(alive), [`${busy}.json`]);
  assert.deepEqual((await call(`${url}/jobs`)).body.counts, { pending: 1, processing: 1, done: JOBS + 2, failed: 0 });
});
