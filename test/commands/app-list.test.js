import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

test("app list prints the same ISO-8601 times as app show and the JSON", async (t) => {
  const box = sandbox(t);
  const record = {
    id: "ap-0123456789",
    name: "timed",
    state: "stopped",
    version: 3,
    file: join(box.dir, "app.ts"),
    createdAt: "2026-03-04T05:06:07.890Z",
    stoppedAt: "2026-03-04T06:07:08.901Z",
    pid: null,
    pidStart: null,
    urls: {},
    functions: ["f"],
  };
  mkdirSync(join(box.home, "apps"), { recursive: true });
  writeFileSync(join(box.home, "apps", `${record.id}.json`), JSON.stringify(record));
  const list = await box.run(["app", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ap-0123456789\s+timed\s+stopped\s+v3\s+1 function\s+2026-03-04T05:06:07\.890Z\s+2026-03-04T06:07:08\.901Z\s*$/m);
  const show = await box.run(["app", "show", "timed"]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /created\s+2026-03-04T05:06:07\.890Z\s+stopped 2026-03-04T06:07:08\.901Z/);
  const json = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(json[0].createdAt, record.createdAt);
  assert.equal(json[0].stoppedAt, record.stoppedAt);
});
