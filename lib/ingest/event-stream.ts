/**
 * Streaming reader for files and objects of events: NDJSON (one event per line) or a JSON array of
 * events. Memory stays bounded by the largest single event, never the input size, so a 1 GB
 * capture is read in constant memory.
 *
 * Bad input never stops the stream: an unparsable line or array element, a value that is not an
 * object or an oversized record is yielded as a rejection with its line number, a reason code
 * and a truncated copy of its text, and reading goes on.
 *
 * JSON arrays are split into elements by a small scanner (strings, escapes and nesting) and each
 * element is parsed with the native JSON.parse: streaming JSON libraries tokenise in JavaScript
 * (several times slower) and abort the whole stream at the first syntax error, where this reader
 * rejects the one element and continues.
 */

export type RejectReason = "invalid_json" | "not_an_object" | "record_too_large" | "truncated_input";

export type ReadItem =
  | {
      readonly ok: true; readonly line: number; readonly event: Record<string, unknown>;
      /** The record's text, only with `keepRecordText` (for validation rejections downstream). */
      readonly text?: string;
    }
  | { readonly ok: false; readonly line: number; readonly reason: RejectReason; readonly message: string; readonly text: string };

export interface ReadOptions {
  /** Largest accepted record (one line or one array element), in characters. Default 16 MiB. */
  readonly maxRecordChars?: number;
  /** How much of a rejected record's text is kept. Default 4 KiB. */
  readonly keepChars?: number;
  /**
   * Also hand back the full text of each accepted record, so that a later check (timestamp,
   * nesting) can reject it with its original text. Default false.
   */
  readonly keepRecordText?: boolean;
}

const DEFAULT_MAX_RECORD = 16 * 1024 * 1024;
const DEFAULT_KEEP = 4096;

export async function* readEvents(source: AsyncIterable<string | Uint8Array>, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  for await (const items of readEventChunks(source, options)) yield* items;
}

/**
 * `readEvents` by input chunk: the records each chunk completes, as one array. Hot loops use it
 * to avoid an asynchronous step per record.
 */
export async function* readEventChunks(source: AsyncIterable<string | Uint8Array>, options: ReadOptions = {}): AsyncGenerator<ReadItem[]> {
  const maxRecord = options.maxRecordChars ?? DEFAULT_MAX_RECORD;
  const keep = options.keepChars ?? DEFAULT_KEEP;
  const withText = options.keepRecordText ?? false;
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let mode: "unknown" | "ndjson" | "array" = "unknown";
  const nd = new NdjsonSplitter(maxRecord, keep, withText);
  const arr = new ArraySplitter(maxRecord, keep, withText);
  let pending = "";

  const feed = function* (text: string, final: boolean): Generator<ReadItem> {
    if (mode === "unknown") {
      pending += text;
      const m = /\S/.exec(pending);
      if (!m) {
        if (final) pending = "";
        return;
      }
      mode = pending[m.index] === "[" ? "array" : "ndjson";
      text = pending;
      pending = "";
    }
    if (mode === "ndjson") yield* nd.push(text, final);
    else yield* arr.push(text, final);
  };

  for await (const chunk of source) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    if (text.length > 0) {
      const items = [...feed(text, false)];
      if (items.length > 0) yield items;
    }
  }
  const rest = [...feed(decoder.decode(), true)];
  if (rest.length > 0) yield rest;
}

function parseRecord(text: string, line: number, keep: number, withText: boolean): ReadItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // SyntaxError for bad JSON, RangeError for nesting deeper than the parser's stack.
    const message = err instanceof RangeError ? "JSON nested too deeply" : (err as Error).message;
    return { ok: false, line, reason: "invalid_json", message, text: clip(text, keep) };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    return { ok: false, line, reason: "not_an_object", message: `an event must be a JSON object, found ${kind}`, text: clip(text, keep) };
  }
  const event = value as Record<string, unknown>;
  return withText ? { ok: true, line, event, text } : { ok: true, line, event };
}

function clip(text: string, keep: number): string {
  return text.length <= keep ? text : text.slice(0, keep) + `...[${text.length - keep} more characters]`;
}

class NdjsonSplitter {
  private partial = "";
  private line = 1;
  private skipping = false; // inside an oversized line
  private skippedHead = "";

  constructor(private readonly maxRecord: number, private readonly keep: number, private readonly withText: boolean) {}

  *push(text: string, final: boolean): Generator<ReadItem> {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        yield this.tooLarge();
      } else {
        const record = this.partial + piece;
        this.partial = "";
        if (record.length > this.maxRecord) {
          this.skippedHead = record.slice(0, this.keep);
          yield this.tooLarge();
        } else {
          const item = this.record(record);
          if (item) yield item;
        }
      }
      this.line++;
    }
    const rest = text.slice(start);
    if (this.skipping) {
      // still inside an oversized line: drop its text
    } else if (this.partial.length + rest.length > this.maxRecord) {
      this.skippedHead = (this.partial + rest).slice(0, this.keep);
      this.partial = "";
      this.skipping = true;
    } else {
      this.partial += rest;
    }
    if (final) {
      if (this.skipping) yield this.tooLarge();
      else if (this.partial.length > 0) {
        const item = this.record(this.partial);
        this.partial = "";
        if (item) yield item;
      }
    }
  }

  private record(raw: string): ReadItem | null {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim().length === 0) return null;
    return parseRecord(text, this.line, this.keep, this.withText);
  }

  private tooLarge(): ReadItem {
    this.skipping = false;
    const head = this.skippedHead;
    this.skippedHead = "";
    return {
      ok: false, line: this.line, reason: "record_too_large",
      message: `line longer than ${this.maxRecord} characters`, text: head + "...[truncated]",
    };
  }
}

/** Splits the top-level elements of a JSON array without parsing them. */
class ArraySplitter {
  private state: "start" | "before" | "element" | "after" | "done" = "start";
  private depth = 0;
  private inString = false;
  private escape = false;
  private parts: string[] = [];
  private size = 0;
  private oversized = false;
  private line = 1;
  private elementLine = 1;
  /** Reading values after the closing `]` (already reported), so no closing `]` is owed. */
  private trailing = false;

  constructor(private readonly maxRecord: number, private readonly keep: number, private readonly withText: boolean) {}

  *push(text: string, final: boolean): Generator<ReadItem> {
    let i = 0;
    // Start of the current element within `text`; an element can continue from the last chunk.
    let elemStart = this.state === "element" ? 0 : -1;
    const n = text.length;
    const flush = () => {
      if (elemStart >= 0) this.append(text.slice(elemStart, i));
    };
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) this.line++;
      switch (this.state) {
        case "start":
          if (c === 91 /* [ */) this.state = "before";
          i++;
          continue;
        case "before":
        case "after":
          if (c === 93 /* ] */) {
            this.state = "done";
          } else if (c === 44 /* , */) {
            if (this.state === "before") yield this.error("invalid_json", "empty array element");
            this.state = "before";
          } else if (!isSpace(c)) {
            if (this.state === "after") yield this.error("invalid_json", "missing comma between array elements");
            this.state = "element";
            this.elementLine = this.line;
            this.depth = 0;
            this.inString = false;
            elemStart = i;
            continue; // re-read this character as part of the element
          }
          i++;
          continue;
        case "element": {
          if (this.inString) {
            if (this.escape) this.escape = false;
            else if (c === 92 /* \ */) this.escape = true;
            else if (c === 34 /* " */) this.inString = false;
            i++;
            continue;
          }
          if (c === 34) this.inString = true;
          else if (c === 123 || c === 91) this.depth++;
          else if (c === 125 || c === 93) {
            if (this.depth === 0) {
              // `]` closing the outer array right after a scalar element
              flush();
              elemStart = -1;
              yield this.finishElement();
              this.state = "done";
              i++;
              continue;
            }
            this.depth--;
          } else if (c === 44 && this.depth === 0) {
            flush();
            elemStart = -1;
            yield this.finishElement();
            this.state = "before";
            i++;
            continue;
          }
          i++;
          if (this.depth === 0 && (c === 125 || c === 93)) {
            flush();
            elemStart = -1;
            yield this.finishElement();
            this.state = "after";
          }
          continue;
        }
        case "done":
          if (!isSpace(c)) {
            yield this.error("invalid_json", "unexpected data after the end of the JSON array");
            this.state = "before"; // keep reading: treat what follows as further elements
            this.trailing = true;
            continue;
          }
          i++;
          continue;
      }
    }
    if (this.state === "element") flush();
    if (final && this.state !== "done") {
      if (this.state === "element" && (this.parts.length > 0 || this.oversized)) {
        const text = this.parts.join("");
        this.parts = [];
        this.size = 0;
        yield {
          ok: false, line: this.elementLine, reason: "truncated_input",
          message: "input ended inside an array element", text: clip(text, this.keep),
        };
      } else if (this.state !== "start" && !this.trailing) {
        yield { ok: false, line: this.line, reason: "truncated_input", message: "input ended before the closing ] of the JSON array", text: "" };
      }
    }
  }

  private append(s: string): void {
    if (this.oversized) return;
    this.size += s.length;
    if (this.size > this.maxRecord) {
      this.oversized = true;
      this.parts = [this.parts.join("").slice(0, this.keep)];
      return;
    }
    this.parts.push(s);
  }

  private finishElement(): ReadItem {
    const text = this.parts.join("");
    this.parts = [];
    this.size = 0;
    if (this.oversized) {
      this.oversized = false;
      return {
        ok: false, line: this.elementLine, reason: "record_too_large",
        message: `array element longer than ${this.maxRecord} characters`, text: text + "...[truncated]",
      };
    }
    return parseRecord(text, this.elementLine, this.keep, this.withText);
  }

  private error(reason: RejectReason, message: string): ReadItem {
    return { ok: false, line: this.line, reason, message, text: "" };
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff;
}
