/**
 * Which records of the table's stream reach triage: alert inserts, and the one MODIFY that retracts
 * an open alert. Everything else the table writes (candidate rows, claims, triage results, delivery
 * marks, suppression counters on an alert, the `pendingTriage` flag being cleared) must not
 * re-trigger triage.
 *
 * One definition serves both ends: the stack passes these patterns to the event source mapping
 * (Lambda event filtering, JSON patterns over the stream record), and the triage handler applies
 * `isTriageStreamRecord` itself, because DynamoDB Local has no event-source filtering and a filter
 * change must never make the handler triage a counter update.
 */
export const ALERT_STREAM_FILTER_PATTERNS = [
  { eventName: ["INSERT"], dynamodb: { Keys: { sk: { S: ["alert"] } } } },
  {
    eventName: ["MODIFY"],
    dynamodb: {
      Keys: { sk: { S: ["alert"] } },
      OldImage: { status: { S: ["open"] } },
      NewImage: { status: { S: ["retracted"] } },
    },
  },
] as const;

/** The part of a DynamoDB stream record (Lambda event shape) the filter looks at. */
export interface StreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly Keys?: Record<string, { readonly S?: string } | undefined>;
    readonly OldImage?: Record<string, { readonly S?: string } | undefined>;
    readonly NewImage?: Record<string, { readonly S?: string } | undefined>;
  };
}

export type TriageTrigger = "insert" | "retraction";

/** The same decision as ALERT_STREAM_FILTER_PATTERNS, for one record; null = ignore it. */
export function isTriageStreamRecord(record: StreamRecordLike): TriageTrigger | null {
  const d = record.dynamodb;
  if (d?.Keys?.sk?.S !== "alert") return null;
  if (record.eventName === "INSERT") return "insert";
  if (record.eventName === "MODIFY" && d.OldImage?.status?.S === "open" && d.NewImage?.status?.S === "retracted") return "retraction";
  return null;
}
