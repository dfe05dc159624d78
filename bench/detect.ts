/**
 * The detect path (issue: streaming detection core): whole-process `triage replay` with the bundled
 * seed rule against a JSON.parse-only pass over the same file, both as separate processes in the
 * same run; and candidate rows per 1,000 events with the seed rule and with all production rules,
 * measured in-process with the same detector and the in-memory store.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, eventIdentity, parseTimestamp, type Event } from "../lib/eql/index.js";
import { detectBatch, loadDetectionRules, type DetectionRule } from "../lib/detect/index.js";
import { buildDetectionRule } from "../lib/detect/rule.js";
import { compileIndexScope } from "../lib/detect/scope.js";
import type { AcceptedEvent } from "../lib/ingest/types.js";
import type { Rule } from "../lib/rules/index.js";
import { MemoryItemStore } from "../lib/store/memory.js";
import { ROOT, type FixtureRule } from "./rules.js";

export const REPLAY_TARGET = 0.6;

export interface DetectFigures {
  readonly replay: {
    readonly events: number;
    readonly bytes: number;
    readonly parseOnlyMs: number[];
    readonly replayMs: number[];
    readonly ratio: number;
    readonly target: number;
    readonly pass: boolean;
    readonly alerts: number;
    readonly summary: string;
  };
  readonly candidates: {
    readonly seedRule: CandidateFigures;
    readonly allRules: CandidateFigures;
  };
}

export interface CandidateFigures {
  readonly rules: number;
  readonly events: number;
  readonly candidateRows: number;
  readonly rowsPerThousandEvents: number;
  /** Events that match a stage of a sequence or sample rule: the only ones that make rows. */
  readonly eventsMatchingAStage: number;
  readonly alerts: number;
  readonly ms: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function run(args: string[]): { ms: number; stdout: string; stderr: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

export function measureReplay(lines: readonly string[], rounds: number): DetectFigures["replay"] {
  const cli = join(ROOT, "dist", "triage.mjs");
  if (!existsSync(cli)) run([join(ROOT, "scripts", "build-cli.mjs")]);
  const dir = mkdtempSync(join(tmpdir(), "bench-replay-"));
  try {
    const file = join(dir, "events.ndjson");
    const text = lines.join("\n") + "\n";
    writeFileSync(file, text);
    const parseOnly: number[] = [];
    const replay: number[] = [];
    let alerts = 0;
    let summary = "";
    run([join(ROOT, "bench", "parse-only.mjs"), file]); // warm the page cache
    for (let r = 0; r < rounds; r++) {
      const a = () => parseOnly.push(run([join(ROOT, "bench", "parse-only.mjs"), file]).ms);
      const b = () => {
        const out = run([cli, "replay", "--quiet", file]);
        replay.push(out.ms);
        alerts = out.stdout.split("\n").filter((l) => l.length > 0).length;
        summary = out.stderr.trim().split("\n").pop() ?? "";
      };
      if (r % 2 === 0) (a(), b());
      else (b(), a());
    }
    const ratio = median(parseOnly) / median(replay);
    return { events: lines.length, bytes: Buffer.byteLength(text), parseOnlyMs: parseOnly.map(Math.round), replayMs: replay.map(Math.round), ratio: Math.round(ratio * 1000) / 1000, target: REPLAY_TARGET, pass: ratio >= REPLAY_TARGET, alerts, summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fixture row as a rule the detector can run (the fields detection reads). */
function fixtureRule(r: FixtureRule): DetectionRule | null {
  const c = compile(r.query, r.event_category_override ? { categoryField: r.event_category_override } : {});
  if (!c.success) return null;
  const rule = { rule_id: r.rule_id, name: r.name, severity: "low", risk_score: 21, threat: [], from: "now-9m", type: "eql", query: r.query } as unknown as Rule;
  return buildDetectionRule(rule, c.data, { inScope: compileIndexScope((r.index as string[] | null) ?? undefined) });
}

export async function measureCandidates(lines: readonly string[], rules: readonly DetectionRule[]): Promise<CandidateFigures> {
  const store = new MemoryItemStore();
  const ctx = { store, rules };
  let candidateRows = 0;
  let alerts = 0;
  let clock = 0;
  const t0 = performance.now();
  for (let i = 0; i < lines.length; i += 100) {
    const batch: AcceptedEvent[] = lines.slice(i, i + 100).map((l) => {
      const event = JSON.parse(l) as Record<string, unknown>;
      return { event, ts: parseTimestamp(event["@timestamp"])!, id: eventIdentity(event), origin: { messageId: `line-${i}` } };
    });
    for (const a of batch) clock = Math.max(clock, Number(a.ts / 1_000_000n));
    const out = await detectBatch(ctx, batch, clock);
    candidateRows += out.stats.candidates;
    alerts += out.stats.alerts;
  }
  const ms = performance.now() - t0;
  // Events that match some stage of some rule in scope, counted independently of the detector.
  let matching = 0;
  const all = rules.flatMap((r) => [...r.query.stages, ...(r.query.until ? [r.query.until] : [])].map((s) => ({ r, s })));
  for (const l of lines) {
    const e = JSON.parse(l) as Event;
    if (all.some(({ r, s }) => r.query.kind !== "EventQuery" && s.matches(e))) matching++;
  }
  return {
    rules: rules.length, events: lines.length, candidateRows, rowsPerThousandEvents: Math.round((candidateRows * 1000 / lines.length) * 10) / 10,
    eventsMatchingAStage: matching, alerts, ms: Math.round(ms),
  };
}

export async function measureDetect(lines: readonly string[], fixture: readonly FixtureRule[], options: { replayEvents: number; candidateEvents: number; allRuleEvents: number; rounds: number }): Promise<DetectFigures> {
  const replay = measureReplay(lines.slice(0, options.replayEvents), options.rounds);
  const seedRules = (await loadDetectionRules([join(ROOT, "rules")])).rules;
  const allRules = fixture.map(fixtureRule).filter((r): r is DetectionRule => r !== null);
  const seedRule = await measureCandidates(lines.slice(0, options.candidateEvents), seedRules);
  const allRulesFigures = await measureCandidates(lines.slice(0, options.allRuleEvents), allRules);
  return { replay, candidates: { seedRule, allRules: allRulesFigures } };
}

/** The fixture's rules that compile, ready for the detector. */
export function fixtureRules(fixture: readonly FixtureRule[]): DetectionRule[] {
  return fixture.map(fixtureRule).filter((r): r is DetectionRule => r !== null);
}
