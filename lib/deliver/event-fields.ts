/**
 * Reading the alert's events, which are nested projections (`{process: {name}}`); a flat dotted
 * key (`"process.name"`) is accepted too. Shared by the Slack card, the ticket and the terminal
 * card so that all three describe an event the same way.
 */

export function get(event: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(event, path)) return event[path];
  let cur: unknown = event;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A scalar as text; arrays of scalars joined; anything else null. */
export function str(v: unknown): string | null {
  if (typeof v === "string") return v === "" ? null : v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) {
    const parts = v.map(str).filter((x): x is string => x !== null);
    return parts.length > 0 ? parts.join(", ") : null;
  }
  return null;
}

export function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(str).filter((x): x is string => x !== null);
  const s = str(v);
  return s === null ? [] : [s];
}

export function basename(path: string | null): string | null {
  if (!path) return null;
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return path.slice(i + 1) || null;
}

export function hostOf(event: Record<string, unknown>): string | null {
  return str(get(event, "host.name")) ?? str(get(event, "host.hostname")) ?? str(get(event, "host.id"));
}

export function userOf(event: Record<string, unknown>): string | null {
  const name = str(get(event, "user.name"));
  if (!name) return null;
  const domain = str(get(event, "user.domain"));
  return domain ? `${domain}\\${name}` : name;
}

export function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}

// ---------------------------------------------------------------------------------------------
// One event, described for a card

export type Signer =
  | { readonly kind: "signed"; readonly subject: string; readonly trusted: boolean | null; readonly status: string | null }
  /** A signature exists but names no subject. */
  | { readonly kind: "unknown"; readonly status: string | null }
  | { readonly kind: "unsigned" };

export interface RemoteEnd {
  readonly role: "source" | "destination";
  readonly ip: string;
  readonly port: string | null;
}

export type EventView =
  | { readonly kind: "missing" }
  | {
    readonly kind: "event";
    /** `HH:MM:SS.fffZ` (the date is on the card once), or the raw timestamp. */
    readonly time: string;
    /** Category and action: "process start", "network connection_attempted". */
    readonly what: string;
    readonly process: string | null;
    readonly pid: string | null;
    /** Network events: the remote end(s) of the connection. */
    readonly network: { readonly remotes: readonly RemoteEnd[]; readonly direction: string | null; readonly domain: string | null } | null;
    readonly commandLine: string | null;
    readonly parent: string | null;
    /** Process events (and any event with a code signature). */
    readonly signer: Signer | null;
    /** What other events are about: file, registry, dll, dns, url. */
    readonly other: readonly (readonly [label: string, value: string])[];
  };

const OTHER_FIELDS: readonly (readonly [string, string])[] = [
  ["file", "file.path"], ["registry", "registry.path"], ["dll", "dll.path"], ["dns", "dns.question.name"], ["url", "url.full"],
];

export function describeEvent(event: Record<string, unknown>): EventView {
  if (event.missing === true) return { kind: "missing" };
  const categories = strings(get(event, "event.category"));
  const action = str(get(event, "event.action"));
  const isNetwork = categories.includes("network");
  const hasSignature = get(event, "process.code_signature") !== undefined || get(event, "process.code_signature.subject_name") !== undefined;
  return {
    kind: "event",
    time: shortTime(get(event, "@timestamp")),
    what: [categories.join("/") || "event", action ?? ""].filter((s) => s !== "").join(" "),
    process: str(get(event, "process.name")) ?? basename(str(get(event, "process.executable"))),
    pid: str(get(event, "process.pid")),
    network: isNetwork
      ? { remotes: remoteEnds(event), direction: str(get(event, "network.direction")), domain: str(get(event, "destination.domain")) ?? str(get(event, "dns.question.name")) }
      : null,
    commandLine: isNetwork ? null : str(get(event, "process.command_line")),
    parent: isNetwork ? null : str(get(event, "process.parent.name")) ?? basename(str(get(event, "process.parent.executable"))),
    signer: !isNetwork && (categories.includes("process") || hasSignature) ? signerOf(event) : null,
    other: isNetwork ? [] : OTHER_FIELDS.flatMap(([label, path]) => {
      const v = str(get(event, path));
      return v ? [[label, v] as const] : [];
    }),
  };
}

function signerOf(event: Record<string, unknown>): Signer {
  const subject = str(get(event, "process.code_signature.subject_name"));
  const exists = get(event, "process.code_signature.exists");
  const trusted = get(event, "process.code_signature.trusted");
  const status = str(get(event, "process.code_signature.status"));
  if (subject) return { kind: "signed", subject, trusted: typeof trusted === "boolean" ? trusted : null, status };
  // Elastic Defend records a signature for every signed image; none at all means unsigned.
  return exists === true ? { kind: "unknown", status } : { kind: "unsigned" };
}

/** The remote end(s) of a connection: destination for egress, source for ingress, both when unknown. */
export function remoteEnds(event: Record<string, unknown>): RemoteEnd[] {
  const direction = (str(get(event, "network.direction")) ?? "").toLowerCase();
  const end = (role: "source" | "destination"): RemoteEnd | null => {
    const ip = str(get(event, `${role}.ip`));
    return ip ? { role, ip, port: str(get(event, `${role}.port`)) } : null;
  };
  const ends = direction === "egress" || direction === "outbound" ? [end("destination")]
    : direction === "ingress" || direction === "inbound" ? [end("source")]
    : [end("destination"), end("source")];
  return ends.filter((e): e is RemoteEnd => e !== null);
}

/** `HH:MM:SS.fffZ` for an ISO timestamp, else the raw value (cut to 40 characters). */
export function shortTime(ts: unknown): string {
  const s = str(ts);
  if (!s) return "?";
  const m = /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/.exec(s);
  if (m) return `${m[1]}${m[2]}`;
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

/** How every output names a resolved guide query: "query #2 (label)", or "query #2" if unknown. */
export function queryRefLabel(ref: number, queries: readonly { readonly label: string }[]): string {
  const q = queries[ref];
  return q ? `query #${ref + 1} (${q.label})` : `query #${ref + 1}`;
}
