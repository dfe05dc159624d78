import { compareOrdinals, type Ordinal } from "./ordering.js";

/**
 * The sequence state machine of Elasticsearch EQL, pure and reusable: the batch evaluator feeds it
 * a sorted event list, the streaming detector feeds it the stored candidate rows of a partition.
 *
 * Semantics (Elasticsearch's SequenceMatcher):
 * - Hits are fed in ordinal order. A hit of the first positive stage starts a pending sequence.
 * - A hit of a later stage takes, among the pending sequences of the previous positive stage with
 *   the same key, the newest one strictly before it; the older ones are dropped (a newer pending
 *   match replaces an older one). The sequence then waits at this stage, or completes.
 * - `maxspan` is inclusive: the hit's time minus the sequence's first time must not exceed it.
 * - An `until` hit with the same key cancels every pending sequence whose latest match is at or
 *   before it (Elasticsearch checks the nearest until between the latest match and the next hit).
 * - Missing-event stages `![...]` are checked on each completed candidate (see rejectedByMissing).
 */

export interface SequenceSpec {
  /** Per expanded stage (a stage `with runs=N` counts N times): is it a missing-event stage? */
  readonly missing: readonly boolean[];
  /** Inclusive maximum span in nanoseconds, or null. */
  readonly maxspanNs: bigint | null;
}

export interface Member<E> {
  readonly ordinal: Ordinal;
  readonly event: E;
}

export interface CompletedSequence<E> {
  readonly key: string;
  /** One entry per expanded stage; null for a missing-event stage. */
  readonly members: readonly (Member<E> | null)[];
  /** Ordinal of the last positive member (Elasticsearch orders results by it). */
  readonly ordinal: Ordinal;
}

interface Pending<E> {
  readonly members: (Member<E> | null)[];
  ordinal: Ordinal; // latest positive match
  readonly start: Ordinal;
}

interface KeyState<E> {
  /** Pending sequences per positive stage, in ordinal order (oldest first). */
  readonly groups: Pending<E>[][];
  /** Hits of each missing stage, in ordinal order. */
  readonly missing: Member<E>[][];
}

export class SequenceMachine<E> {
  private readonly stages: number;
  private readonly positive: number[];
  private readonly firstPositive: number;
  private readonly lastPositive: number;
  private readonly prevPositive: number[];
  private readonly hasMissing: boolean;
  private readonly keys = new Map<string, KeyState<E>>();
  private readonly candidates: CompletedSequence<E>[] = [];
  private last: Ordinal | null = null;

  constructor(private readonly spec: SequenceSpec) {
    this.stages = spec.missing.length;
    this.positive = spec.missing.flatMap((m, i) => (m ? [] : [i]));
    if (this.positive.length === 0) throw new Error("a sequence needs a positive stage");
    this.firstPositive = this.positive[0]!;
    this.lastPositive = this.positive[this.positive.length - 1]!;
    this.prevPositive = spec.missing.map((_, i) => {
      for (let j = i - 1; j >= 0; j--) if (!spec.missing[j]) return j;
      return -1;
    });
    this.hasMissing = spec.missing.some((m) => m);
  }

  private state(key: string): KeyState<E> {
    let s = this.keys.get(key);
    if (!s) {
      s = { groups: Array.from({ length: this.stages }, () => []), missing: Array.from({ length: this.stages }, () => []) };
      this.keys.set(key, s);
    }
    return s;
  }

  private checkOrder(ordinal: Ordinal): void {
    if (this.last && compareOrdinals(ordinal, this.last) < 0) {
      throw new Error("SequenceMachine: hits must be fed in ordinal order");
    }
    this.last = ordinal;
  }

  /**
   * Feeds the hits of one event: every (expanded) stage it matches under `key`. Positive stages
   * are processed from the last to the first so that one event never advances a sequence it has
   * just started (Elasticsearch's strict "before" gives the same result).
   */
  event(key: string, ordinal: Ordinal, event: E, stages: readonly number[], until: boolean): void {
    this.checkOrder(ordinal);
    const member: Member<E> = { ordinal, event };
    const sorted = [...stages].sort((a, b) => b - a);
    for (const stage of sorted) {
      if (this.spec.missing[stage]) this.state(key).missing[stage]!.push(member);
      else if (stage === this.firstPositive) this.start(key, member);
      else this.advance(stage, key, member);
    }
    if (until) this.until(key, ordinal);
  }

  private start(key: string, member: Member<E>): void {
    const members: (Member<E> | null)[] = new Array(this.stages).fill(null);
    members[this.firstPositive] = member;
    const seq: Pending<E> = { members, ordinal: member.ordinal, start: member.ordinal };
    if (this.firstPositive === this.lastPositive) this.complete(key, seq);
    else this.state(key).groups[this.firstPositive]!.push(seq);
  }

  private advance(stage: number, key: string, member: Member<E>): void {
    const s = this.keys.get(key);
    if (!s) return;
    const group = s.groups[this.prevPositive[stage]!]!;
    // Take the newest pending sequence strictly before this hit; drop the older ones.
    let n = 0;
    while (n < group.length && compareOrdinals(group[n]!.ordinal, member.ordinal) < 0) n++;
    if (n === 0) return;
    const seq = group[n - 1]!;
    group.splice(0, n);
    const max = this.spec.maxspanNs;
    if (max !== null && member.ordinal.ts - seq.start.ts > max) return;
    seq.members[stage] = member;
    seq.ordinal = member.ordinal;
    if (stage === this.lastPositive) this.complete(key, seq);
    else s.groups[stage]!.push(seq);
  }

  private until(key: string, ordinal: Ordinal): void {
    const s = this.keys.get(key);
    if (!s) return;
    for (const group of s.groups) {
      let n = 0;
      while (n < group.length && compareOrdinals(group[n]!.ordinal, ordinal) <= 0) n++;
      if (n > 0) group.splice(0, n);
    }
  }

  private complete(key: string, seq: Pending<E>): void {
    this.candidates.push({ key, members: seq.members, ordinal: seq.ordinal });
  }

  /** Completed sequences in Elasticsearch's order (by the ordinal of their last positive member). */
  results(): CompletedSequence<E>[] {
    const done = this.hasMissing ? this.candidates.filter((c) => !this.rejectedByMissing(c)) : [...this.candidates];
    return done.sort((a, b) => compareOrdinals(a.ordinal, b.ordinal));
  }

  /** Pending sequences (for the streaming detector's state and for tests). */
  pendingCount(): number {
    let n = 0;
    for (const s of this.keys.values()) for (const g of s.groups) n += g.length;
    return n;
  }

  private rejectedByMissing(c: CompletedSequence<E>): boolean {
    const s = this.keys.get(c.key);
    return rejectedByMissing(this.spec, c.members, (stage) => s?.missing[stage] ?? []);
  }

}

/**
 * Elasticsearch's missing-event check of a completed candidate, by event time:
 * - a middle missing stage rejects it if an event of that stage (same key) lies strictly between
 *   the times of the neighbouring positive members;
 * - leading stages give the latest such event before the first member, trailing stages the
 *   earliest after the last member; the candidate is rejected when those found, together with
 *   the positive members, fit within maxspan (with both leading and trailing stages, both must
 *   be found and fit together).
 * `missingHits(stage)` lists the hits of a missing stage for the candidate's key, in time order.
 */
export function rejectedByMissing<E>(
  spec: SequenceSpec,
  members: readonly (Member<E> | null)[],
  missingHits: (stage: number) => readonly Member<E>[],
): boolean {
  const stages = spec.missing.length;
  const positive = spec.missing.flatMap((m, i) => (m ? [] : [i]));
  const first = positive[0]!;
  const last = positive[positive.length - 1]!;
  const startTs = members[first]!.ordinal.ts;
  const endTs = members[last]!.ordinal.ts;
  let lastLeading: bigint | null = null;
  let firstTrailing: bigint | null = null;
  for (let i = 0; i < stages; i++) {
    if (!spec.missing[i]) continue;
    const hits = missingHits(i);
    if (i < first) {
      for (let k = hits.length - 1; k >= 0; k--) {
        const ts = hits[k]!.ordinal.ts;
        if (ts < startTs) {
          if (lastLeading === null || ts > lastLeading) lastLeading = ts;
          break;
        }
      }
    } else if (i > last) {
      const hit = hits.find((h) => h.ordinal.ts > endTs);
      if (hit && (firstTrailing === null || hit.ordinal.ts < firstTrailing)) firstTrailing = hit.ordinal.ts;
    } else {
      const after = members[positive.filter((p) => p < i).pop()!]!.ordinal.ts;
      const before = members[positive.find((p) => p > i)!]!.ordinal.ts;
      if (hits.some((h) => h.ordinal.ts > after && h.ordinal.ts < before)) return true;
    }
  }
  const leading = spec.missing[0] === true;
  const trailing = spec.missing[stages - 1] === true;
  const fits = (from: bigint | null, to: bigint | null) =>
    from !== null && to !== null && (spec.maxspanNs === null || to - from <= spec.maxspanNs);
  if (leading && trailing) return fits(lastLeading, firstTrailing);
  if (leading) return fits(lastLeading, endTs);
  if (trailing) return fits(startTs, firstTrailing);
  return false;
}

/**
 * Would an `until` event (same key) have cancelled this match? It does when it comes at or after
 * one positive member and before the next, as the state machine cancels pending sequences.
 */
export function brokenByUntil(members: readonly (Member<unknown> | null)[], untilOrdinals: readonly Ordinal[]): boolean {
  const positive = members.filter((m): m is Member<unknown> => m !== null);
  for (let i = 0; i + 1 < positive.length; i++) {
    const from = positive[i]!.ordinal;
    const to = positive[i + 1]!.ordinal;
    if (untilOrdinals.some((u) => compareOrdinals(u, from) >= 0 && compareOrdinals(u, to) < 0)) return true;
  }
  return false;
}
