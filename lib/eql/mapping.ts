import type { Scalar } from "./values.js";

/**
 * Optional Elasticsearch field mappings. Without them the engine types values by their JSON type;
 * with them it honours what changes query results in Elasticsearch: `null_value` (an explicit
 * null is indexed as that value) and the `version` type (semantic-version ordering).
 */
export interface FieldMapping {
  readonly type?: string;
  readonly nullValue?: Scalar;
}

export type Mappings = ReadonlyMap<string, FieldMapping>;

/** Flattens an Elasticsearch mapping (`{"properties": {...}}`, or `{"mappings": ...}`) to dotted fields. */
export function mappingsFromElasticsearch(json: unknown): Mappings {
  const out = new Map<string, FieldMapping>();
  const root = isObject(json) && isObject(json.mappings) ? json.mappings : json;
  const walk = (props: unknown, prefix: string) => {
    if (!isObject(props)) return;
    for (const [name, def] of Object.entries(props)) {
      if (!isObject(def)) continue;
      const field = prefix + name;
      if (isObject(def.properties)) walk(def.properties, field + ".");
      const m: { type?: string; nullValue?: Scalar } = {};
      if (typeof def.type === "string") m.type = def.type;
      const nv = def.null_value;
      if (typeof nv === "string" || typeof nv === "number" || typeof nv === "boolean") m.nullValue = nv;
      if (m.type !== undefined || m.nullValue !== undefined) out.set(field, m);
    }
  };
  walk(isObject(root) ? root.properties : undefined, "");
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const VERSION = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Semantic-version precedence as Elasticsearch's `version` type orders it: numeric parts
 * numerically, a pre-release before its release, pre-release identifiers numeric before
 * alphanumeric; strings that are not versions sort after every valid version, by their text.
 */
export function compareVersions(a: string, b: string): number {
  const x = VERSION.exec(a);
  const y = VERSION.exec(b);
  if (!x || !y) {
    if (x) return -1;
    if (y) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const xs = x[1]!.split(".").map(Number);
  const ys = y[1]!.split(".").map(Number);
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const d = (xs[i] ?? 0) - (ys[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const px = x[2];
  const py = y[2];
  if (px === undefined || py === undefined) return px === py ? 0 : px === undefined ? 1 : -1;
  const ix = px.split(".");
  const iy = py.split(".");
  for (let i = 0; i < Math.max(ix.length, iy.length); i++) {
    const p = ix[i];
    const q = iy[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) {
      const d = Number(p) - Number(q);
      if (d !== 0) return d < 0 ? -1 : 1;
    } else if (pn !== qn) return pn ? -1 : 1;
    else if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}
