import type { CompiledQuery, CompiledStage, Event, SequenceSpec } from "../eql/index.js";
import type { Rule } from "../rules/index.js";
import { projectionBudget, TRIAGE_FIELDS } from "./projection.js";
import { parseLookback, ruleIntervalMs, suppressionConfig, type SuppressionConfig } from "./suppression-config.js";

/** What an alert carries of the rule's ATT&CK mapping: one entry per tactic and technique. */
export interface AlertThreat {
  readonly tactic: string;
  readonly tactic_id: string;
  readonly technique?: string;
  readonly technique_name?: string;
}

/**
 * A rule ready for the stream: compiled query, scope, exceptions, suppression and cap, with the
 * windows the streaming sequence logic uses.
 */
export interface DetectionRule {
  readonly id: string;
  readonly name: string;
  readonly severity: string;
  readonly riskScore: number;
  readonly threat: readonly AlertThreat[];
  readonly buildingBlock: boolean;
  readonly query: CompiledQuery;
  /** Stages with `with runs=N` expanded N times (sequences); the query's stages otherwise. */
  readonly expanded: readonly CompiledStage[];
  /** First expanded index of each original stage. */
  readonly offsets: readonly number[];
  readonly spec: SequenceSpec;
  /**
   * How far apart a match's events can be, in ns: maxspan; for `sample` and sequences without
   * maxspan the rule's `from` look-back (a stream has no search window: documented deviation).
   */
  readonly windowNs: bigint;
  readonly trailingMissing: boolean;
  /** Fields kept in candidate rows and alerts. */
  readonly fields: readonly string[];
  /** Bytes each kept event may take, so that an alert of this rule fits one item (projection.ts). */
  readonly projectionBudget: number;
  readonly inScope: (streamName: string | null) => boolean;
  /** The id of the exception item an event matches at `nowMs`, or null. */
  readonly exception: (event: Event, nowMs: number) => string | null;
  readonly suppression: SuppressionConfig | null;
  /** Alerts per interval before further matches are capped (Elastic's max_signals, default 100). */
  readonly maxSignals: number;
  readonly intervalMs: number;
}

export const DEFAULT_MAX_SIGNALS = 100;
/** Look-back of a rule without `from` (13 of the 1,024 production EQL rules): the corpus's common `now-9m`. */
export const DEFAULT_LOOKBACK_MS = 9 * 60_000;

export function threatOf(rule: Rule): AlertThreat[] {
  const out: AlertThreat[] = [];
  for (const t of rule.threat ?? []) {
    const tactic = { tactic: t.tactic.name, tactic_id: t.tactic.id };
    const techniques = t.technique ?? [];
    if (techniques.length === 0) out.push(tactic);
    for (const tech of techniques) {
      const subs = tech.subtechnique ?? [];
      if (subs.length === 0) out.push({ ...tactic, technique: tech.id, technique_name: tech.name });
      for (const sub of subs) out.push({ ...tactic, technique: sub.id, technique_name: `${tech.name}: ${sub.name}` });
    }
  }
  return out;
}

export interface RuleExtras {
  readonly inScope?: (streamName: string | null) => boolean;
  readonly exception?: (event: Event, nowMs: number) => string | null;
}

/** Builds the stream form of a compiled EQL rule. Throws DurationError on a bad `from`, `interval` or suppression duration. */
export function buildDetectionRule(rule: Rule, query: CompiledQuery, extras: RuleExtras = {}): DetectionRule {
  const expanded = query.kind === "Sequence" ? query.stages.flatMap((s) => Array.from({ length: s.runs }, () => s)) : [...query.stages];
  const offsets: number[] = [];
  let pos = 0;
  for (const s of query.stages) {
    offsets.push(pos);
    pos += query.kind === "Sequence" ? s.runs : 1;
  }
  const lookback = rule.from === undefined ? DEFAULT_LOOKBACK_MS : parseLookback(rule.from);
  const windowMs = query.maxspanMs ?? lookback;
  const suppression = suppressionConfig(rule);
  const fields = [...new Set([...TRIAGE_FIELDS, ...query.fields, ...(suppression?.groupBy ?? [])])];
  const maxSignals = (rule as { max_signals?: number }).max_signals ?? DEFAULT_MAX_SIGNALS;
  return {
    id: rule.rule_id,
    name: rule.name,
    severity: rule.severity,
    riskScore: rule.risk_score,
    threat: threatOf(rule),
    buildingBlock: rule.building_block_type !== undefined,
    query,
    expanded,
    offsets,
    spec: { missing: expanded.map((s) => s.missing), maxspanNs: BigInt(Math.round(windowMs)) * 1_000_000n },
    windowNs: BigInt(Math.round(windowMs)) * 1_000_000n,
    trailingMissing: query.kind === "Sequence" && expanded.length > 0 && expanded[expanded.length - 1]!.missing,
    fields,
    projectionBudget: projectionBudget(expanded.filter((s) => !s.missing).length),
    inScope: extras.inScope ?? (() => true),
    exception: extras.exception ?? (() => null),
    suppression,
    maxSignals,
    intervalMs: ruleIntervalMs(rule),
  };
}
