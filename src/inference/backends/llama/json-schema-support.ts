/**
 * Decides whether a response_format JSON schema can be enforced by node-llama-cpp's grammar, and
 * bounds its size first. The library quietly ignores what it does not know (`type: "bogus"` becomes
 * any value, a `$ref` to a missing definition becomes any value, `pattern` or `minimum` are
 * dropped), so a schema is walked here and anything the grammar would not honour is refused with
 * the keyword's path. The grammar is built in JavaScript on the event loop and its cost grows
 * faster than the schema (a 100,000-value enum took 83 s), so the size limits come first.
 */
import { errors } from '../../../errors.js';

/** Sized so the worst schema within them compiles in tens of milliseconds on a small machine. */
export const JSON_SCHEMA_LIMITS = {
  /** Schema objects, enum values and object properties together. */
  nodes: 500,
  /** Nesting of schema objects. */
  depth: 10,
  /** Values of one enum (or alternatives of one oneOf/anyOf). */
  enumValues: 250,
  /** Characters of one property name, const or enum string. */
  stringLength: 1000,
  /** minLength/maxLength/minItems/maxItems/minProperties/maxProperties. */
  repetitions: 100,
};

const PARAM = 'response_format';
const IMMUTABLE_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const ANNOTATIONS = new Set(['description', 'title', '$schema', '$id', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly']);
const FORMATS = new Set(['date-time', 'time', 'date']);
const KEYWORDS_BY_TYPE: Record<string, Set<string>> = {
  object: new Set(['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties']),
  array: new Set(['items', 'prefixItems', 'minItems', 'maxItems']),
  string: new Set(['minLength', 'maxLength', 'format']),
};
const SHARED_KEYWORDS = new Set(['type', 'const', 'enum', 'oneOf', 'anyOf', '$defs', '$ref']);

type Schema = Record<string, unknown>;

function refuse(path: string, why: string): never {
  throw errors.LLM_UNSUPPORTED_PARAMETER(`response_format.json_schema.schema${path} cannot be enforced: ${why}`, { param: PARAM });
}

class Walk {
  private nodes = 0;

  count(path: string, n = 1): void {
    this.nodes += n;
    if (this.nodes > JSON_SCHEMA_LIMITS.nodes) refuse(path, `the schema has more than ${JSON_SCHEMA_LIMITS.nodes} nodes (schemas, enum values and properties together)`);
  }

  /** Returns the schema in the library's dialect (anyOf becomes oneOf: generating one alternative satisfies both). */
  schema(value: unknown, path: string, depth: number, defs: ReadonlySet<string>): Schema {
    if (depth > JSON_SCHEMA_LIMITS.depth) refuse(path, `it nests deeper than ${JSON_SCHEMA_LIMITS.depth} levels`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) refuse(path, 'a schema must be an object');
    this.count(path);
    const node = value as Schema;
    const out: Schema = {};
    const scope = this.defsScope(node, path, depth, defs);
    const types = this.types(node.type, path);
    const allowed = new Set<string>(SHARED_KEYWORDS);
    for (const type of types) for (const k of KEYWORDS_BY_TYPE[type] ?? []) allowed.add(k);
    for (const [key, v] of Object.entries(node)) {
      if (ANNOTATIONS.has(key)) { if (key === 'description' && typeof v === 'string') out.description = v; continue; }
      if (!allowed.has(key)) {
        const owner = Object.entries(KEYWORDS_BY_TYPE).find(([, keys]) => keys.has(key))?.[0];
        refuse(`${path}.${key}`, owner ? `"${key}" applies to type "${owner}" only; add type: "${owner}"` : `the keyword "${key}" is not supported by the grammar`);
      }
      out[key] = this.keyword(key, v, `${path}.${key}`, depth, scope, node);
    }
    if (out.anyOf !== undefined) { out.oneOf = out.anyOf; delete out.anyOf; }
    const kinds = ['const', 'enum', 'oneOf', '$ref'].filter((k) => out[k] !== undefined);
    if (kinds.length > 1) refuse(path, `${kinds.join(' and ')} cannot be combined`);
    if (types.length === 0 && kinds.length === 0) refuse(path, 'a schema needs a type, const, enum, oneOf/anyOf or $ref');
    if (types.length > 1 && types.some((t) => !IMMUTABLE_TYPES.has(t))) refuse(`${path}.type`, 'a list of types may hold only string, number, integer, boolean and null (use anyOf for objects and arrays)');
    return out;
  }

  private types(type: unknown, path: string): string[] {
    if (type === undefined) return [];
    const list = Array.isArray(type) ? type : [type];
    if (list.length === 0) refuse(`${path}.type`, 'the list of types is empty');
    for (const t of list) {
      if (typeof t !== 'string' || (!IMMUTABLE_TYPES.has(t) && t !== 'object' && t !== 'array')) refuse(`${path}.type`, `unknown type ${JSON.stringify(t)}`);
    }
    return list as string[];
  }

  private defsScope(node: Schema, path: string, depth: number, outer: ReadonlySet<string>): ReadonlySet<string> {
    if ('definitions' in node) refuse(`${path}.definitions`, 'use $defs (references are #/$defs/NAME)');
    if (node.$defs === undefined) return outer;
    const defs = node.$defs;
    if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) refuse(`${path}.$defs`, 'must be an object of schemas');
    return new Set([...outer, ...Object.keys(defs)]);
  }

  private keyword(key: string, v: unknown, path: string, depth: number, defs: ReadonlySet<string>, node: Schema): unknown {
    switch (key) {
      case 'type': return v;
      case 'const': return this.literal(v, path);
      case 'enum': {
        if (!Array.isArray(v) || v.length === 0) refuse(path, 'enum must be a non-empty array');
        if (v.length > JSON_SCHEMA_LIMITS.enumValues) refuse(path, `enum has ${v.length} values, more than ${JSON_SCHEMA_LIMITS.enumValues}`);
        this.count(path, v.length);
        return v.map((x, i) => this.literal(x, `${path}[${i}]`));
      }
      case 'oneOf':
      case 'anyOf': {
        if (!Array.isArray(v) || v.length === 0) refuse(path, `${key} must be a non-empty array of schemas`);
        if (v.length > JSON_SCHEMA_LIMITS.enumValues) refuse(path, `${key} has ${v.length} alternatives, more than ${JSON_SCHEMA_LIMITS.enumValues}`);
        return v.map((s, i) => this.schema(s, `${path}[${i}]`, depth + 1, defs));
      }
      case '$defs':
        return Object.fromEntries(Object.entries(v as Schema).map(([name, s]) => [name, this.schema(s, `${path}.${name}`, depth + 1, defs)]));
      case '$ref': {
        const match = typeof v === 'string' ? /^#\/\$defs\/([^/]+)$/.exec(v) : null;
        if (!match) refuse(path, `only references of the form #/$defs/NAME are supported, not ${JSON.stringify(v)}`);
        if (!defs.has(match[1])) refuse(path, `it points to a definition that does not exist (${String(v)})`);
        return v;
      }
      case 'properties': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) refuse(path, 'properties must be an object of schemas');
        return Object.fromEntries(Object.entries(v as Schema).map(([name, s]) => {
          if (name.length > JSON_SCHEMA_LIMITS.stringLength) refuse(path, `a property name is longer than ${JSON_SCHEMA_LIMITS.stringLength} characters`);
          return [name, this.schema(s, `${path}.${name}`, depth + 1, defs)];
        }));
      }
      case 'required': {
        if (!Array.isArray(v) || v.some((name) => typeof name !== 'string')) refuse(path, 'required must be an array of property names');
        const properties = (node.properties ?? {}) as Schema;
        const missing = (v as string[]).filter((name) => !Object.hasOwn(properties, name));
        if (missing.length > 0) refuse(path, `required names ${missing.map((m) => JSON.stringify(m)).join(', ')}, which properties does not define`);
        return v;
      }
      case 'additionalProperties':
        return typeof v === 'boolean' ? v : this.schema(v, path, depth + 1, defs);
      case 'items':
        if (typeof v === 'boolean') refuse(path, 'items must be a schema');
        return this.schema(v, path, depth + 1, defs);
      case 'prefixItems':
        if (!Array.isArray(v)) refuse(path, 'prefixItems must be an array of schemas');
        return v.map((s, i) => this.schema(s, `${path}[${i}]`, depth + 1, defs));
      case 'format':
        if (typeof v !== 'string' || !FORMATS.has(v)) refuse(path, `the format ${JSON.stringify(v)} is not supported (only date-time, time and date)`);
        return v;
      default: // the count keywords
        if (!Number.isInteger(v) || (v as number) < 0) refuse(path, `${key} must be a non-negative integer`);
        if ((v as number) > JSON_SCHEMA_LIMITS.repetitions) refuse(path, `${key} is ${String(v)}, more than ${JSON_SCHEMA_LIMITS.repetitions}`);
        return v;
    }
  }

  private literal(v: unknown, path: string): unknown {
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) refuse(path, 'only strings, numbers, booleans and null can be constants');
    if (typeof v === 'string' && v.length > JSON_SCHEMA_LIMITS.stringLength) refuse(path, `a constant is longer than ${JSON_SCHEMA_LIMITS.stringLength} characters`);
    return v;
  }
}

/** The schema as node-llama-cpp's grammar takes it; throws LLM_UNSUPPORTED_PARAMETER naming what cannot be enforced. */
export function enforceableJsonSchema(schema: unknown): Schema {
  return new Walk().schema(schema, '', 1, new Set());
}
