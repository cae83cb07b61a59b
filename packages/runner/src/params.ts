import { z } from 'zod';
import { AxiomError } from './errors.js';
import type { JsonObject } from './json.js';

type AnySchema = z.ZodType;

/** The object shape behind defaults/optionals, so an error can list the fields that do exist. */
function objectShape(schema: AnySchema | undefined): Record<string, AnySchema> | undefined {
  let current: unknown = schema;
  while (current && !(current instanceof z.ZodObject)) {
    const inner = (current as { def?: { innerType?: unknown } }).def?.innerType;
    if (!inner) return undefined;
    current = inner;
  }
  return current instanceof z.ZodObject ? current.shape : undefined;
}

function schemaAt(schema: AnySchema, path: ReadonlyArray<PropertyKey>): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (const key of path) current = objectShape(current)?.[String(key)];
  return current;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

/** One line naming the offending field and what would have been accepted. */
export function describeZodError(error: z.ZodError, schema: AnySchema, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = formatPath([...(prefix ? [prefix] : []), ...issue.path]);
      if (issue.code === 'unrecognized_keys') {
        const allowed = Object.keys(objectShape(schemaAt(schema, issue.path)) ?? {});
        const fields = issue.keys.map((key) => `"${key}"`).join(', ');
        return `${path ? `${path}: ` : ''}unknown field ${fields} (allowed: ${allowed.join(', ')})`;
      }
      return `${path ? `${path}: ` : ''}${issue.message}`;
    })
    .join('; ');
}

export interface ParamLayer {
  /** Where these values came from, for error messages: "wu.json params", "--params". */
  origin: string;
  values: JsonObject;
}

/**
 * Defaults (the real sweep), then the named preset, then each layer in order; validated strictly,
 * so a misspelt field is an error that names it, never a silent run of the default.
 */
export function resolveParams<S extends AnySchema>(
  schema: S,
  presets: Record<string, JsonObject>,
  presetName: string | undefined,
  layers: ParamLayer[],
): { params: z.infer<S>; merged: JsonObject } {
  let merged: JsonObject = {};
  if (presetName !== undefined) {
    const preset = presets[presetName];
    if (!preset) {
      throw new AxiomError('badParams', `unknown preset "${presetName}" (available: ${Object.keys(presets).join(', ')})`);
    }
    merged = { ...preset };
  }
  for (const layer of layers) merged = { ...merged, ...layer.values };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const origins = layers.map((layer) => layer.origin);
    const from = [presetName ? `preset "${presetName}"` : undefined, ...origins].filter(Boolean).join(' + ');
    throw new AxiomError('badParams', `invalid params${from ? ` (from ${from})` : ''}: ${describeZodError(parsed.error, schema, 'params')}`);
  }
  return { params: parsed.data, merged };
}
