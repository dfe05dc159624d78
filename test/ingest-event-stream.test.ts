import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readEvents, type ReadItem } from "../lib/ingest/event-stream.js";

async function read(chunks: (string | Uint8Array)[], options = {}): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const item of readEvents(Readable.from(chunks), options)) out.push(item);
  return out;
}

/** Every way of cutting `text` into two chunks gives the same items. */
async function readAllSplits(text: string, options = {}): Promise<ReadItem[]> {
  const whole = await read([text], options);
  for (let i = 1; i < text.length; i++) {
    expect(await read([text.slice(0, i), text.slice(i)], options), `split at ${i}`).toEqual(whole);
  }
  return whole;
}

describe("NDJSON", () => {
  it("reads one event per line, skipping blank lines, CRLF included", async () => {
    const items = await readAllSplits('{"a":1}\r\n\n  \n{"b":"x\\ny"}\n{"c":[1,2]}');
    expect(items).toEqual([
      { ok: true, line: 1, event: { a: 1 } },
      { ok: true, line: 4, event: { b: "x\ny" } },
      { ok: true, line: 5, event: { c: [1, 2] } },
    ]);
  });

  it("rejects bad lines with their line number and goes on", async () => {
    const items = await read(['{"a":1}\n{bad json}\n[1,2]\n"str"\nnull\n{"b":2}\n']);
    expect(items.map((i) => (i.ok ? ["ok", i.line] : [i.reason, i.line]))).toEqual([
      ["ok", 1], ["invalid_json", 2], ["not_an_object", 3], ["not_an_object", 4], ["not_an_object", 5], ["ok", 6],
    ]);
    const bad = items[1]!;
    expect(!bad.ok && bad.text).toBe("{bad json}");
  });

  it("rejects an oversized line without buffering it and keeps its head", async () => {
    const big = '{"a":"' + "x".repeat(5000) + '"}';
    const items = await read(['{"a":1}\n', big.slice(0, 100), big.slice(100), '\n{"b":2}\n'], { maxRecordChars: 1000, keepChars: 10 });
    expect(items.map((i) => (i.ok ? "ok" : i.reason))).toEqual(["ok", "record_too_large", "ok"]);
    expect(items[1]!.line).toBe(2);
    expect(!items[1]!.ok && items[1]!.text).toBe('{"a":"xxxx...[truncated]');
  });

  it("decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode('{"name":"café 😀"}\n');
    const items = await read([bytes.slice(0, 13), bytes.slice(13, 17), bytes.slice(17)]);
    expect(items).toEqual([{ ok: true, line: 1, event: { name: "café 😀" } }]);
  });

  it("keeps __proto__ keys as data without polluting prototypes", async () => {
    const items = await read(['{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}\n']);
    const first = items[0]!;
    expect(first.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(first.ok ? first.event : {})).toEqual(["__proto__", "constructor"]);
  });

  it("rejects JSON nested too deeply for the parser", async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const items = await read([`{"a":${deep}}\n{"b":1}\n`]);
    expect(items.map((i) => (i.ok ? "ok" : i.reason))).toEqual([expect.stringMatching(/ok|invalid_json/), "ok"]);
  });
});

describe("JSON arrays", () => {
  it("reads the elements of a top-level array", async () => {
    const text = '[\n  {"a": 1, "s": "x,]}\\"{"},\n  {"b": [1, {"c": 2}]}\n]\n';
    const items = await readAllSplits(text);
    expect(items).toEqual([
      { ok: true, line: 2, event: { a: 1, s: 'x,]}"{' } },
      { ok: true, line: 3, event: { b: [1, { c: 2 }] } },
    ]);
  });

  it("rejects bad elements and continues", async () => {
    const items = await readAllSplits('[{"a":1}, 5, "x", {"b":tru}, {"c":3}, null]');
    expect(items.map((i) => (i.ok ? "ok" : i.reason))).toEqual(["ok", "not_an_object", "not_an_object", "invalid_json", "ok", "not_an_object"]);
  });

  it("reports truncated input", async () => {
    expect((await read(['[{"a":1}, {"b":'])).map((i) => (i.ok ? "ok" : i.reason))).toEqual(["ok", "truncated_input"]);
    expect((await read(['[{"a":1}'])).map((i) => (i.ok ? "ok" : i.reason))).toEqual(["ok", "truncated_input"]);
  });

  it("reports data after the array", async () => {
    const items = await read(['[{"a":1}] {"b":2}']);
    expect(items.map((i) => (i.ok ? "ok" : i.reason))).toEqual(["ok", "invalid_json", "ok"]);
  });

  it("rejects an oversized element and continues", async () => {
    const big = '{"a":"' + "x".repeat(5000) + '"}';
    const items = await read(["[", big.slice(0, 2000), big.slice(2000), ', {"b":2}]'], { maxRecordChars: 1000 });
    expect(items.map((i) => (i.ok ? "ok" : i.reason))).toEqual(["record_too_large", "ok"]);
  });

  it("reads an empty input and an empty array", async () => {
    expect(await read([""])).toEqual([]);
    expect(await read(["  [ ]  "])).toEqual([]);
  });
});
