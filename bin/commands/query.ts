/** `triage query`: evaluate an EQL query over a file of events (the batch evaluator). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  compile, compareOrdinals, evaluate, mappingsFromElasticsearch, ordinalReader,
  type CompiledQuery, type EvaluationResult, type Event, type Mappings, type Ordinal,
} from "../../lib/eql/index.js";
import { readEvents } from "../../lib/ingest/event-stream.js";
import { checkRule, loadRuleFile } from "../../lib/rules/index.js";
import { EXIT_OK, EXIT_USAGE, parseCommandLine, UsageError, type CliIo, type Command } from "./command.js";
import { openEvents } from "./input.js";

const HELP = `Usage: triage query --events FILE [options] QUERY
       triage query --events FILE --rule RULE.toml [options]

Evaluate an EQL query over a file of events with Elasticsearch semantics and print one JSON
line per result: the event for an event query, {"join_keys": [...], "events": [...]} for a
sequence or a sample, with {"missing": true} in "events" for a missing-event stage ![...].

FILE is NDJSON (one event per line) or a JSON array of events, optionally gzipped (.gz);
"-" reads standard input. A line or element that is not a JSON object is reported on
standard error with its line number and skipped; so is an event without a usable timestamp.

Event queries stream: matches are printed in file order as they are found, in constant
memory whatever the file size. With | head N, | tail N or --size, or with --sort, matches
are ordered by time as Elasticsearch orders them (only the matches are kept in memory,
at most N of them for head, tail and --size). Sequences and samples keep the events that
match one of their stages.

Options:
  --events FILE             the events (required)
  --rule FILE               take the query (and event_category_override) from a rule TOML file
  --timestamp-field F       event time field (default @timestamp)
  --tiebreaker-field F      field that orders events with equal times (default: none;
                            Elastic Defend events have event.sequence)
  --category-field F        event category field (default event.category)
  --size N                  at most N results (after head/tail)
  --max-samples-per-key N   samples per join-key combination (default 1)
  --mapping FILE            an Elasticsearch index mapping (JSON) to honour null_value and
                            the version type, as Elasticsearch would
  --sort                    order event-query results by time (buffers the matches)
  -h, --help                show this help

Exit status: 0 on success (even if some events were skipped), 2 for a bad query or
command line (the query error is printed with its line, column and a caret).
`;

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} needs a positive integer, got "${v}"`);
  return Number(v);
}

export const queryCommand: Command = {
  name: "query",
  summary: "evaluate an EQL query over a file of events",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      events: { type: "string" },
      rule: { type: "string" },
      "timestamp-field": { type: "string" },
      "tiebreaker-field": { type: "string" },
      "category-field": { type: "string" },
      size: { type: "string" },
      "max-samples-per-key": { type: "string" },
      mapping: { type: "string" },
      sort: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT_OK;
    }
    if (values.events === undefined) throw new UsageError("missing --events FILE");
    const size = positiveInt("size", values.size);
    const maxSamplesPerKey = positiveInt("max-samples-per-key", values["max-samples-per-key"]);

    let source: string;
    let categoryField = values["category-field"];
    if (values.rule !== undefined) {
      if (positionals.length > 0) throw new UsageError("give either QUERY or --rule, not both");
      const loaded = await loadRuleFile(path.resolve(io.cwd, values.rule));
      if (!loaded.success) throw new UsageError(loaded.errors.map((e) => e.message).join("; "));
      const check = checkRule(loaded.rule);
      if (check.status === "unsupported") throw new UsageError(`${values.rule}: rule type [${check.type}] is not supported yet`);
      source = check.rule.rule.query;
      categoryField ??= check.rule.rule.event_category_override;
    } else {
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "missing QUERY" : "give the query as one argument (quote it)");
      source = positionals[0]!;
    }

    let mappings: Mappings | undefined;
    if (values.mapping !== undefined) {
      try {
        mappings = mappingsFromElasticsearch(JSON.parse(await readFile(path.resolve(io.cwd, values.mapping), "utf8")));
      } catch (err) {
        throw new UsageError(`cannot read --mapping ${values.mapping}: ${(err as Error).message}`);
      }
    }
    const compiled = compile(source, { ...(categoryField ? { categoryField } : {}), ...(mappings ? { mappings } : {}) });
    if (!compiled.success) {
      for (const e of compiled.errors) io.stderr(`${e.pretty()}\n`);
      return EXIT_USAGE;
    }
    const input = openEvents(values.events, io);
    const ordering = {
      ...(values["timestamp-field"] ? { timestampField: values["timestamp-field"] } : {}),
      ...(values["tiebreaker-field"] ? { tiebreakerField: values["tiebreaker-field"] } : {}),
    };
    const stats = { read: 0, rejected: 0, skipped: 0, results: 0 };
    const emit = (r: EvaluationResult) => {
      stats.results++;
      io.stdout(JSON.stringify(toOutput(r)) + "\n");
    };
    const query = compiled.data;
    const options = { ...ordering, ...(size !== undefined ? { size } : {}), ...(maxSamplesPerKey !== undefined ? { maxSamplesPerKey } : {}) };
    if (query.kind === "EventQuery") {
      await runEventQuery(query, input, { ...options, sort: values.sort === true }, io, stats, emit);
    } else {
      // Keep only the events that match a stage; the evaluator orders them.
      const kept: Event[] = [];
      const stages = query.until ? [...query.stages, query.until] : query.stages;
      for await (const item of parsedEvents(input, io, stats)) {
        if (stages.some((s) => s.matches(item.event))) kept.push(item.event);
      }
      const result = evaluate(query, kept, options);
      for (const s of result.skipped) {
        stats.skipped++;
        io.stderr(`event ${describeEvent(kept[s.index]!)}: skipped: ${s.reason}\n`);
      }
      for (const r of result.results) emit(r);
    }
    io.stderr(`${stats.read} events read, ${stats.rejected} rejected, ${stats.skipped} skipped, ${stats.results} results\n`);
    return EXIT_OK;
  },
};

interface Stats {
  read: number;
  rejected: number;
  skipped: number;
  results: number;
}

/** The events of the input; a line that is not a JSON object is reported with its number and counted. */
async function* parsedEvents(input: AsyncIterable<Uint8Array | string>, io: CliIo, stats: Stats): AsyncGenerator<{ line: number; event: Event }> {
  for await (const item of readEvents(input)) {
    if (!item.ok) {
      stats.rejected++;
      io.stderr(`line ${item.line}: ${item.reason}: ${item.message}\n`);
      continue;
    }
    stats.read++;
    yield item;
  }
}

async function runEventQuery(
  query: CompiledQuery,
  input: AsyncIterable<Uint8Array | string>,
  options: { timestampField?: string; tiebreakerField?: string; size?: number; sort: boolean },
  io: CliIo,
  stats: Stats,
  emit: (r: EvaluationResult) => void,
): Promise<void> {
  const stage = query.stages[0]!;
  const read = ordinalReader(options);
  // Time order is needed for head/tail/size/--sort; keep at most `limit` matches when bounded.
  const head = query.pipes.length === 1 && query.pipes[0]!.name === "head" ? query.pipes[0]!.count : undefined;
  const tail = query.pipes.length === 1 && query.pipes[0]!.name === "tail" ? query.pipes[0]!.count : undefined;
  const ordered = options.sort || query.pipes.length > 0 || options.size !== undefined;
  const bound = query.pipes.length <= 1 ? Math.min(head ?? tail ?? Infinity, tail === undefined ? (options.size ?? Infinity) : Infinity) : Infinity;
  const matches: { ordinal: Ordinal; line: number; event: Event }[] = [];
  for await (const item of parsedEvents(input, io, stats)) {
    if (!stage.matches(item.event)) continue;
    const o = read(item.event);
    if (!o.success) {
      stats.skipped++;
      io.stderr(`line ${item.line}: skipped: ${o.reason}\n`);
      continue;
    }
    if (!ordered) {
      emit({ kind: "event", event: item.event });
      continue;
    }
    matches.push({ ordinal: o.ordinal, line: item.line, event: item.event });
    // Bounded selection: trim back to the bound now and then (amortised O(n log bound)).
    if (bound !== Infinity && matches.length >= 2 * bound + 1024) trim(matches, bound, tail !== undefined);
  }
  if (!ordered) return;
  const sorted = matches.sort((a, b) => compareOrdinals(a.ordinal, b.ordinal) || a.line - b.line);
  let out = sorted.map((m) => m.event);
  for (const p of query.pipes) out = p.name === "head" ? out.slice(0, p.count) : out.slice(Math.max(0, out.length - p.count));
  if (options.size !== undefined) out = out.slice(0, options.size);
  for (const event of out) emit({ kind: "event", event });
}

function trim(matches: { ordinal: Ordinal; line: number }[], bound: number, keepLatest: boolean): void {
  matches.sort((a, b) => compareOrdinals(a.ordinal, b.ordinal) || a.line - b.line);
  if (keepLatest) matches.splice(0, matches.length - bound);
  else matches.length = bound;
}

function toOutput(r: EvaluationResult): unknown {
  switch (r.kind) {
    case "event":
      return r.event;
    case "sequence":
      return { join_keys: r.joinKeys, events: r.events.map((e) => e ?? { missing: true }) };
    case "sample":
      return { join_keys: r.joinKeys, events: r.events };
  }
}

function describeEvent(e: Event): string {
  const id = (e.event as { id?: unknown } | undefined)?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : JSON.stringify(e).slice(0, 80);
}


