/**
 * Offline reputation lists: one parser for the formats in use, one loader for the bundle and S3,
 * and a refreshing holder that serves the current set while a newer one loads.
 *
 * Formats (detected per line, so concatenated files work too):
 * - Spamhaus DROP JSON (NDJSON): `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` per line
 *   and a trailing `{"type":"metadata",...}` line (kept as metadata).
 * - Spamhaus DROP text: `1.10.16.0/20 ; SBL256894`, `;` comment lines.
 * - FireHOL netsets, Feodo `ipblocklist.txt`, Tor's plain exit list, plain CIDR/IP files: one
 *   address or CIDR per line, `#` comment lines (and trailing `#`/`;` comments).
 * - Tor `exit-addresses`: `ExitNode <fingerprint>`, `Published ...`, `LastStatus ...`,
 *   `ExitAddress <ip> <date> <time>` records.
 * - Feodo Tracker JSON (`ipblocklist.json`): one JSON array of `{"ip_address", "port", "malware", ...}`.
 * - Feodo Tracker CSV (`ipblocklist.csv`): `#` comments, a quoted header line naming `dst_ip` and
 *   `malware`, then one quoted row per C2 (`"2021-01-17 07:44:46","51.75.144.54","443",...,"Dridex"`).
 *
 * Lines that are none of these are counted and sampled (line number, reason, text), never dropped
 * silently. A load that yields no entry but has bad lines is a failure (an HTML error page, the
 * wrong file), so a refresh keeps the set it has; a file of only comments is a valid empty list.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { ObjectReader } from "../../ingest/s3.js";
import { buildCidrSet, dottedQuadKey, parseNetwork, v4NetworkFromKey, type CidrSet, type Network } from "./cidr-set.js";

export type ListFormat = "spamhaus-drop-json" | "spamhaus-drop-text" | "tor-exit-addresses" | "feodo-json" | "feodo-csv" | "plain";

/** How a listed address counts: block lists (DROP, Feodo C2s) are malicious, Tor exits suspicious. */
export type ListVerdict = "malicious" | "suspicious";

export interface ListEntry {
  /** What the list says about the entry: an SBL id, a Tor relay fingerprint, a malware family. */
  readonly id: string | null;
}

export interface BadLine {
  /** 1-based line (for Feodo JSON: the array element, 1-based). */
  readonly line: number;
  readonly reason: string;
  /** The line, cut to 200 characters. */
  readonly text: string;
}

export interface ParsedList {
  readonly format: ListFormat;
  readonly entries: readonly { readonly network: Network; readonly value: ListEntry }[];
  readonly badLines: number;
  /** The first `MAX_BAD_SAMPLES` bad lines. */
  readonly badSamples: readonly BadLine[];
  /** Spamhaus' trailing metadata object, when present. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

export const MAX_BAD_SAMPLES = 20;
/** Lists larger than this (after decompression) are refused: the largest public ones are a few MB. */
export const MAX_LIST_BYTES = 64 * 1024 * 1024;

const SBL_ID = /\bSBL\d+\b/;
const NO_ID: ListEntry = Object.freeze({ id: null });

/** Parses a list in any supported format. Never throws. */
export function parseList(text: string): ParsedList {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trimStart().startsWith("[")) return parseFeodoJson(body);

  const entries: { network: Network; value: ListEntry }[] = [];
  const bad: BadLine[] = [];
  let badLines = 0;
  let metadata: Record<string, unknown> | null = null;
  const kinds = { json: 0, sbl: 0, tor: 0, csv: 0, plain: 0 };
  let exitNode: string | null = null;
  /** Columns of a Feodo CSV, from its header line (its published order until one is seen). */
  let csv = { ip: 1, malware: 5 };
  const reject = (line: number, reason: string, raw: string): void => {
    badLines++;
    if (bad.length < MAX_BAD_SAMPLES) bad.push({ line, reason, text: raw.slice(0, 200) });
  };
  const add = (lineNo: number, raw: string, token: string, id: string | null): boolean => {
    const network = parseNetwork(token);
    if (typeof network === "string") {
      reject(lineNo, network, raw);
      return false;
    }
    entries.push({ network, value: { id } });
    return true;
  };

  let lineNo = 0;
  for (const rawLine of body.split("\n")) {
    lineNo++;
    const raw = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;

    // Fast path: most lines of most lists are a bare IPv4 address.
    const quad = dottedQuadKey(line);
    if (quad !== null) {
      entries.push({ network: v4NetworkFromKey(quad, 32, line), value: NO_ID });
      kinds.plain++;
      continue;
    }

    if (line.startsWith("{")) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        reject(lineNo, "invalid JSON", raw);
        continue;
      }
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
        reject(lineNo, "a JSON line must be an object", raw);
        continue;
      }
      const o = obj as Record<string, unknown>;
      if (o.type === "metadata") {
        metadata = o;
        continue;
      }
      if (typeof o.cidr !== "string") {
        reject(lineNo, "JSON line without a \"cidr\" string", raw);
        continue;
      }
      if (add(lineNo, raw, o.cidr.trim(), typeof o.sblid === "string" ? o.sblid.slice(0, 64) : null)) kinds.json++;
      continue;
    }

    if (line.startsWith('"')) {
      // Feodo's CSV quotes every field and its values never contain quotes or commas.
      const fields = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!.trim());
      const ip = fields.indexOf("dst_ip");
      if (ip >= 0) {
        const malware = fields.indexOf("malware");
        csv = { ip, malware };
        continue;
      }
      const token = fields[csv.ip];
      if (token === undefined || token === "") {
        reject(lineNo, "CSV row without a dst_ip column", raw);
        continue;
      }
      const family = csv.malware >= 0 ? fields[csv.malware] : undefined;
      if (add(lineNo, raw, token, family ? family.slice(0, 64) : null)) kinds.csv++;
      continue;
    }

    const words = line.split(/\s+/);
    switch (words[0]) {
      case "ExitNode":
        exitNode = words[1] && /^[0-9A-Fa-f]{40}$/.test(words[1]) ? words[1].toUpperCase() : null;
        continue;
      case "Published":
      case "LastStatus":
        continue;
      case "ExitAddress":
        if (words[1] === undefined) reject(lineNo, "ExitAddress without an address", raw);
        else if (add(lineNo, raw, words[1], exitNode)) kinds.tor++;
        continue;
      default:
        break;
    }

    // One address or CIDR, optionally followed by a `;` or `#` comment (Spamhaus: `; SBL123`).
    const cut = line.search(/[;#]/);
    const value = (cut < 0 ? line : line.slice(0, cut)).trim();
    const comment = cut < 0 ? "" : line.slice(cut + 1);
    if (value === "" || /\s/.test(value)) {
      reject(lineNo, value === "" ? "no address before the comment" : "more than one value on the line", raw);
      continue;
    }
    const sbl = SBL_ID.exec(comment)?.[0] ?? null;
    if (add(lineNo, raw, value, sbl)) {
      if (sbl !== null) kinds.sbl++;
      else kinds.plain++;
    }
  }

  const top = Math.max(kinds.json, kinds.sbl, kinds.tor, kinds.csv, kinds.plain);
  const format: ListFormat = top === 0 ? "plain"
    : kinds.json === top ? "spamhaus-drop-json"
      : kinds.sbl === top ? "spamhaus-drop-text"
        : kinds.tor === top ? "tor-exit-addresses"
          : kinds.csv === top ? "feodo-csv"
            : "plain";
  return { format, entries, badLines, badSamples: bad, metadata };
}

function parseFeodoJson(text: string): ParsedList {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { format: "feodo-json", entries: [], badLines: 1, badSamples: [{ line: 1, reason: `invalid JSON: ${(err as Error).message.slice(0, 100)}`, text: text.slice(0, 200) }], metadata: null };
  }
  const entries: { network: Network; value: ListEntry }[] = [];
  const bad: BadLine[] = [];
  let badLines = 0;
  const items = Array.isArray(value) ? value : [];
  items.forEach((item: unknown, i) => {
    const o = item !== null && typeof item === "object" && !Array.isArray(item) ? (item as Record<string, unknown>) : null;
    const ip = o?.ip_address ?? o?.ip ?? o?.cidr;
    const network = typeof ip === "string" ? parseNetwork(ip.trim()) : "element without an \"ip_address\" string";
    if (typeof network === "string") {
      badLines++;
      if (bad.length < MAX_BAD_SAMPLES) bad.push({ line: i + 1, reason: network, text: safeJson(item).slice(0, 200) });
      return;
    }
    const malware = typeof o?.malware === "string" ? o.malware.slice(0, 64) : null;
    entries.push({ network, value: { id: malware } });
  });
  return { format: "feodo-json", entries, badLines, badSamples: bad, metadata: null };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Where lists come from

export type ListLocation =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly key: string };

export interface ListSpec {
  /** Short name used in evidence ("listed in spamhaus-drop (SBL123)"). */
  readonly name: string;
  readonly verdict: ListVerdict;
  readonly location: ListLocation;
}

export class ListError extends Error {
  override readonly name = "ListError";
}

const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAMED_SPEC = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?::(malicious|suspicious))?=(.+)$/;

/**
 * Reads the `REPUTATION_LISTS` setting: comma-separated entries `[name[:verdict]=]location`, where
 * location is `s3://bucket/key` or a path (relative paths resolve against `baseDir`, the bundle).
 * The name defaults to the file name without its extensions; the verdict to "suspicious" for a name
 * containing "tor" (a Tor exit is not malicious by itself) and "malicious" otherwise (DROP, Feodo,
 * FireHOL level 1 are block lists). Every problem is reported at once.
 */
export function parseListSpecs(value: string, options: { readonly baseDir?: string } = {}): ListSpec[] {
  const specs: ListSpec[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  for (const part of value.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const named = NAMED_SPEC.exec(entry);
    const where = (named ? named[3]! : entry).trim();
    let location: ListLocation;
    if (where.startsWith("s3://")) {
      const rest = where.slice(5);
      const slash = rest.indexOf("/");
      if (slash <= 0 || slash === rest.length - 1) {
        problems.push(`${JSON.stringify(entry)}: an S3 location is s3://bucket/key`);
        continue;
      }
      location = { kind: "s3", bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
    } else {
      location = { kind: "file", path: path.resolve(options.baseDir ?? process.cwd(), where) };
    }
    const file = (location.kind === "s3" ? location.key : location.path).split("/").pop() ?? "";
    const name = named ? named[1]! : file.replace(/\.gz$/i, "").replace(/\.(txt|json|netset|ipset|lst|list|csv)$/i, "");
    if (!LIST_NAME.test(name)) {
      problems.push(`${JSON.stringify(entry)}: no usable list name (give one as name=location)`);
      continue;
    }
    if (names.has(name)) {
      problems.push(`${JSON.stringify(entry)}: list name ${name} is used twice`);
      continue;
    }
    names.add(name);
    const verdict = (named?.[2] as ListVerdict | undefined) ?? (/tor/i.test(name) ? "suspicious" : "malicious");
    specs.push({ name, verdict, location });
  }
  if (problems.length > 0) throw new ListError(`bad reputation list setting: ${problems.join("; ")}`);
  return specs;
}

export interface ListSources {
  /** Needed for `s3://` locations. */
  readonly objects?: ObjectReader;
  /** @default node:fs readFile */
  readonly readLocalFile?: (path: string) => Promise<Uint8Array>;
}

export interface LoadedList extends Omit<ParsedList, "entries"> {
  readonly spec: ListSpec;
  readonly set: CidrSet<ListEntry>;
  /** Entries read (before duplicates collapse; `set.size` counts distinct networks). */
  readonly entries: number;
  readonly bytes: number;
  readonly loadedAtMs: number;
  /** Time to parse and build the structure. */
  readonly buildMs: number;
}

/** Reads, parses and indexes one list. Rejects with ListError. */
export async function loadList(spec: ListSpec, sources: ListSources, nowMs: number): Promise<LoadedList> {
  const bytes = await readSource(spec, sources);
  const started = performance.now();
  const parsed = parseList(new TextDecoder("utf-8").decode(bytes));
  if (parsed.entries.length === 0 && parsed.badLines > 0) {
    const first = parsed.badSamples[0];
    throw new ListError(`list ${spec.name}: no valid entry, ${parsed.badLines} bad line${parsed.badLines === 1 ? "" : "s"}${first ? ` (line ${first.line}: ${first.reason})` : ""}`);
  }
  const set = buildCidrSet(parsed.entries);
  return {
    spec, set, format: parsed.format, entries: parsed.entries.length, badLines: parsed.badLines, badSamples: parsed.badSamples,
    metadata: parsed.metadata, bytes: bytes.byteLength, loadedAtMs: nowMs, buildMs: performance.now() - started,
  };
}

async function readSource(spec: ListSpec, sources: ListSources): Promise<Uint8Array> {
  const loc = spec.location;
  let raw: Uint8Array;
  switch (loc.kind) {
    case "file":
      try {
        raw = await (sources.readLocalFile ?? readFile)(loc.path);
      } catch (err) {
        throw new ListError(`list ${spec.name}: cannot read ${loc.path}: ${(err as Error).message}`, { cause: err });
      }
      break;
    case "s3": {
      if (!sources.objects) throw new ListError(`list ${spec.name}: s3://${loc.bucket}/${loc.key} needs an S3 reader`);
      const where = `s3://${loc.bucket}/${loc.key}`;
      try {
        const opened = await sources.objects.open(loc.bucket, loc.key);
        if (opened === null) throw new ListError(`list ${spec.name}: ${where} does not exist`);
        const chunks: Uint8Array[] = [];
        let total = 0;
        for await (const chunk of opened.body) {
          total += chunk.byteLength;
          if (total > MAX_LIST_BYTES) throw new ListError(`list ${spec.name}: ${where} is larger than ${MAX_LIST_BYTES} bytes`);
          chunks.push(chunk);
        }
        raw = Buffer.concat(chunks);
      } catch (err) {
        if (err instanceof ListError) throw err;
        throw new ListError(`list ${spec.name}: cannot read ${where}: ${(err as Error).message}`, { cause: err });
      }
      break;
    }
    default: {
      const never: never = loc;
      throw new ListError(`unknown list location ${JSON.stringify(never)}`);
    }
  }
  if (raw.byteLength > MAX_LIST_BYTES) throw new ListError(`list ${spec.name}: larger than ${MAX_LIST_BYTES} bytes`);
  // Bytes decide, not names or Content-Encoding: gzip starts with 1f 8b.
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw, { maxOutputLength: MAX_LIST_BYTES });
    } catch (err) {
      throw new ListError(`list ${spec.name}: bad gzip data: ${(err as Error).message}`, { cause: err });
    }
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// Refreshing

export interface RefreshOptions {
  /** Age after which a lookup triggers a background reload. @default 1 hour */
  readonly ttlMs?: number;
  /** After a failed load, no new attempt before this long. @default 5 minutes */
  readonly retryMs?: number;
}

export interface ListStatus {
  readonly name: string;
  readonly loadedAtMs: number | null;
  readonly entries: number | null;
  readonly badLines: number | null;
  readonly refreshing: boolean;
  readonly lastError: string | null;
}

export interface RefreshingList {
  readonly spec: ListSpec;
  /**
   * The list to answer from at `nowMs`. The first call waits for the first load; later calls
   * return at once, starting a background reload when the list is older than the TTL (stale while
   * refreshing). A failed reload keeps the old list. Rejects (ListError) only while no load has
   * ever succeeded.
   */
  current(nowMs: number): Promise<LoadedList>;
  status(): ListStatus;
  /** Resolves when no load is in flight (tests; a handler that wants a warm list before it returns). */
  settled(): Promise<void>;
}

export function refreshingList(spec: ListSpec, sources: ListSources, options: RefreshOptions = {}): RefreshingList {
  const ttlMs = options.ttlMs ?? 3600_000;
  const retryMs = options.retryMs ?? 5 * 60_000;
  let loaded: LoadedList | null = null;
  let inflight: Promise<void> | null = null;
  let lastError: ListError | null = null;
  let nextAttemptMs = -Infinity;

  const start = (nowMs: number): Promise<void> => {
    const p = loadList(spec, sources, nowMs).then(
      (list) => {
        loaded = list;
        lastError = null;
      },
      (err: unknown) => {
        lastError = err instanceof ListError ? err : new ListError(`list ${spec.name}: ${(err as Error).message}`, { cause: err });
        nextAttemptMs = nowMs + retryMs;
      },
    ).finally(() => {
      inflight = null;
    });
    inflight = p;
    return p;
  };

  return {
    spec,
    async current(nowMs) {
      if (loaded === null) {
        if (inflight) await inflight;
        else if (nowMs >= nextAttemptMs) await start(nowMs);
        if (loaded === null) throw lastError ?? new ListError(`list ${spec.name} is not loaded`);
        return loaded;
      }
      if (inflight === null && nowMs - loaded.loadedAtMs >= ttlMs && nowMs >= nextAttemptMs) void start(nowMs);
      return loaded;
    },
    status() {
      const l = loaded as LoadedList | null;
      return {
        name: spec.name, loadedAtMs: l?.loadedAtMs ?? null, entries: l?.set.size ?? null, badLines: l?.badLines ?? null,
        refreshing: inflight !== null, lastError: lastError?.message ?? null,
      };
    },
    async settled() {
      while (inflight) await inflight;
    },
  };
}
