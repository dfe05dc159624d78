/** `triage replay`: the streaming detector over a capture, with the in-memory store. */
import { createWriteStream, type WriteStream } from "node:fs";
import path from "node:path";
import { detectBatch, sweepTimers, type BatchOutcome, type DetectStats } from "../../lib/detect/engine.js";
import { loadDetectionRules } from "../../lib/detect/load-rules.js";
import { readEventChunks } from "../../lib/ingest/event-stream.js";
import type { AcceptedEvent, RejectReason } from "../../lib/ingest/types.js";
import { eventValidator, isRejected, type EventValidator } from "../../lib/ingest/validate.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbItemStore } from "../../lib/store/dynamodb.js";
import { createStateTable } from "../../lib/store/dynamodb-table.js";
import type { ItemStore } from "../../lib/store/items.js";
import { MemoryItemStore } from "../../lib/store/memory.js";
import { withTimeOffset } from "../../lib/store/time-offset.js";
import { EXIT_OK, EXIT_USAGE, parseCommandLine, UsageError, type CliIo, type Command } from "./command.js";
import { openEvents, packageRoot } from "./input.js";
import { replayTriage } from "./replay-triage.js";
import type { Alert } from "../../lib/detect/alert.js";


const HELP = `Usage: triage replay [options] [EVENTS | -]

Run the streaming detector over a capture of events, as the detect Lambda would over SQS, and
print one alert per line (JSON). Events are read in file order (NDJSON or a JSON array,
optionally gzipped; "-" or no file reads standard input) in batches of --batch-size records,
with the in-memory state store and a clock that follows the events: the highest event time
seen so far. Events are never dropped for their age; the check for timestamps too far in the
future uses the wall clock. At the end of the input the clock advances past every pending
timer, so sequences waiting for a trailing missing-event stage are decided.

On standard error: every rejected line with its line number and reason code, a progress line
every few seconds on long inputs, and a summary (events, rejected by reason, candidates,
alerts, suppressed, capped, excepted, late, retracted).

Options:
  --rules PATH         a rule file or folder (repeatable; default: the bundled rules/)
  --batch-size N       records per batch (default 100, as an SQS batch)
  --out FILE           write alerts to FILE instead of standard output
  --lateness DURATION  allowed lateness, e.g. 15m (default 15m)
  --state memory|dynamodb
                       where the detector keeps its state (default memory)
  --table NAME         the DynamoDB table (with --state dynamodb)
  --endpoint URL       a DynamoDB endpoint, e.g. DynamoDB Local (default: the SDK's, from
                       AWS_REGION / AWS_ENDPOINT_URL_DYNAMODB and the usual credentials)
  --create-table       create the table with the production schema (TTL, stream) if missing
  --quiet              no progress line
  --triage             triage every alert after detection: print a readable triage card
                       per alert (instead of the alert JSON) and write its Slack payload and
                       ticket message as JSON files to --out-dir
  --out-dir DIR        where --triage writes its files (default triage-out)
  --lists SPEC         offline IP reputation lists for --triage, comma-separated
                       [name[:malicious|suspicious]=]PATH-or-s3://bucket/key (plain IP/CIDR,
                       Spamhaus DROP, FireHOL, Tor exit and Feodo formats)
  --slack-webhook URL  with --triage: also post each card to this Slack incoming webhook
  -h, --help           show this help

Exit status: 0 when the input was processed (even with rejected lines), 2 for bad arguments,
an unreadable rules path, or no loadable rule (individual bad rules are reported and skipped).
`;

export const replayCommand: Command = {
  name: "replay",
  summary: "run the streaming detector over a capture of events and print alerts",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      rules: { type: "string", multiple: true },
      "batch-size": { type: "string" },
      out: { type: "string" },
      lateness: { type: "string" },
      state: { type: "string" },
      table: { type: "string" },
      endpoint: { type: "string" },
      "create-table": { type: "boolean" },
      quiet: { type: "boolean" },
      triage: { type: "boolean" },
      "out-dir": { type: "string" },
      lists: { type: "string" },
      "slack-webhook": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT_OK;
    }
    if (positionals.length > 1) throw new UsageError("give at most one events file");
    const batchSize = values["batch-size"] === undefined ? 100 : Number(values["batch-size"]);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw new UsageError(`--batch-size needs an integer from 1 to 100000, got "${values["batch-size"]}"`);
    const lateness = values.lateness === undefined ? 15 * 60_000 : parseDurationArg(values.lateness);
    const state = values.state ?? "memory";
    if (state !== "memory" && state !== "dynamodb") throw new UsageError(`--state must be memory or dynamodb, got "${state}"`);
    if (state === "dynamodb" && values.table === undefined) throw new UsageError("--state dynamodb needs --table NAME");
    if (state === "memory" && (values.table !== undefined || values.endpoint !== undefined || values["create-table"])) {
      throw new UsageError("--table, --endpoint and --create-table need --state dynamodb");
    }

    if (!values.triage && (values["out-dir"] !== undefined || values.lists !== undefined || values["slack-webhook"] !== undefined)) {
      throw new UsageError("--out-dir, --lists and --slack-webhook need --triage");
    }
    if (values["slack-webhook"] !== undefined && !/^https?:\/\//.test(values["slack-webhook"])) throw new UsageError("--slack-webhook needs an http(s) URL");

    const rulePaths = (values.rules ?? [path.join(packageRoot(), "rules")]).map((p) => path.resolve(io.cwd, p));
    const loaded = await loadDetectionRules(rulePaths);
    for (const p of loaded.problems) io.stderr(`${p}\n`);
    if (loaded.missingPaths.length > 0) {
      io.stderr(`triage replay: cannot read rules path ${loaded.missingPaths.join(", ")}\n`);
      return EXIT_USAGE;
    }
    if (loaded.rules.length === 0) {
      io.stderr("triage replay: no loadable EQL rule\n");
      return EXIT_USAGE;
    }
    io.stderr(`loaded ${loaded.rules.length} rules${loaded.skipped > 0 ? ` (${loaded.skipped} skipped)` : ""}\n`);

    const file = positionals[0] ?? "-";
    const input = openEvents(file, io, "events file");
    let out: WriteStream | null = null;
    if (values.out !== undefined) out = createWriteStream(path.resolve(io.cwd, values.out));
    const write = (line: string) => (out ? out.write(line) : io.stdout(line));

    const memory = state === "memory" ? new MemoryItemStore() : null;
    let store: ItemStore = memory ?? (await openDynamoDb(values.table!, values.endpoint, values["create-table"] === true, io));
    // Captures are replayed on the events' clock, days in the past: shift the TTLs the table sees
    // by the distance to the wall clock (plus a day), or DynamoDB would delete state as it lands.
    let shifted = memory !== null;
    const ctx = { get store() { return store; }, rules: loaded.rules, options: { allowedLatenessMs: lateness } };
    const totals: DetectStats = { events: 0, candidates: 0, alerts: 0, suppressed: 0, capped: 0, excepted: 0, late: 0, retracted: 0, partitionOverflows: 0, tooManyJoinKeys: 0, timers: 0, partitions: 0, summarized: 0 };
    const rejected = new Map<RejectReason, number>();
    let clock = 0;
    let lastPurge = 0;
    let nextMinute: number | null = null;
    let records = 0;
    let lastProgress = Date.now();
    const started = Date.now();
    let batch: AcceptedEvent[] = [];
    let inBatch = 0;

    const triage = values.triage
      ? await replayTriage({
        rulePaths, lists: values.lists, outDir: path.resolve(io.cwd, values["out-dir"] ?? "triage-out"), slackWebhook: values["slack-webhook"],
        get store() { return store; }, color: io.isTTY === true,
      }, io)
      : null;
    const toTriage: Alert[] = [];
    const take = (o: BatchOutcome) => {
      for (const k of Object.keys(totals) as (keyof DetectStats)[]) totals[k] += o.stats[k];
      for (const a of [...o.alerts, ...o.retracted]) {
        // With --triage, standard output carries the cards; alert JSON only goes to --out.
        if (!triage || out) write(JSON.stringify(a) + "\n");
        if (triage) toTriage.push(a);
      }
      for (const f of o.failures) io.stderr(`partition ${f.partition} (rule ${f.ruleId}) failed: ${f.error}\n`);
    };
    const drainTriage = async () => {
      while (triage && toTriage.length > 0) await triage.triage(toTriage.shift()!, clock);
    };
    const flush = async () => {
      inBatch = 0;
      if (batch.length === 0) return;
      for (const a of batch) clock = Math.max(clock, Number(a.ts / 1_000_000n));
      if (!shifted) {
        shifted = true;
        store = withTimeOffset(store, Math.max(0, Math.ceil((Date.now() - clock) / 1000)) + 86_400);
      }
      const current = batch;
      batch = [];
      take(await detectBatch(ctx, current, clock));
      nextMinute ??= Math.floor(clock / 60_000);
      const swept = await sweepTimers(ctx, clock, nextMinute);
      nextMinute = swept.nextMinute;
      take(swept);
      await drainTriage();
      // State older than the clock can never match again: keep memory bounded by live state
      // (a pass over the store, so once per minute of event time).
      if (memory && clock - lastPurge >= 60_000) {
        lastPurge = clock;
        memory.purgeExpired(Math.floor(clock / 1000));
      }
    };

    // The future-skew check uses the wall clock; refreshed once per batch.
    let validate: EventValidator = eventValidator({ nowMs: Date.now() });
    for await (const items of readEventChunks(input, { keepRecordText: true })) {
      for (const item of items) {
        records++;
        if (inBatch === 0) validate = eventValidator({ nowMs: Date.now() });
        inBatch++;
        if (!item.ok) {
          rejected.set(item.reason, (rejected.get(item.reason) ?? 0) + 1);
          io.stderr(`line ${item.line}: ${item.reason}: ${item.message}\n`);
        } else {
          const r = validate(item.event, { messageId: `line-${item.line}`, line: item.line }, item.text ?? "");
          if (isRejected(r)) {
            rejected.set(r.reason, (rejected.get(r.reason) ?? 0) + 1);
            io.stderr(`line ${item.line}: ${r.reason}: ${r.message}\n`);
          } else batch.push(r);
        }
        if (inBatch >= batchSize) await flush();
      }
      if (!values.quiet && Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        const secs = (Date.now() - started) / 1000;
        io.stderr(`... ${records} records, ${totals.alerts} alerts, ${Math.round(records / secs)} records/s${memory ? `, state ${memory.size} items` : ""}\n`);
      }
    }
    await flush();
    // End of input: advance the clock past every pending timer.
    const horizon = Math.max(0, ...loaded.rules.map((r) => Number(r.windowNs / 1_000_000n))) + lateness + 60_000;
    take(await sweepTimers(ctx, clock + horizon, nextMinute ?? Math.floor(clock / 60_000)));
    await drainTriage();
    if (out) await new Promise<void>((resolve, reject) => out!.end((err?: Error | null) => (err ? reject(err) : resolve())));

    const rej = [...rejected.values()].reduce((a, b) => a + b, 0);
    const byReason = [...rejected].map(([k, v]) => `${k} ${v}`).join(", ");
    io.stderr(
      `${records} records: ${totals.events} events, ${rej} rejected${rej > 0 ? ` (${byReason})` : ""}, ` +
      `${totals.candidates} candidates, ${totals.alerts} alerts, ${totals.suppressed} suppressed, ${totals.capped} capped, ` +
      `${totals.excepted} excepted, ${totals.late} late, ${totals.retracted} retracted\n`,
    );
    if (triage) io.stderr(`triage: ${triage.written()} cards; Slack payloads and ticket messages in ${path.resolve(io.cwd, values["out-dir"] ?? "triage-out")}\n`);
    return EXIT_OK;
  },
};

async function openDynamoDb(table: string, endpoint: string | undefined, create: boolean, io: CliIo): Promise<ItemStore> {
  const client = new DynamoDBClient(endpoint ? { endpoint } : {});
  if (create) {
    try {
      await createStateTable(client, table);
    } catch (err) {
      throw new UsageError(`cannot create table ${table}: ${(err as Error).message}`);
    }
    io.stderr(`table ${table} ready\n`);
  }
  return new DynamoDbItemStore({ client, tableName: table });
}

function parseDurationArg(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) throw new UsageError(`--lateness needs a duration like 15m or 90s, got "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}
