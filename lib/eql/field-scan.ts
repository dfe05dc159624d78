import { fieldGetter, type Event, type FieldGetter, type Scalar, type Value } from "./values.js";

/**
 * Reads many fields of an event in one pass over its keys: a trie of the fields' paths is walked
 * along the event, so each key of each object on the way costs one hash lookup, and a field no
 * key leads to is missing without further work.
 *
 * Why: the stage index of all rules reads ~60 fields an event (most of them missing). Through a
 * getter per field, each read ran its own generated code with its own inline caches, and between
 * two events JSON.parse's allocations evict all of that from the CPU caches: measured, the getter
 * calls alone were ~14% of the time of parse + evaluate. The walk is one small function over
 * small maps.
 *
 * Exactness: a field's value is the getter's (`fieldGetter`) whenever the walk cannot vouch for
 * it: when the field was found under two spellings (`a.b` nested and `"a.b"` dotted), behind an
 * array, or holds anything but a scalar or a non-empty array of scalars. Only own properties are
 * followed (`Object.hasOwn`), as the getters do; events are JSON data, whose properties are all
 * enumerable. Paths with a segment that holds a dot (a backquoted name) or names an
 * Object.prototype property always use the getter: they would make the trie ambiguous.
 */

const UNSAFE_SEGMENTS = new Set(Object.getOwnPropertyNames(Object.prototype));

interface TrieNode {
  /** Keys (a segment, or several joined with dots) -> the node after them. */
  readonly children: Map<string, TrieNode>;
  /** Fields whose path ends here. */
  readonly ends: number[];
  /** Fields whose path goes through or ends here (marked unsure when an array is on the way). */
  readonly below: number[];
}

export class FieldScan {
  private readonly root: TrieNode = node();
  private readonly paths: readonly (readonly string[])[];
  /** Getters, made on first need (most fields never need one). */
  private readonly getters: (FieldGetter | undefined)[];
  private readonly n: number;
  /** 1 for the fields left to their getter. */
  private readonly direct: Uint8Array;
  // Per-event state: an entry is valid when its stamp equals `gen`.
  private gen = 0;
  private event: Event | null = null;
  private scanned = 0;
  private readonly foundGen: Int32Array;
  /** How many times the walk reached the field; 2 means unsure (several places). */
  private readonly found: Uint8Array;
  private readonly raw: unknown[];
  /** The fields stamped this event, in the order found. */
  private readonly foundList: Int32Array;
  private foundCount = 0;
  /** Object.prototype has no enumerable property (checked per event). */
  private plainOk = true;
  /** Set for the whole event when it is not a plain object. */
  private allUnsure = false;

  constructor(paths: readonly (readonly string[])[]) {
    this.n = paths.length;
    this.paths = paths;
    this.getters = new Array<FieldGetter | undefined>(paths.length);
    this.foundGen = new Int32Array(this.n);
    this.found = new Uint8Array(this.n);
    this.raw = new Array<unknown>(this.n).fill(null);
    this.foundList = new Int32Array(this.n);
    this.direct = Uint8Array.from(paths, (p) => (p.length === 0 || p.some((x) => x.includes(".") || UNSAFE_SEGMENTS.has(x)) ? 1 : 0));
    const nodes = new Map<string, TrieNode>([["", this.root]]);
    const at = (path: readonly string[], k: number): TrieNode => {
      const key = JSON.stringify(path.slice(0, k));
      let t = nodes.get(key);
      if (!t) nodes.set(key, (t = node()));
      return t;
    };
    paths.forEach((path, f) => {
      if (this.direct[f] === 1) return;
      // Every spelling: from the node after path[0..i), the key path[i..j] leads to the node after path[0..j].
      for (let i = 0; i < path.length; i++) {
        const from = i === 0 ? this.root : at(path, i);
        from.below.push(f);
        let key = "";
        for (let j = i; j < path.length; j++) {
          key = j === i ? path[j]! : key + "." + path[j]!;
          from.children.set(key, at(path, j + 1));
        }
      }
      at(path, path.length).ends.push(f);
      at(path, path.length).below.push(f);
    });
  }

  /**
   * The fields the walk may have found in the current event, or null when every field may be
   * present (the event is not a plain object). Fields left to their getter are never listed.
   * Any other field is missing. Valid until the next `begin`.
   */
  present(): { readonly fields: Int32Array; readonly count: number } | null {
    if (this.scanned !== this.gen) this.scan();
    return this.allUnsure ? null : { fields: this.foundList, count: this.foundCount };
  }

  /** Whether the field is read by its getter, outside the walk (see `direct`). */
  isDirect(f: number): boolean {
    return this.direct[f] === 1;
  }

  /** Starts a new event (call before `value`). */
  begin(event: Event): void {
    this.event = event;
    if (this.gen === 0x7fffffff) {
      this.gen = 0;
      this.foundGen.fill(0);
      this.scanned = 0;
    }
    this.gen++;
  }

  /** The value of field `f` in the current event, as `fieldGetter(path)` gives it. */
  value(f: number): Value {
    if (this.direct[f] === 1) return this.getter(f)(this.event!);
    if (this.scanned !== this.gen) this.scan();
    if (this.allUnsure) return this.getter(f)(this.event!);
    if (this.foundGen[f] !== this.gen) return null;
    if (this.found[f] === 1) {
      const v = this.raw[f];
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
      if (Array.isArray(v) && v.length > 0 && scalars(v)) return v.length === 1 ? (v[0] as Scalar) : (v as Scalar[]);
    }
    return this.getter(f)(this.event!);
  }

  private getter(f: number): FieldGetter {
    return (this.getters[f] ??= fieldGetter(this.paths[f]!));
  }

  private scan(): void {
    this.scanned = this.gen;
    this.foundCount = 0;
    this.plainOk = !enumerableIn(Object.prototype);
    const e = this.event!;
    this.allUnsure = e === null || typeof e !== "object" || Array.isArray(e);
    if (!this.allUnsure) this.walk(e, this.root);
  }

  private walk(obj: object, t: TrieNode): void {
    const children = t.children;
    // for-in lists inherited enumerable keys too: skipped unless the object is a plain one and
    // Object.prototype has none (the usual case, checked once per event).
    const own = this.plainOk && Object.getPrototypeOf(obj) === Object.prototype;
    for (const k in obj) {
      const child = children.get(k);
      if (child === undefined || (!own && !Object.hasOwn(obj, k))) continue;
      const v = (obj as Record<string, unknown>)[k];
      if (v === undefined) continue; // as the getters: an undefined property is missing
      const ends = child.ends;
      for (let i = 0; i < ends.length; i++) this.record(ends[i]!, v);
      if (child.children.size === 0 || v === null || typeof v !== "object") continue;
      if (Array.isArray(v)) this.unsure(child.below);
      else this.walk(v, child);
    }
  }

  private record(f: number, v: unknown): void {
    if (this.foundGen[f] === this.gen) {
      this.found[f] = 2;
      return;
    }
    this.foundGen[f] = this.gen;
    this.found[f] = 1;
    this.raw[f] = v;
    this.foundList[this.foundCount++] = f;
  }

  /** Fields the getter must decide (an array on the way). */
  private unsure(fields: readonly number[]): void {
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (this.foundGen[f] !== this.gen) this.foundList[this.foundCount++] = f;
      this.foundGen[f] = this.gen;
      this.found[f] = 2;
    }
  }
}

function enumerableIn(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function node(): TrieNode {
  return { children: new Map(), ends: [], below: [] };
}

function scalars(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") return false;
  }
  return true;
}
