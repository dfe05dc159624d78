import type { Expr, FieldRef } from "./ast.js";
import { atomPredicate, elementTest, type ElementTest, type Predicate } from "./compile.js";
import { lower } from "./lower.js";
import type { Mappings } from "./mapping.js";
import { LOW_SELECTIVITY } from "./requirements.js";
import { FieldScan } from "./field-scan.js";
import type { Event, Scalar, Value } from "./values.js";
import { hasWildcards } from "./wildcard.js";

/**
 * The distinct tests ("atoms") of a set of stage conditions, each evaluated at most once per event.
 *
 * Why: with all 1,024 production rules, a typical event reaches dozens of candidate stages, and
 * their conditions repeat the same tests (`host.os.type == "windows"` in 522 rules, `event.type ==
 * "start"` in 610, `process.name : (...)` lists everywhere). Evaluated stage by stage, each test
 * drags its own closures and data into the cache; profiled, that made evaluation bound by cache
 * misses (a candidate stage cost ~2 µs event by event, ~0.9 µs with its data hot). Here each
 * distinct test is one atom, memoised per event in small typed arrays.
 *
 * Field atoms: most tests read one field and hold when one of its scalars passes a test
 * (`:`/`like`/`regex`, `in`, a comparison with a literal: compile.ts `elementTest`). Field values
 * repeat across events (process names, executables, parent names, registry values), so each
 * field keeps a cache from a text value to the atoms of the field that hold for it:
 * - the first time a value is seen, its entry knows the equalities it satisfies (`f == "x"`,
 *   `f in (...)`, `f : "x"` without wildcards: one hash lookup of the value and one of its
 *   lower-cased form), and other atoms are tested on demand and remembered;
 * - the second time, the entry is completed: every atom of the field is decided once, and the
 *   entry keeps the list of those that hold. From then on, reading the field marks that list,
 *   every other atom of the field is false, and the stage index can look up stages anchored on
 *   any of them (wildcards included), not only on equalities.
 * Values seen once (command lines with unique ids) never pay for a completion.
 */

export interface Equality {
  /** The literals; lower-cased when `ci`. */
  readonly values: readonly string[];
  readonly ci: boolean;
  /**
   * Every literal is non-numeric text. Then a lookup of `String(x)` finds the atom whenever it
   * holds for any scalar x (a number equals numeric text only; `true` equals "true"), which is what
   * a stage index needs for numbers and booleans; numeric text is still decided exactly for text.
   */
  readonly indexable: boolean;
}

/** A field's cached knowledge of one value. */
export interface ValueEntry {
  /**
   * For text, the equality atoms it satisfies (all others are false); for a number or a boolean,
   * the equalities whose literal is its text (a superset of the indexable ones that hold).
   */
  readonly hits: readonly number[];
  /**
   * Once complete, in one array (one object to fetch per value): `[n, ...the n atoms of the field
   * that hold for the value, ...the stages anchored on them (see setAnchoredStages)]`.
   */
  complete: Int32Array | null;
}

interface FieldState {
  /** Atom ids on this field, by position. */
  readonly atoms: number[];
  /** Equality literal (lower-cased for ci) -> positions of the equality atoms it satisfies. */
  readonly cs: Map<string, number[]>;
  readonly ci: Map<string, number[]>;
  readonly cache: Map<Scalar, ValueEntry>;
}

const NO_HITS: readonly number[] = [];
const NEVER: Predicate = () => {
  throw new Error("field atoms are decided by their field state");
};

/** Values this long are not cached (command lines with unique ids would only evict others). */
const CACHE_MAX_CHARS = 512;
/** Entries per field before its cache starts over. */
const CACHE_ENTRIES = 4096;

export class AtomTable {
  private readonly ids = new Map<string, number>();
  private readonly mappingIds = new Map<Mappings, number>();
  /** Per atom: the predicate (any atom) and, for field atoms, the element test. */
  private readonly preds: Predicate[] = [];
  private readonly tests: (ElementTest | null)[] = [];
  /** Per atom: its equality form, when it has one. */
  readonly equality: (Equality | null)[] = [];
  /** Per atom: how selective it is as an index key (lower is better; Infinity: not a field atom). */
  readonly keyScore: number[] = [];
  /** Estimated relative cost of each atom, for ordering tests cheapest first. */
  readonly cost: number[] = [];
  private readonly fieldOfList: number[] = [];
  /** Per atom: the field of a presence test (`f != null`), else -1. */
  private readonly presenceList: number[] = [];
  private readonly positionList: number[] = [];
  private readonly fieldIds = new Map<string, number>();
  private readonly fields: FieldState[] = [];
  /** Paths of the fields, for the one-pass reader. */
  private readonly fieldPaths: (readonly string[])[] = [];
  private scan: FieldScan | null = null;

  // Per-event state, sized by `seal()`: an entry is valid when its stamp equals `gen`.
  private event: Event | null = null;
  private gen = 0;
  /** Per atom: `gen` when it holds for the current event, `-gen` when it does not, else stale. */
  private memo = new Int32Array(0);
  /** Stamped when a complete value entry of the current event says the atom holds. */
  private trueGen = new Int32Array(0);
  /** Per atom: its field for field atoms, -2 - field for presence tests, -1 for the others. */
  private fieldOf = new Int32Array(0);
  private position = new Int32Array(0);
  private fieldGen = new Int32Array(0);
  private fieldValue: Value[] = [];
  /** The entry of each scalar of the field's value (cached, or fresh for long text). */
  private fieldEntries: ValueEntry[][] = [];
  /** 1 when a scalar of the field's value has no complete entry: its atoms are decided on demand. */
  private fieldLazy = new Uint8Array(0);
  /** Lower-cased scalars of a field, filled on demand for the event stamped in `foldedGen`. */
  private foldedValues: (string | undefined)[][] = [];
  private foldedGen = new Int32Array(0);

  /** The atom of an expression (any expression; `and`/`or` subtrees only beyond the nesting limit). */
  intern(e: Expr, mappings: Mappings): number {
    const key = this.key(e, mappings);
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    id = this.preds.length;
    this.ids.set(key, id);
    const el = elementTest(e, mappings);
    const present = el ? null : presenceOf(e, mappings);
    // Field atoms and presence tests are decided from the field's value: no predicate needed.
    this.preds.push(el || present ? NEVER : atomPredicate(e, mappings));
    this.tests.push(el ? el.test : null);
    const eq = el ? equalityOf(e) : null;
    this.equality.push(eq);
    this.cost.push(eq ? 1 : costOf(e));
    this.keyScore.push(el ? keyScore(e, el.field.name, eq) : Infinity);
    this.presenceList.push(present ? this.field(present.path) : -1);
    if (!el) {
      this.fieldOfList.push(-1);
      this.positionList.push(-1);
      return id;
    }
    const f = this.field(el.field.path);
    const st = this.fields[f]!;
    this.fieldOfList.push(f);
    this.positionList.push(st.atoms.length);
    if (eq) {
      const pos = st.atoms.length;
      const maps = eq.ci ? st.ci : st.cs;
      for (const v of eq.values) {
        const list = maps.get(v);
        if (list) list.push(pos);
        else maps.set(v, [pos]);
      }
    }
    st.atoms.push(id);
    return id;
  }

  /** How many fields the atoms read. */
  get fieldCount(): number {
    return this.fields.length;
  }

  get size(): number {
    return this.preds.length;
  }

  /** The field an atom reads (-1 for atoms that are not field atoms). */
  fieldOfAtom(id: number): number {
    return this.fieldOfList[id]!;
  }

  /** Whether a hash lookup finds the atom for every scalar it holds for (see `Equality.indexable`). */
  isIndexable(id: number): boolean {
    return this.equality[id]?.indexable === true;
  }

  /**
   * The fields of the current event that may be present (see `FieldScan.present`), or null when
   * any may be.
   */
  presentFields(): { readonly fields: Int32Array; readonly count: number } | null {
    return this.scan!.present();
  }

  /** Whether field `f` is read outside the one-pass walk (then `presentFields` never lists it). */
  isDirectField(f: number): boolean {
    return this.scan!.isDirect(f);
  }

  /**
   * How a complete value entry lists the stages its true atoms lead to (the stage index sets it:
   * the union of the stages anchored on them).
   */
  private anchoredStages: (trueAtoms: readonly number[]) => readonly number[] = () => [];

  setAnchoredStages(fn: (trueAtoms: readonly number[]) => readonly number[]): void {
    this.anchoredStages = fn;
  }

  /** Allocates the per-event state once every atom is interned. */
  seal(): void {
    const n = this.preds.length;
    this.memo = new Int32Array(n);
    this.trueGen = new Int32Array(n);
    this.fieldOf = Int32Array.from(this.fieldOfList, (f, id) => (this.presenceList[id]! >= 0 ? -2 - this.presenceList[id]! : f));
    this.position = Int32Array.from(this.positionList);
    this.fieldGen = new Int32Array(this.fields.length);
    this.fieldValue = this.fields.map(() => null);
    this.fieldEntries = this.fields.map(() => []);
    this.fieldLazy = new Uint8Array(this.fields.length);
    this.foldedValues = this.fields.map(() => []);
    this.foldedGen = new Int32Array(this.fields.length);
    this.scan = new FieldScan(this.fieldPaths);
    this.gen = 0;
  }

  /** Starts evaluating a new event: every memo entry of the previous one becomes stale. */
  begin(event: Event): void {
    this.event = event;
    if (this.gen === 0x3fffffff) {
      this.gen = 0;
      this.memo.fill(0);
      this.trueGen.fill(0);
      this.fieldGen.fill(0);
      this.foldedGen.fill(0);
    }
    this.gen++;
    this.scan!.begin(event);
  }

  /** Whether atom `id` holds for the current event. */
  truth(id: number): boolean {
    const gen = this.gen;
    const m = this.memo[id]!;
    if (m === gen) return true;
    if (m === -gen) return false;
    const f = this.fieldOf[id]!;
    let r: boolean;
    if (f >= 0) {
      if (this.fieldGen[f] !== gen) this.resolve(f);
      r = this.trueGen[id] === gen || (this.fieldLazy[f] === 1 && this.lazyFieldAtom(f, id));
    } else if (f === -1) r = this.preds[id]!(this.event!);
    else {
      const p = -f - 2; // a presence test of field p
      if (this.fieldGen[p] !== gen) this.resolve(p);
      r = this.fieldValue[p] !== null;
    }
    this.memo[id] = r ? gen : -gen;
    return r;
  }

  /**
   * Reports what the current event's value of field `f` leads to, for the stage index. For a
   * scalar with a complete entry, `hitStages(list, from)` gets the stages anchored on the atoms
   * that hold (`list` from `from` on). Otherwise `hit` gets, for text, the equalities it satisfies, and for a number or a
   * boolean, the equalities whose literal is its text (every indexable equality that holds among
   * them); and `incomplete(f)` is called once, since any other atom of the field may hold.
   */
  forEachHit(f: number, hit: (atom: number) => void, hitStages: (list: Int32Array, from: number) => void, incomplete: (f: number) => void): void {
    if (this.fieldGen[f] !== this.gen) this.resolve(f);
    const v = this.fieldValue[f]!;
    if (v === null) return;
    const entries = this.fieldEntries[f]!;
    const n = typeof v === "object" ? v.length : 1;
    let partial = false;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      const c = e.complete;
      if (c !== null) {
        hitStages(c, 1 + c[0]!);
        continue;
      }
      const hits = e.hits;
      for (let k = 0; k < hits.length; k++) hit(hits[k]!);
      partial = true;
    }
    if (partial) incomplete(f);
  }

  /**
   * A field atom on the scalars without a complete entry (complete entries and the equalities
   * text satisfies have stamped `trueGen`; an equality that text does not satisfy is false).
   */
  private lazyFieldAtom(f: number, id: number): boolean {
    const v = this.fieldValue[f]!;
    const entries = this.fieldEntries[f]!;
    const equality = this.equality[id] !== null;
    const n = typeof v === "object" ? v!.length : 1;
    for (let i = 0; i < n; i++) {
      if (entries[i]!.complete !== null) continue;
      const s = typeof v === "object" ? v![i]! : (v as Scalar);
      if (equality && typeof s === "string") continue;
      if (this.tests[id]!(s, this.folded(f, i, s))) return true;
    }
    return false;
  }

  /** The lower-cased text of scalar `i` of field `f`, once per event (for case-insensitive tests). */
  private folded(f: number, i: number, s: Scalar): string {
    let list = this.foldedValues[f]!;
    if (this.foldedGen[f] !== this.gen) {
      this.foldedGen[f] = this.gen;
      list.length = 0;
    }
    let x = list[i];
    if (x === undefined) list[i] = x = (typeof s === "string" ? s : String(s)).toLowerCase();
    return x;
  }

  /** Reads field `f` of the current event and finds (or makes) the cache entry of each text scalar. */
  private resolve(f: number): void {
    const gen = this.gen;
    this.fieldGen[f] = gen;
    this.fieldLazy[f] = 0;
    const st = this.fields[f]!;
    const v = this.scan!.value(f);
    this.fieldValue[f] = v;
    if (v === null || st.atoms.length === 0) return; // (a field read only for presence)
    const entries = this.fieldEntries[f]!;
    const n = typeof v === "object" ? v.length : 1;
    let lazy = 0;
    for (let i = 0; i < n; i++) {
      const e = this.entry(st, typeof v === "object" ? v[i]! : v);
      entries[i] = e;
      const t = e.complete;
      if (t !== null) for (let k = 1, end = 1 + t[0]!; k < end; k++) this.trueGen[t[k]!] = gen;
      else {
        lazy = 1;
        // Text satisfies exactly these equalities (for other scalars they are only candidates).
        if (typeof (typeof v === "object" ? v[i] : v) === "string") for (let k = 0; k < e.hits.length; k++) this.trueGen[e.hits[k]!] = gen;
      }
    }
    this.fieldLazy[f] = lazy;
  }

  /** The entry of a scalar: cached values are completed when seen a second time. */
  private entry(st: FieldState, s: Scalar): ValueEntry {
    const text = typeof s === "string";
    if (text && s.length > CACHE_MAX_CHARS) return this.fresh(st, s);
    // Keyed by the scalar itself: a Map tells "5" from 5 and "true" from true, which compare by
    // different rules (only 0 and -0 share a key, and no test tells them apart).
    const cached = st.cache.get(s);
    if (cached !== undefined) {
      if (cached.complete === null) this.complete(st, s, cached);
      return cached;
    }
    const e = this.fresh(st, s);
    if (st.cache.size >= CACHE_ENTRIES) st.cache.clear();
    st.cache.set(s, e);
    return e;
  }

  /**
   * A new entry: the equalities the value satisfies, by a hash lookup of its text and of its
   * lower-cased text. For text that is exact; for a number or a boolean it is the list of
   * equalities whose literal is its text, a superset of the indexable ones that hold.
   */
  private fresh(st: FieldState, s: Scalar): ValueEntry {
    const str = typeof s === "string" ? s : String(s);
    const cs = st.cs.get(str);
    // (toLowerCase, not the shared `lower` cache: a value seen for the first time would only fill it.)
    const ci = st.ci.size > 0 ? st.ci.get(str.toLowerCase()) : undefined;
    if (cs === undefined && ci === undefined) return { hits: NO_HITS, complete: null };
    const hits = new Set<number>();
    if (cs) for (const p of cs) hits.add(st.atoms[p]!);
    if (ci) for (const p of ci) hits.add(st.atoms[p]!);
    return { hits: [...hits], complete: null };
  }

  /** Decides every atom of the field for the value, keeping those that hold. */
  private complete(st: FieldState, s: Scalar, e: ValueEntry): void {
    const text = typeof s === "string";
    const out: number[] = [];
    const folded = (text ? s : String(s)).toLowerCase();
    for (const id of st.atoms) {
      // For text, the equalities were decided by the lookup; everything else is tested.
      const holds = text && this.equality[id] !== null ? e.hits.includes(id) : this.tests[id]!(s, folded);
      if (holds) out.push(id);
    }
    const stages = this.anchoredStages(out);
    const packed = new Int32Array(1 + out.length + stages.length);
    packed[0] = out.length;
    packed.set(out, 1);
    packed.set(stages, 1 + out.length);
    e.complete = packed;
  }

  private key(e: Expr, mappings: Mappings): string {
    return canonical(e) + "\u0000" + this.mappingId(mappings);
  }

  private mappingId(m: Mappings): number {
    if (m.size === 0) return 0;
    let id = this.mappingIds.get(m);
    if (id === undefined) this.mappingIds.set(m, (id = this.mappingIds.size + 1));
    return id;
  }

  private field(path: readonly string[]): number {
    const key = JSON.stringify(path);
    let id = this.fieldIds.get(key);
    if (id === undefined) {
      id = this.fields.length;
      this.fieldIds.set(key, id);
      this.fields.push({ atoms: [], cs: new Map(), ci: new Map(), cache: new Map() });
      this.fieldPaths.push(path);
    }
    return id;
  }
}

/**
 * The equality form of a field atom, when a set lookup of a text value decides it (compile.ts:
 * `==` on text is `===`, `in` and `:`/`like` without wildcards look the text, folded for `~`
 * and `:`, up in a set).
 */
function equalityOf(e: Expr): Equality | null {
  const text = (x: Expr): x is Expr & { kind: "Literal"; value: string } => x.kind === "Literal" && typeof x.value === "string";
  let values: string[];
  let ci: boolean;
  switch (e.kind) {
    case "Compare": {
      if (e.op !== "==") return null;
      if (e.left.kind === "Field" && text(e.right)) values = [e.right.value];
      else if (e.right.kind === "Field" && text(e.left)) values = [e.left.value];
      else return null;
      ci = false;
      break;
    }
    case "In":
      if (e.negated || e.values.length === 0 || !e.values.every(text)) return null;
      ci = e.caseInsensitive;
      values = e.values.map((v) => (v as { value: string }).value);
      break;
    case "Match":
      if (e.op === "regex" || e.patterns.length === 0) return null;
      if (!e.patterns.every((p) => typeof p.value === "string" && !hasWildcards(p.value))) return null;
      ci = e.caseInsensitive;
      values = e.patterns.map((p) => p.value as string);
      break;
    default:
      return null;
  }
  const vals = [...new Set(ci ? values.map(lower) : values)];
  return { values: vals, ci, indexable: vals.every((v) => !NUMERIC.test(v)) };
}

/**
 * The field of a presence test `f != null` (compile.ts: the value is not null). Not with a
 * mapping: a `null_value` makes an explicit null present.
 */
function presenceOf(e: Expr, mappings: Mappings): FieldRef | null {
  if (e.kind !== "Compare" || e.op !== "!=") return null;
  const isNull = (x: Expr) => x.kind === "Literal" && x.value === null;
  const other = isNull(e.right) ? e.left : isNull(e.left) ? e.right : null;
  return other !== null && other.kind === "Field" && !mappings.has(other.name) ? other : null;
}

/** Numeric-looking text, which also equals a number (values.ts `toNumber`). */
const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * An expression as a key: its structure without source positions. Every node kind and every
 * property that changes evaluation is written; literals through JSON, so `"1"` and `1` differ.
 */
function canonical(e: Expr): string {
  switch (e.kind) {
    case "Literal":
      return e.decimal ? `L${JSON.stringify(e.value)}d` : `L${JSON.stringify(e.value)}`;
    case "Field":
      return `F${e.optional ? "?" : ""}${JSON.stringify(e.path)}`;
    case "Not":
      return `!(${canonical(e.operand)})`;
    case "Negate":
      return `-(${canonical(e.operand)})`;
    case "Logical":
    case "Compare":
    case "Arith":
      return `${e.kind[0]}${e.op}(${canonical(e.left)},${canonical(e.right)})`;
    case "In":
      return `I${e.negated ? "!" : ""}${e.caseInsensitive ? "~" : ""}(${canonical(e.target)};${e.values.map(canonical).join(",")})`;
    case "Match":
      return `M${e.op}${e.caseInsensitive ? "~" : ""}(${canonical(e.target)};${e.patterns.map(canonical).join(",")})`;
    case "Call":
      return `C${JSON.stringify(e.name)}${e.caseInsensitive ? "~" : ""}(${e.args.map(canonical).join(",")})`;
    default:
      return JSON.stringify(e, (k, v: unknown) => (k === "span" ? undefined : v));
  }
}

/** A rough relative cost, so that conditions test cheap atoms first. */
function costOf(e: Expr): number {
  switch (e.kind) {
    case "Literal":
      return 0;
    case "Compare":
      return e.left.kind === "Call" || e.right.kind === "Call" ? 12 : 3;
    case "In":
      return 3;
    case "Match":
      if (e.op === "regex") return 30;
      return 3 + Math.min(e.patterns.length, 40) / 2;
    case "Call":
      return 12;
    case "Logical":
    case "Not":
      return 20;
    default:
      return 6;
  }
}

/**
 * How selective a field atom is as an index key, without data: fields shared by most events of a
 * category score high, so do patterns that match nearly anything (`*`, `?*`) and comparisons;
 * otherwise the fewer the values or patterns, the better. Equalities are preferred a little:
 * they are found even for values seen once.
 */
function keyScore(e: Expr, field: string, eq: Equality | null): number {
  const low = LOW_SELECTIVITY.has(field) ? 1_000_000 : 0;
  if (eq) return low + eq.values.length;
  if (e.kind === "Match") {
    const loose = e.patterns.some((p) => typeof p.value === "string" && /^[*?]*$/.test(p.value));
    return low + (loose ? 1_000_000 : 0) + e.patterns.length + 4;
  }
  if (e.kind === "In") return low + e.values.length + 4;
  return low + 1_000; // a comparison (`pid == 4`, `port > 1024`): many values hold
}
