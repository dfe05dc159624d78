import type { KeyValue } from "../eql/index.js";
import type { AlertThreat } from "./rule.js";

/** An alert as `triage replay` prints it and the alert item stores it (DESIGN.md "Alert"). */
export interface Alert {
  readonly id: string;
  /** When it was detected (the detector's clock). */
  readonly "@timestamp": string;
  readonly status: "open" | "retracted";
  readonly rule: {
    readonly id: string;
    readonly name: string;
    readonly severity: string;
    readonly risk_score: number;
    readonly threat: readonly AlertThreat[];
    readonly building_block: boolean;
  };
  readonly group: { readonly by: readonly KeyValue[] };
  /** The matched events in stage order (projections); `{missing: true}` for a missing-event stage. */
  readonly events: readonly Record<string, unknown>[];
  readonly first_seen: string;
  readonly last_seen: string;
  readonly suppressed_count: number;
  /** Fields whose values were cut in `events`, and other caveats (e.g. `partition_overflow`). */
  readonly flags?: readonly string[];
}

/** What the state keeps of each member, to re-check an alert when a late event arrives. */
export interface AlertMember {
  readonly id: string;
  /** Event time, ns, as a decimal string. */
  readonly ts: string;
  readonly tb: string | number | boolean | null;
  /** Expanded stage index. */
  readonly stage: number;
}
