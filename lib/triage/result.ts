import type { Alert } from "../detect/alert.js";
import type { Guide } from "../rules/guide.js";

/**
 * The triage result: what the triage step adds to an alert, and everything the deliveries render
 * (Slack card, ticket message, terminal card). A typed, versioned object, stored next to the alert
 * (`alert#<id>` / `triage`) so a redelivery renders the same card without re-querying providers.
 *
 * Every string that comes from an event or a rule is raw here; each renderer escapes for its own
 * output (Slack mrkdwn, terminal), which is why guide text is kept as a small inline tree rather
 * than as Markdown or mrkdwn.
 */
export const TRIAGE_RESULT_VERSION = 1 as const;

export type Verdict = "malicious" | "suspicious" | "benign" | "unknown" | "internal";

// ---------------------------------------------------------------------------------------------
// The rule's investigation guide: the types live with the parser in lib/rules (modules depend
// inward), and are part of the triage result.

export type { Guide, GuideBlock, GuideListItem, GuideSection, GuideSectionKind, Inline } from "../rules/guide.js";

/** A `$investigate_N` (Timeline KQL) or `$osquery_N` (osquery SQL) placeholder, resolved. */
export interface ResolvedQuery {
  readonly placeholder: string;
  readonly language: "kql" | "osquery";
  readonly label: string;
  readonly description: string | null;
  /** Copyable query text with `{{field}}` templates filled from the alert's events. */
  readonly query: string;
  /** Template fields the alert had no value for (left as `{{field}}` in `query`). */
  readonly unresolved: readonly string[];
  /**
   * For KQL, when the rule gives one: the time range to search, as date math relative to the
   * alert's time (Kibana takes the alert's `@timestamp` as "now"), e.g. "now-48h/h" .. "now".
   */
  readonly timeRange?: { readonly from: string; readonly to: string };
}

// ---------------------------------------------------------------------------------------------
// Observables and reputation

export type ObservableType = "ip" | "host" | "user" | "process" | "command_line" | "hash" | "parent_child";

export interface Observable {
  readonly type: ObservableType;
  /** The value (for `parent_child`: "parent image -> child image"). */
  readonly value: string;
  /** The ECS field it came from (the first, when several events agree). */
  readonly field: string;
  /** Indexes into `alert.events` of the events it appears in. */
  readonly events: readonly number[];
  /** For `ip`: which end of the connection, and whether it is internal (special-purpose). */
  readonly role?: "remote" | "source" | "destination";
  readonly internal?: boolean;
  /** For `hash`: the algorithm (md5, sha1, sha256). */
  readonly algorithm?: string;
}

export type EvidenceStatus = "listed" | "not_listed" | "found" | "not_found" | "error" | "cooldown" | "skipped";

/** One provider's answer for one IP. */
export interface ProviderEvidence {
  readonly provider: string;
  readonly status: EvidenceStatus;
  readonly verdict: Verdict;
  /** 0..100, the provider's own scale mapped onto ours. */
  readonly score: number | null;
  /** Short human-readable evidence ("listed in spamhaus-drop (SBL123)", "abuse confidence 87%"). */
  readonly detail: string | null;
  /** Why the provider could not answer (`error`, `cooldown`, `skipped`). */
  readonly reason: string | null;
  readonly cached: boolean;
}

export interface IpReputation {
  readonly ip: string;
  readonly verdict: Verdict;
  readonly score: number;
  readonly evidence: readonly ProviderEvidence[];
}

// ---------------------------------------------------------------------------------------------
// The result

export interface TriageResult {
  readonly version: typeof TRIAGE_RESULT_VERSION;
  readonly alertId: string;
  readonly status: "open" | "retracted";
  /** When triage ran (the caller's clock). */
  readonly triagedAt: string;
  /** The alert as detected (events are projections, raw). */
  readonly alert: Alert;
  /** Rule fields the detector does not carry on the alert. */
  readonly rule: { readonly tags: readonly string[]; readonly references: readonly string[]; readonly description: string | null };
  /** One line: rule, host, user, and the worst remote-IP verdict. */
  readonly summary: string;
  /** The parsed `note`, or null when the rule has none. */
  readonly guide: Guide | null;
  readonly queries: readonly ResolvedQuery[];
  readonly observables: readonly Observable[];
  readonly reputation: readonly IpReputation[];
  /** The alert's verdict: the worst IP verdict, with the reasons behind it. */
  readonly verdict: { readonly verdict: Verdict; readonly score: number; readonly reasons: readonly string[] };
}
