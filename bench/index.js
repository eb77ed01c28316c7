// `npm run bench [-- PART... [--write] [--runs N] [--edits N] [--quiet]]`
// (--runs: each part has its own default when it is not given.)
// Runs each named part (default: all known parts) from bench/<part>.js, prints the machine, the
// command and a markdown table per part, and with --write replaces that part's section of
// BENCHMARKS.md (between <!-- bench:PART --> and <!-- /bench:PART -->; appended if missing).
// A part module exports `async function run(opts) -> { title, table: [header, ...rows], notes: [] }`.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ROOT, markdownTable } from "./lib.js";

/** Known parts, in the order they run by default. */
const PARTS = ["reload", "reload-scale", "start", "http", "logs", "cron", "remote", "memory", "pod", "cluster", "fifty", "dashboard"];

const USAGE = `usage: node bench/index.js [PART...] [--write] [--runs N] [--edits N] [--quiet]
  parts: ${PARTS.join(", ")} (default: all)
  --write    replace each part's section in BENCHMARKS.md
  --runs N   passes per tool (default: reload 1, reload-scale 1, start 5, http 5, logs 3);
             dashboard: page loads (default 10), and 3 × N printed lines
  --edits N  edits per pass (default: reload 20, reload-scale 10); memory: reloads (default 1000)
  --quiet    no progress lines on stderr
  --without-extra-ca
             unset NODE_EXTRA_CA_CERTS for every tool (Node 20 parses that file at each start);
             written as the section PART-without-extra-ca`;

function parseArgs(argv) {
  const opts = { parts: [], write: false, runs: undefined, edits: undefined, quiet: false, withoutExtraCa: false };
  const positiveInt = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usageError(`${flag} needs a positive integer, got ${JSON.stringify(v ?? "")}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--write") opts.write = true;
    else if (flag === "--quiet") opts.quiet = true;
    else if (flag === "--without-extra-ca") opts.withoutExtraCa = true;
    else if (flag === "--runs") opts.runs = positiveInt(flag, value());
    else if (flag === "--edits") opts.edits = positiveInt(flag, value());
    else if (flag === "--help" || flag === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (flag.startsWith("-")) usageError(`unknown option ${flag}`);
    else if (!PARTS.includes(flag)) usageError(`unknown part "${flag}"`);
    else if (!opts.parts.includes(flag)) opts.parts.push(flag);
  }
  if (opts.parts.length === 0) opts.parts = [...PARTS];
  return opts;
}

function usageError(msg) {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function machine() {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  const ram = (os.totalmem() / 2 ** 30).toFixed(1);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const ca = process.env.NODE_EXTRA_CA_CERTS ? `NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}` : "NODE_EXTRA_CA_CERTS unset";
  return `${model}, ${cpus.length} cores, ${ram} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}, ${ca} (load average at start: ${load})`;
}

/** The command as the user typed it: through npm when run by `npm run bench`. */
function commandLine(argv) {
  const args = argv.map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  if (process.env.npm_lifecycle_event === "bench") return `npm run bench${args ? ` -- ${args}` : ""}`;
  return `node bench/index.js${args ? ` ${args}` : ""}`;
}

function section(part, result, { machineLine, command, date }) {
  return [
    `<!-- bench:${part} -->`,
    `### ${result.title}`,
    "",
    `Measured ${date} with \`${command}\` on ${machineLine}.`,
    "",
    markdownTable(result.table),
    "",
    ...result.notes.map((n) => `- ${n}`),
    `<!-- /bench:${part} -->`,
  ].join("\n");
}

function writeSection(part, text) {
  const file = join(ROOT, "BENCHMARKS.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const open = `<!-- bench:${part} -->`;
  const close = `<!-- /bench:${part} -->`;
  const a = current.indexOf(open);
  const b = current.indexOf(close);
  const next =
    a !== -1 && b > a ? current.slice(0, a) + text + current.slice(b + close.length) : `${current.trimEnd()}\n\n${text}\n`;
  writeFileSync(file, next);
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  if (opts.withoutExtraCa) delete process.env.NODE_EXTRA_CA_CERTS;
  const machineLine = machine();
  const command = commandLine(argv);
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(`Machine: ${machineLine}\nCommand: ${command}\n\n`);
  const log = opts.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`);
  let failures = 0;
  for (const part of opts.parts) {
    const mod = await import(`./${part}.js`);
    let result;
    try {
      result = await mod.run({ runs: opts.runs, edits: opts.edits, log });
    } catch (error) {
      failures++;
      process.stderr.write(`bench: part "${part}" failed: ${error.stack ?? error}\n`);
      continue;
    }
    const key = opts.withoutExtraCa ? `${part}-without-extra-ca` : part;
    if (opts.withoutExtraCa) result.title += " — without NODE_EXTRA_CA_CERTS";
    const text = section(key, result, { machineLine, command, date });
    process.stdout.write(`${text.split("\n").slice(1, -1).join("\n")}\n\n`);
    if (opts.write) {
      writeSection(key, text);
      process.stdout.write(`(BENCHMARKS.md: section "${key}" updated)\n\n`);
    }
  }
  process.exitCode = failures ? 1 : 0;
}

await main();
