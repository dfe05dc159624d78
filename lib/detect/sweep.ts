import type { ItemStore } from "../store/items.js";
import { sweepTimers, type BatchOutcome, type DetectContext } from "./engine.js";

/**
 * The sweep's cursor over timer minutes (`timer#<minute>` items). Timers are deleted once
 * evaluated and a failed timer holds the cursor at its minute, so a sweep that failed or did not
 * run (a throttled schedule, a deployment) catches up from where the last one stopped, bounded by
 * how long timers live (their TTL is a day past due).
 */
export const SWEEP_CURSOR_KEY = { pk: "sweep", sk: "cursor" } as const;

export interface SweepOptions {
  /** Where the first sweep ever starts, in minutes before now. @default 60 */
  readonly initialLookbackMinutes?: number;
  /** The furthest back a sweep ever looks (timers live a day past due). @default 1440 */
  readonly maxLookbackMinutes?: number;
}

export interface SweepResult extends BatchOutcome {
  readonly fromMinute: number;
  readonly nextMinute: number;
}

export async function runSweep(ctx: DetectContext & { readonly store: ItemStore }, nowMs: number, options: SweepOptions = {}): Promise<SweepResult> {
  const nowMinute = Math.floor(nowMs / 60_000);
  const nowSec = Math.floor(nowMs / 1000);
  const cursor = await ctx.store.get(SWEEP_CURSOR_KEY, { nowSec });
  const stored = typeof cursor?.minute === "number" ? cursor.minute : nowMinute - (options.initialLookbackMinutes ?? 60);
  const fromMinute = Math.max(stored, nowMinute - (options.maxLookbackMinutes ?? 1440));
  const result = await sweepTimers(ctx, nowMs, fromMinute);
  // Unconditional: if two sweeps overlap, the cursor may step back, which only re-reads minutes.
  await ctx.store.update(SWEEP_CURSOR_KEY, { set: { minute: result.nextMinute } });
  return { ...result, fromMinute };
}
