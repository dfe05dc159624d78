import fc from "fast-check";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  decodeMessage, readEvents, sqsSafeText, validateEvent, isRejected, type AcceptedEvent, type IngestOptions,
  type ObjectReader, type RejectedEvent,
} from "../lib/ingest/index.js";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const TS = "2024-05-01T11:59:00.123456789Z";
const TS_NS = 1714564740123456789n;
const TOPIC = "arn:aws:sns:us-east-1:123456789012:events";

type Decoded = { accepted: AcceptedEvent[]; rejected: RejectedEvent[] };

async function decode(body: string, options?: IngestOptions, s3?: ObjectReader): Promise<Decoded> {
  const r = await decodeMessage(body, "m-1", { nowMs: NOW, ...(options ? { options } : {}), ...(s3 ? { s3 } : {}) });
  if ("failure" in r) throw r.failure;
  expect(r.messageId).toBe("m-1");
  return r;
}

function sns(message: string): string {
  return JSON.stringify({
    Type: "Notification", MessageId: "7a1b9c52-2f7e-5a40-9d5a-0c1b2a3d4e5f", TopicArn: TOPIC, Subject: null,
    Message: message, Timestamp: "2024-05-01T12:00:00.000Z", SignatureVersion: "1", Signature: "c2ln",
    SigningCertURL: "https://sns.us-east-1.amazonaws.com/cert.pem", UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
  });
}

const ev = (id: string, extra: Record<string, unknown> = {}) => ({ "@timestamp": TS, event: { id, category: ["process"] }, ...extra });
const line = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify(ev(id, extra));

/** Accepted events as comparable data. */
const summary = (d: Decoded) => ({
  accepted: d.accepted.map((a) => ({ id: a.id, ts: a.ts, event: a.event, line: a.origin.line })),
  rejected: d.rejected.map((r) => ({ reason: r.reason, line: r.origin.line })),
});

/** Characters SQS accepts in a message body. */
const SQS_OK = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function expectSqsSafe(rejected: RejectedEvent[]): void {
  for (const r of rejected) {
    expect(SQS_OK.test(r.text), `text of ${r.reason}`).toBe(true);
    expect(SQS_OK.test(r.message), `message of ${r.reason}`).toBe(true);
  }
}

describe("body kinds", () => {
  it("one JSON event", async () => {
    const d = await decode(line("a"));
    expect(d.rejected).toEqual([]);
    expect(d.accepted).toEqual([{ event: ev("a"), ts: TS_NS, id: "a", origin: { messageId: "m-1", line: 1 } }]);
  });

  it("one JSON event pretty-printed over several lines", async () => {
    const d = await decode("\n  " + JSON.stringify(ev("a"), null, 2) + "\n");
    expect(summary(d)).toEqual({ accepted: [{ id: "a", ts: TS_NS, event: ev("a"), line: 1 }], rejected: [] });
  });

  it("NDJSON, with CRLF and blank lines", async () => {
    const d = await decode(`${line("a")}\r\n\r\n${line("b")}\n${line("c")}\n`);
    expect(summary(d).accepted.map((a) => [a.id, a.line])).toEqual([["a", 1], ["b", 3], ["c", 4]]);
    expect(d.rejected).toEqual([]);
  });

  it("a JSON array", async () => {
    const d = await decode(`[\n${line("a")},\n${line("b")}\n]`);
    expect(summary(d).accepted.map((a) => [a.id, a.line])).toEqual([["a", 2], ["b", 3]]);
    expect(d.rejected).toEqual([]);
  });

  it("an event without event.id gets a canonical hash identity, the same on redelivery", async () => {
    const e = { "@timestamp": TS, host: { name: "h" }, process: { pid: 4 } };
    const first = await decode(JSON.stringify(e));
    const again = await decode(JSON.stringify({ process: { pid: 4 }, host: { name: "h" }, "@timestamp": TS }));
    expect(first.accepted[0]!.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(again.accepted[0]!.id).toBe(first.accepted[0]!.id);
  });

  it("an SNS envelope wrapping each kind decodes like the bare body", async () => {
    const bodies = [
      line("a"),
      JSON.stringify(ev("a"), null, 2),
      `${line("a")}\n${line("b")}\n{oops\n${line("c")}`,
      `[${line("a")},${line("b")}]`,
      '{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-01T12:00:00.000Z","Bucket":"ingest-bucket"}',
    ];
    for (const body of bodies) {
      const bare = await decode(body);
      const wrapped = await decode(sns(body));
      expect(summary(wrapped), body).toEqual(summary(bare));
    }
  });

  it("an S3 test event yields nothing and no rejection, bare or in SNS", async () => {
    const test = JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Time: "2024-05-01T12:00:00.000Z", Bucket: "b", RequestId: "R", HostId: "H" });
    expect(await decode(test)).toEqual({ messageId: "m-1", accepted: [], rejected: [] });
    expect(await decode(sns(test))).toEqual({ messageId: "m-1", accepted: [], rejected: [] });
  });

  it("a JSON object of an unknown shape is an event", async () => {
    const e = { "@timestamp": TS, Records: [{ eventSource: "aws:sqs" }], Type: "Notification" };
    const d = await decode(JSON.stringify(e));
    expect(d.accepted.map((a) => a.event)).toEqual([e]);
  });

  it("an empty or blank body is rejected, not dropped", async () => {
    for (const body of ["", "  \n\t\n"]) {
      const d = await decode(body);
      expect(d.rejected.map((r) => [r.reason, r.message])).toEqual([["invalid_json", "message body is empty"]]);
    }
  });

  it("a broken pretty-printed event is one rejection with its whole text, not one per line", async () => {
    const body = '{\n  "@timestamp": "2024-05-01T11:59:00Z",\n  "a": [1, 2,\n}\n';
    const d = await decode(body);
    expect(d.accepted).toEqual([]);
    expect(d.rejected).toHaveLength(1);
    expect(d.rejected[0]).toMatchObject({ reason: "invalid_json", text: body.trimStart(), origin: { messageId: "m-1", line: 1 } });
    // Also when it has more lines than the rejection cap
    const long = JSON.stringify({ "@timestamp": TS, a: Array.from({ length: 3000 }, (_, i) => i) }, null, 1).replace(/,\n/, ",,\n");
    const d2 = await decode(long);
    expect(d2.rejected.map((r) => [r.reason, r.text.length])).toEqual([["invalid_json", 8192 + `...[${long.length - 8192} more characters]`.length]]);
  });
});

describe("envelopes", () => {
  it("malformed SNS envelopes are invalid_envelope", async () => {
    const cases: [unknown, RegExp][] = [
      [{ Type: "Notification", TopicArn: TOPIC, Message: { a: 1 } }, /without a Message string/],
      [{ Type: "Notification", TopicArn: TOPIC }, /without a Message string/],
      [{ Type: "Notification", TopicArn: 7, Message: line("a") }, /without a TopicArn/],
      [{ Type: "SubscriptionConfirmation", TopicArn: TOPIC, Message: "confirm", SubscribeURL: "https://x" }, /SubscriptionConfirmation .* not a notification/],
    ];
    for (const [body, message] of cases) {
      const d = await decode(JSON.stringify(body));
      expect(d.accepted).toEqual([]);
      expect(d.rejected.map((r) => r.reason)).toEqual(["invalid_envelope"]);
      expect(d.rejected[0]!.message).toMatch(message);
      expect(JSON.parse(d.rejected[0]!.text)).toEqual(body);
    }
  });

  it("unwraps one SNS level, not more", async () => {
    const d = await decode(sns(sns(line("a"))));
    expect(d.accepted).toEqual([]);
    expect(d.rejected.map((r) => [r.reason, r.message])).toEqual([["invalid_envelope", "SNS notification nested more than 1 level deep"]]);
  });

  it("malformed S3 records are invalid_envelope and the other records are still read", async () => {
    const reader = memoryReader({ "ingest-bucket/good.ndjson": line("g") });
    const good = { eventSource: "aws:s3", eventName: "ObjectCreated:Put", s3: { bucket: { name: "ingest-bucket" }, object: { key: "good.ndjson" } } };
    const records = [
      { eventSource: "aws:s3", s3: { bucket: {}, object: { key: "k" } } },
      good,
      { eventSource: "aws:s3", s3: { bucket: { name: "ingest-bucket" }, object: {} } },
      { eventSource: "aws:s3", s3: { bucket: { name: "ingest-bucket" }, object: { key: "bad%E0%A4%A" } } },
      { eventSource: "aws:sqs", body: "x" },
      "not an object",
      { eventSource: "aws:s3", eventName: "ObjectRemoved:Delete", s3: { bucket: { name: "ingest-bucket" }, object: { key: "good.ndjson" } } },
    ];
    const d = await decode(JSON.stringify({ Records: records }), {}, reader);
    expect(d.accepted.map((a) => [a.id, a.origin])).toEqual([["g", { messageId: "m-1", line: 1, object: { bucket: "ingest-bucket", key: "good.ndjson" } }]]);
    expect(d.rejected.map((r) => [r.reason, r.message])).toEqual([
      ["invalid_envelope", "Records[0].s3.bucket.name is missing"],
      ["invalid_envelope", "Records[2].s3.object.key is missing"],
      ["invalid_envelope", "Records[3].s3.object.key is not URL-encoded: bad%E0%A4%A"],
      ["invalid_envelope", 'Records[4] of an S3 notification is eventSource "aws:sqs"'],
      ["invalid_envelope", "Records[5] of an S3 notification is not an object"],
      ["invalid_envelope", "Records[6] is ObjectRemoved:Delete for s3://ingest-bucket/good.ndjson: no object to read"],
    ]);
    // Object-level rejections keep a one-record notification that can be sent to the queue again.
    expect(JSON.parse(d.rejected[0]!.text)).toEqual({ Records: [records[0]] });
  });

  it("decodes URL-encoded keys (+ is a space, %2B a plus)", async () => {
    const key = "logs/2024 05/événement ✓ a+b.ndjson";
    const reader = memoryReader({ [`ingest-bucket/${key}`]: line("k") });
    const encoded = encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
    const body = JSON.stringify({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "ingest-bucket" }, object: { key: encoded } } }] });
    const d = await decode(body, {}, reader);
    expect(d.accepted.map((a) => a.origin.object)).toEqual([{ bucket: "ingest-bucket", key }]);
  });

  it("a plain object found over the cap while reading keeps the events before it", async () => {
    const text = Array.from({ length: 100 }, (_, i) => line(`p${i}`)).join("\n");
    const unsized: ObjectReader = {
      async open() {
        const bytes = new TextEncoder().encode(text);
        return { body: (async function* () { for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000); })() };
      },
    };
    const body = JSON.stringify({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "b" }, object: { key: "k" } } }] });
    const d = await decode(body, { maxObjectBytes: 3500 }, unsized);
    expect(d.accepted.length).toBeGreaterThan(10);
    expect(d.accepted.map((a) => a.id)).toEqual(Array.from({ length: d.accepted.length }, (_, i) => `p${i}`));
    expect(d.rejected.map((r) => [r.reason, r.message])).toEqual([
      ["s3_object_too_large", `s3://b/k is over the cap of 3500 decoded bytes; not read after line ${d.accepted.length}`],
    ]);
  });

  it("an S3 notification without an S3 reader, or with S3 failing, fails the message transiently", async () => {
    const body = JSON.stringify({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "b" }, object: { key: "k" } } }] });
    const noReader = await decodeMessage(body, "m-2", { nowMs: NOW });
    expect(noReader).toMatchObject({ messageId: "m-2", transient: true });
    const throttled: ObjectReader = {
      async open() {
        throw Object.assign(new Error("Slow Down"), { name: "SlowDown", $metadata: { httpStatusCode: 503 } });
      },
    };
    const r = await decodeMessage(body, "m-3", { nowMs: NOW, s3: throttled });
    expect("failure" in r && r.failure.name).toBe("S3ReadError");
    expect("failure" in r && r.failure.message).toBe("reading s3://b/k failed: SlowDown: Slow Down");
    expect("failure" in r && (r.failure.cause as Error).name).toBe("SlowDown");
  });

  it("a download that breaks mid-stream fails the message transiently, even after good events", async () => {
    const reader: ObjectReader = {
      async open() {
        return {
          body: (async function* () {
            yield new TextEncoder().encode(line("a") + "\n" + line("b") + "\n");
            throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
          })(),
        };
      },
    };
    const body = JSON.stringify({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "b" }, object: { key: "k" } } }] });
    const r = await decodeMessage(body, "m-4", { nowMs: NOW, s3: reader });
    expect(r).toMatchObject({ messageId: "m-4", transient: true });
    expect("failure" in r && r.failure.message).toMatch(/^reading s3:\/\/b\/k failed: .*socket hang up/);
  });
});

describe("hostile input: each record gets its reason and the batch around it is still processed", () => {
  const deep = (n: number) => `{"@timestamp":"${TS}","a":` + "[".repeat(n) + "]".repeat(n) + "}";
  const deepObject = (n: number) => `{"@timestamp":"${TS}","a":` + '{"a":'.repeat(n) + "1" + "}".repeat(n) + "}";
  const cases: { name: string; text: string; expect: string; array?: boolean; alone?: string[] }[] = [
    { name: "invalid JSON", text: '{"@timestamp": "x", bad}', expect: "invalid_json" },
    { name: "truncated JSON", text: '{"@timestamp": ', expect: "invalid_json" },
    { name: "100k-deep arrays", text: deep(100_000), expect: "nesting_too_deep", array: true },
    { name: "100k-deep objects", text: deepObject(100_000), expect: "nesting_too_deep", array: true },
    { name: "65 levels", text: deepObject(64), expect: "nesting_too_deep", array: true },
    { name: "64 levels", text: deepObject(63), expect: "accepted", array: true },
    { name: "a 5 MB field", text: line("big", { big: "x".repeat(5_000_000) }), expect: "accepted", array: true },
    { name: "__proto__ and constructor keys", text: `{"@timestamp":"${TS}","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}`, expect: "accepted", array: true },
    { name: "escaped NUL in a string", text: `{"@timestamp":"${TS}","cmd":"a\\u0000b"}`, expect: "accepted", array: true },
    { name: "raw NUL byte", text: `{"@timestamp":"${TS}","cmd":"a\u0000b"}`, expect: "invalid_json", array: true },
    { name: "lone surrogates", text: `{"@timestamp":"${TS}","s":"\\ud800x\\udc00","k\\udfff":1}`, expect: "accepted", array: true },
    { name: "timestamp as object", text: '{"@timestamp":{"$date":1}}', expect: "invalid_timestamp", array: true },
    { name: "timestamp as array", text: `{"@timestamp":["${TS}"]}`, expect: "invalid_timestamp", array: true },
    { name: "timestamp as bool", text: '{"@timestamp":true}', expect: "invalid_timestamp", array: true },
    { name: "timestamp unparseable", text: '{"@timestamp":"yesterday"}', expect: "invalid_timestamp", array: true },
    { name: "timestamp null", text: '{"@timestamp":null}', expect: "missing_timestamp", array: true },
    { name: "no timestamp", text: '{"message":"hi"}', expect: "missing_timestamp", array: true },
    { name: "event as number", text: "42", expect: "not_an_object", array: true },
    { name: "event as string", text: '"hello"', expect: "not_an_object", array: true },
    { name: "event as null", text: "null", expect: "not_an_object", array: true },
    // As a whole body, [1,2] is a JSON array body of two events that are not objects.
    { name: "event as array", text: "[1,2]", expect: "not_an_object", array: true, alone: ["not_an_object:1", "not_an_object:1"] },
  ];

  const outcome = (d: Decoded) => [...d.accepted.map((a) => `accepted:${a.origin.line}`), ...d.rejected.map((r) => `${r.reason}:${r.origin.line}`)].sort();

  for (const c of cases) {
    it(`${c.name}: ${c.expect}`, async () => {
      // NDJSON, between good events
      const nd = await decode(`${line("before")}\n${c.text}\n${line("after")}\n`);
      expect(outcome(nd)).toEqual([`${c.expect}:2`, "accepted:1", "accepted:3"].sort());
      expect(nd.accepted.map((a) => a.id)).toEqual(expect.arrayContaining(["before", "after"]));
      expectSqsSafe(nd.rejected);
      // The same inside an SNS envelope
      expect(outcome(await decode(sns(`${line("before")}\n${c.text}\n${line("after")}\n`)))).toEqual(outcome(nd));
      // As a JSON array element
      if (c.array) {
        const arr = await decode(`[${line("before")},\n${c.text},\n${line("after")}]`);
        expect(outcome(arr)).toEqual([`${c.expect}:2`, "accepted:1", "accepted:3"].sort());
        expectSqsSafe(arr.rejected);
      }
      // As the whole body
      const alone = await decode(c.text);
      expect(outcome(alone)).toEqual(c.alone ?? [`${c.expect}:1`]);
      expectSqsSafe(alone.rejected);
      for (const r of [...nd.rejected, ...alone.rejected]) {
        expect(r.message.length).toBeGreaterThan(0);
        expect(r.text.length).toBeLessThan(8192 + 64);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it("keeps the 5 MB field whole", async () => {
    const d = await decode(line("big", { big: "x".repeat(5_000_000) }));
    expect((d.accepted[0]!.event.big as string).length).toBe(5_000_000);
  });

  it("rejects a record over the size cap with its head, and reads on", async () => {
    const big = line("big", { big: "y".repeat(2_000_000) });
    const d = await decode(`${line("a")}\n${big}\n${line("b")}`, { maxRecordChars: 1_000_000, keepChars: 100 });
    expect(summary(d).rejected).toEqual([{ reason: "record_too_large", line: 2 }]);
    expect(d.rejected[0]!.text).toBe(big.slice(0, 100) + "...[truncated]");
    expect(d.accepted.map((a) => a.id)).toEqual(["a", "b"]);
    // A single-event body over the cap is not parsed whole either
    expect(summary(await decode(big, { maxRecordChars: 1_000_000 })).rejected).toEqual([{ reason: "record_too_large", line: 1 }]);
  });

  it("names the field and the value in timestamp rejections", async () => {
    const d = await decode(['{"@timestamp":"yesterday"}', '{"@timestamp":{"$date":1}}', '{"@timestamp":null}', "{}", `{"@timestamp":"${"9".repeat(500)}"}`].join("\n"));
    expect(d.rejected.map((r) => r.message)).toEqual([
      '"@timestamp" "yesterday" is not an ISO 8601 time with a zone or epoch milliseconds',
      '"@timestamp" must be an ISO 8601 string or epoch milliseconds, found an object',
      '"@timestamp" is null',
      'no "@timestamp" field',
      `"@timestamp" ${'"' + "9".repeat(199)}...[302 more characters] is not an ISO 8601 time with a zone or epoch milliseconds`,
    ]);
  });

  it("keeps an escaped NUL in the event and escapes a raw one in the rejected text", async () => {
    const d = await decode(`{"@timestamp":"${TS}","cmd":"a\\u0000b"}\n{"@timestamp":"${TS}","cmd":"a\u0000b"}`);
    expect(d.accepted[0]!.event.cmd).toBe("a\u0000b");
    expect(d.rejected[0]!.text).toBe(`{"@timestamp":"${TS}","cmd":"a\\u0000b"}`);
  });

  it("replaces lone surrogates in values and keys with U+FFFD, keeps valid pairs", async () => {
    const d = await decode(`{"@timestamp":"${TS}","s":"\\ud800x\\udc00 \\ud83d\\ude00","k\\udfff":["\\udbff"],"__proto__":{"p":1}}`);
    const e = d.accepted[0]!.event;
    expect(e.s).toBe("\uFFFDx\uFFFD 😀");
    expect(e["k\uFFFD"]).toEqual(["\uFFFD"]);
    expect(Object.keys(e)).toEqual(["@timestamp", "s", "k\uFFFD", "__proto__"]);
    expect(Object.getPrototypeOf(e)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(e, "__proto__")?.value).toEqual({ p: 1 });
  });

  it("stops after too many rejections and says so", async () => {
    const body = [line("a"), ...Array.from({ length: 50 }, () => "{bad"), line("b")].join("\n");
    const d = await decode(body, { maxRejections: 5 });
    expect(d.accepted.map((a) => a.id)).toEqual(["a"]);
    expect(d.rejected.map((r) => r.reason)).toEqual([...Array(5).fill("invalid_json"), "too_many_rejections"]);
    expect(d.rejected[5]).toMatchObject({ message: "5 records rejected; the rest was not read", origin: { line: 6 } });
  });
});

describe("prototype pollution", () => {
  it("never happens through any decode path", async () => {
    const hostile = `{"@timestamp":"${TS}","__proto__":{"polluted":"yes","toString":1},"constructor":{"prototype":{"polluted":"yes"}},"k\\ud800":{"__proto__":{"polluted":"yes"}}}`;
    const bodies = [hostile, `${hostile}\n${hostile}`, `[${hostile}]`, sns(hostile), sns(`[${hostile}]`)];
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    for (const body of bodies) {
      const d = await decode(body);
      expect(d.rejected).toEqual([]);
      for (const { event } of d.accepted) {
        expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
        expect(Object.hasOwn(event, "__proto__")).toBe(true);
        expect((event as { polluted?: unknown }).polluted).toBeUndefined();
        const inner = event["k\uFFFD"] as object;
        expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
        expect(Object.hasOwn(inner, "__proto__")).toBe(true);
      }
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(String({})).toBe("[object Object]");
  });
});

describe("time", () => {
  const at = (ts: unknown, id = "t") => JSON.stringify({ "@timestamp": ts, event: { id } });
  const iso = (ms: number) => new Date(ms).toISOString();

  it("rejects events beyond the future skew against the injected clock", async () => {
    const d = await decode([at(iso(NOW + 4 * 60_000), "4m"), at(iso(NOW + 5 * 60_000), "5m"), at(iso(NOW + 5 * 60_000 + 1), "5m1"), at(NOW + 3_600_000, "1h")].join("\n"));
    expect(d.accepted.map((a) => a.id)).toEqual(["4m", "5m"]);
    expect(d.rejected.map((r) => [r.reason, r.origin.line])).toEqual([["timestamp_in_future", 3], ["timestamp_in_future", 4]]);
    expect(d.rejected[1]!.message).toBe(`"@timestamp" ${NOW + 3_600_000} is 3600000 ms ahead of the clock (allowed skew 300000 ms)`);
  });

  it("uses the configured skew, and a different clock changes the verdict", async () => {
    const body = at(iso(NOW + 1), "x");
    expect((await decode(body, { maxFutureSkewMs: 0 })).rejected.map((r) => r.reason)).toEqual(["timestamp_in_future"]);
    const later = await decodeMessage(body, "m", { nowMs: NOW + 1, options: { maxFutureSkewMs: 0 } });
    expect("accepted" in later && later.accepted.length).toBe(1);
  });

  it("never rejects old events", async () => {
    const old = [iso(NOW - 60_000), iso(NOW - 86_400_000 * 3650), "1970-01-01T00:00:00Z", "1969-07-20T20:17:40Z", 0, "1000", -5];
    const d = await decode(old.map((t, i) => at(t, `o${i}`)).join("\n"));
    expect(d.rejected).toEqual([]);
    expect(d.accepted).toHaveLength(old.length);
  });

  it("keeps nanosecond precision and accepts offsets and epoch milliseconds", async () => {
    const d = await decode([at("2024-05-01T13:59:00.123456789+02:00"), at(1714564740123), at("1714564740123")].join("\n"));
    expect(d.accepted.map((a) => a.ts)).toEqual([TS_NS, 1714564740123000000n, 1714564740123000000n]);
  });

  it("reads another timestamp field, nested or as a dotted key", async () => {
    const options = { timestampField: "event.created" };
    const d = await decode([JSON.stringify({ event: { created: TS } }), JSON.stringify({ "event.created": TS }), JSON.stringify({ "@timestamp": TS })].join("\n"), options);
    expect(d.accepted.map((a) => a.ts)).toEqual([TS_NS, TS_NS]);
    expect(d.rejected.map((r) => r.message)).toEqual(['no "event.created" field']);
  });
});

describe("validateEvent", () => {
  const origin = { messageId: "m" };
  it("accepts an object with a timestamp, returning the same object", () => {
    const e = { "@timestamp": TS };
    const r = validateEvent(e, origin, "", { nowMs: NOW });
    expect(isRejected(r)).toBe(false);
    expect(!isRejected(r) && r.event).toBe(e);
  });

  it("clips and escapes the kept text", () => {
    const r = validateEvent(1, origin, "\u0000" + "z".repeat(10_000), { nowMs: NOW, keepChars: 10 });
    expect(r).toEqual({
      reason: "not_an_object", message: "an event must be a JSON object, found a number",
      text: "\\u0000zzzzzzzzz...[9991 more characters]", origin,
    });
  });
});

describe("readEvents keepRecordText", () => {
  it("hands back the text of accepted records only when asked", async () => {
    const items = [];
    for await (const item of readEvents(Readable.from(['{"a":1}\n[{"b":2}]']), { keepRecordText: true })) items.push(item);
    expect(items).toEqual([
      { ok: true, line: 1, event: { a: 1 }, text: '{"a":1}' },
      { ok: false, line: 2, reason: "not_an_object", message: "an event must be a JSON object, found an array", text: '[{"b":2}]' },
    ]);
    const arr = [];
    for await (const item of readEvents(Readable.from(['[ {"a":1} ,\n{"b":\n2}]']), { keepRecordText: true })) arr.push(item);
    expect(arr.map((i) => i.ok && i.text)).toEqual(['{"a":1}', '{"b":\n2}']);
  });
});

describe("sqsSafeText", () => {
  it("escapes what SQS refuses and keeps everything else", () => {
    expect(sqsSafeText("a\u0000b\u0001\t\n\r\uFFFE\uFFFF\uFFFD😀")).toBe("a\\u0000b\\u0001\t\n\r\\ufffe\\uffff\uFFFD😀");
    expect(sqsSafeText("\ud800x\udc00\udbff\udfff\udfff")).toBe("\\ud800x\\udc00\udbff\udfff\\udfff");
    const s = "plain text";
    expect(sqsSafeText(s)).toBe(s);
  });

  it("always gives SQS-safe text, and JSON text stays the same JSON value", () => {
    const anyUnits = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 0xd800, 0xdc00, 0xfffe, 0xffff, 0x1f)), { maxLength: 40 })
      .map((codes) => String.fromCharCode(...codes));
    fc.assert(fc.property(anyUnits, (s) => {
      expect(SQS_OK.test(sqsSafeText(s))).toBe(true);
      const json = JSON.stringify({ s });
      const safe = sqsSafeText(json);
      expect(SQS_OK.test(safe)).toBe(true);
      expect(JSON.parse(safe)).toEqual({ s });
    }), { numRuns: 500 });
  });
});

/** An in-memory ObjectReader: `bucket/key` -> content. */
function memoryReader(objects: Record<string, string | Uint8Array>): ObjectReader {
  return {
    async open(bucket, key) {
      const content = objects[`${bucket}/${key}`];
      if (content === undefined) return null;
      const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
      return { body: (async function* () { yield bytes; })(), contentLength: bytes.length };
    },
  };
}
