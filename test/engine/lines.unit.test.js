import assert from "node:assert/strict";
import { test } from "node:test";
import { LineSplitter, MAX_LOG_LINE_BYTES, maskSecrets, secretNeedles } from "../../dist/modules/engine/lines.js";

const MiB = 1024 * 1024;

test("a multi-byte character split across chunks stays whole, fed byte by byte", () => {
  const text = "é€😀 a\r\nsecond é€😀\nno newline 😀";
  const bytes = Buffer.from(text);
  const splitter = new LineSplitter();
  const lines = [];
  for (let i = 0; i < bytes.length; i++) lines.push(...splitter.push(bytes.subarray(i, i + 1)));
  lines.push(...splitter.flush());
  assert.deepEqual(lines, ["é€😀 a", "second é€😀", "no newline 😀"]);
  assert.ok(!lines.join("").includes("\uFFFD"));
});

test("every split point of a line of 4-byte characters decodes to the same text", () => {
  const line = "😀€é".repeat(50);
  const bytes = Buffer.from(line + "\n");
  for (let cut = 1; cut < bytes.length; cut++) {
    const splitter = new LineSplitter();
    const lines = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut)), ...splitter.flush()];
    assert.deepEqual(lines, [line], `cut at byte ${cut}`);
  }
});

test("a 3 MiB line without a newline comes out in pieces of at most 1 MiB, never held whole", () => {
  const splitter = new LineSplitter({ maxLineBytes: MAX_LOG_LINE_BYTES });
  assert.equal(MAX_LOG_LINE_BYTES, MiB);
  // "€" is 3 bytes: 1 MiB is not a multiple of 3, so pieces must end on a character boundary.
  const unit = Buffer.from("x€😀");
  const total = 3 * MiB;
  const chunk = Buffer.alloc(64 * 1024 - 1); // odd size: characters straddle chunks
  const source = Buffer.alloc(total);
  for (let i = 0; i < total; i += unit.length) unit.copy(source, i, 0, Math.min(unit.length, total - i));
  const whole = source.subarray(0, total - (total % unit.length)).toString("utf8");
  const input = Buffer.from(whole);
  const pieces = [];
  let emitted = 0;
  for (let i = 0; i < input.length; i += chunk.length) {
    for (const p of splitter.push(input.subarray(i, i + chunk.length))) {
      pieces.push(p);
      emitted += Buffer.byteLength(p);
    }
    // What it holds between reads (fed but not emitted) stays within the limit.
    const fed = Math.min(i + chunk.length, input.length);
    assert.ok(fed - emitted <= MiB, `holding ${fed - emitted} bytes after ${fed}`);
  }
  pieces.push(...splitter.flush());
  assert.ok(pieces.length >= 3 && pieces.length <= 4, `${pieces.length} pieces`);
  for (const p of pieces) {
    assert.ok(Buffer.byteLength(p) <= MiB, `a piece of ${Buffer.byteLength(p)} bytes`);
    assert.ok(!p.includes("\uFFFD"));
  }
  assert.equal(pieces.join(""), whole);
});

test("a complete line longer than the limit is split too; without a limit nothing is", () => {
  const long = "a".repeat(2 * MiB + 5);
  assert.deepEqual(new LineSplitter({ maxLineBytes: MiB }).push(long + "\nnext\n").map((l) => l.length), [MiB, MiB, 5, 4]);
  assert.deepEqual(new LineSplitter().push(long + "\n").map((l) => l.length), [2 * MiB + 5]);
});

test("each line of a multi-line value (a PEM key) is masked on its own", () => {
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";
  const needles = secretNeedles([pem]);
  assert.equal(maskSecrets("key line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", needles), "key line: ***");
  assert.equal(maskSecrets("BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\r", needles), "***\r");
  // The whole value printed inside one JSON line is masked whole.
  assert.equal(maskSecrets(JSON.stringify({ key: pem }), needles), '{"key":"***"}');
  assert.equal(maskSecrets("nothing secret here", needles), "nothing secret here");
});

test("the JSON-escaped form of a value with a quote, a backslash or a newline is masked", () => {
  const value = 'p"a\\ss';
  const needles = secretNeedles([value]);
  assert.equal(maskSecrets(`raw ${value}`, needles), "raw ***");
  assert.equal(maskSecrets(JSON.stringify({ password: value }), needles), '{"password":"***"}');
  assert.equal(maskSecrets(JSON.stringify(["two\nlines-secret"]), secretNeedles(["two\nlines-secret"])), '["***"]');
});

test("longest needles first: a value containing another is masked whole", () => {
  const needles = secretNeedles(["abc", "xxabcxx"]);
  assert.deepEqual(needles, ["xxabcxx", "abc"]);
  assert.equal(maskSecrets("a xxabcxx b abc", needles), "a *** b ***");
  // Given shortest first, the longer value would leak its edges: this is what the order is for.
  assert.equal(maskSecrets("xxabcxx", ["abc", "xxabcxx"]), "xx***xx");
});

test("empty values and short fragments of multi-line values are not needles", () => {
  assert.deepEqual(secretNeedles(["", "ab\n}\nlonger-part"]).sort(), ["ab\\n}\\nlonger-part", "ab\n}\nlonger-part", "longer-part"].sort());
  assert.equal(maskSecrets("a } b", secretNeedles(["ab\n}\nlonger-part"])), "a } b");
});
