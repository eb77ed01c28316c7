import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");

test("the README's Layout table names every folder of src/, and no folder that is gone", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Layout"));
  const table = section.split("\n").filter((line) => line.startsWith("| `"));
  assert.ok(table.length > 0, "README has a Layout table");
  const named = new Set(table.flatMap((row) => [...row.split("|")[1].matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1])));
  const folders = readdirSync(join(root, "src"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual(folders.filter((f) => !named.has(f)), [], "folders of src/ missing from the Layout table");
  assert.deepEqual([...named].filter((f) => !folders.includes(f)).sort(), [], "folders in the Layout table that src/ no longer has");
});
