// Building blocks every schema file shares. Two annotations ride along in the JSON Schema for
// the error mapper (controller/load/): `expected` says in words what a pattern accepts, and
// `unionTag` names the property that tells the branches of a union apart.
import { Type, type Static, type TProperties, type TSchema, type TUnsafe, type ObjectOptions, type SchemaOptions } from '@sinclair/typebox';

/** Annotation keywords ajv must know about (they never change what validates). */
export const annotationKeywords = ['expected', 'unionTag'] as const;

const sharedById = new Map<string, TSchema>();

/**
 * Declares a schema used in many places (a duration, a port, a service's Compose parts) once,
 * under an id, and returns a factory for references to it. Inlining them instead made ajv
 * generate a megabyte of code and spend most of a second compiling it.
 */
export function shared<T extends TSchema>(id: string, schema: T): (options?: SchemaOptions) => TUnsafe<Static<T>> {
  sharedById.set(id, { ...schema, $id: id });
  return (options = {}) => Type.Unsafe<Static<T>>({ ...options, $ref: id });
}

/** Every shared schema, for the validator to register before compiling. */
export const sharedSchemas = (): TSchema[] => [...sharedById.values()];

/** The schema a `$ref` names, or undefined for a reference berth did not declare. */
export const sharedSchema = (id: string): TSchema | undefined => sharedById.get(id);

/**
 * An object with a fixed set of keys: anything else is an error, except `x-` keys, which carry
 * YAML anchors and extension fields the way Docker Compose allows them.
 */
export function strictObject<T extends TProperties>(properties: T, options: ObjectOptions & { title: string; description: string }) {
  return Type.Object(properties, { ...options, additionalProperties: false, patternProperties: { '^x-': {} } });
}

/**
 * A string that must match `pattern` unless it holds a `{{ template }}`: templated values are
 * rendered per host at plan time and checked then.
 */
export function patterned(pattern: string, expected: string, options: SchemaOptions = {}) {
  return Type.String({ ...options, pattern: `^(?:${pattern})$|\\{\\{`, expected });
}

/** A closed set of words; reported as "expected one of ..." rather than as a union of literals. */
export function StringEnum<T extends string[]>(values: [...T], options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: values });
}

/** A map from names the user picks to values of one schema. */
export function mapOf<V extends TSchema>(value: V, options: SchemaOptions & { description: string; keyPattern?: string; keyExpected?: string }) {
  const { keyPattern, keyExpected, ...rest } = options;
  const names = keyPattern ? { propertyNames: { type: 'string', pattern: keyPattern, expected: keyExpected ?? `a name matching ${keyPattern}` } } : {};
  return Type.Unsafe<Record<string, Static<V>>>({ ...rest, ...names, type: 'object', additionalProperties: value });
}

const durationCore = '(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+';
export const durationExpected = 'a duration like "30s", "2m", "1h30m" or "500ms", or a whole number of seconds';

const durationRef = shared('berth-duration', Type.Union([patterned(durationCore, durationExpected), Type.Integer({ minimum: 0 })], { description: 'A duration.', expected: durationExpected }));

/** "30s", "1h30m", "500ms", or plain seconds. */
export const Duration = (description: string) => durationRef({ description });

const memoryCore = '\\d+(?:\\.\\d+)?\\s*(?:[bBkKmMgGtT]|[kKmMgGtT][iI]?[bB])?';
export const memoryExpected = 'a size like "64m", "512k", "1g" or "1.5gb", or a number of bytes';

const memoryRef = shared('berth-memory', Type.Union([patterned(memoryCore, memoryExpected), Type.Integer({ minimum: 0 })], { description: 'A memory size.', expected: memoryExpected }));

/** "64m", "1g", "512kb", or plain bytes, as Docker Compose writes memory sizes. */
export const MemorySize = (description: string) => memoryRef({ description });

const stringOrListRef = shared('berth-string-or-list', Type.Union([Type.String(), Type.Array(Type.String())], { description: 'One string or a list of strings.' }));

/** One string or a list of them (Compose's `dns`, `command`, Ansible's `notify`, ...). */
export const StringOrList = (description: string) => stringOrListRef({ description });

export const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

/** A value a variable can hold: anything YAML can say. */
export const VarValue = Type.Unknown({ description: 'Any YAML value.' });

const varName = '^(?:[A-Za-z_][A-Za-z0-9_-]*)$';

const varsRef = shared(
  'berth-vars',
  mapOf(VarValue, { description: 'Variables by name.', keyPattern: varName, keyExpected: 'a variable name (letters, digits, _ and -, not starting with a digit)' }),
);

/** Variables as a template sees them: names must be usable inside `{{ }}`. */
export const Vars = (description: string) => varsRef({ description });

const keyValuesRef = shared(
  'berth-key-values',
  Type.Union(
    [
      mapOf(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), { description: 'Names to values.' }),
      Type.Array(Type.String({ pattern: '^[^=\\s]+(?:=.*)?$', expected: 'KEY=VALUE' }), { description: 'KEY=VALUE lines.' }),
    ],
    { description: 'Names to values, as a map or a list of KEY=VALUE.', expected: 'a map of NAME: value, or a list of "NAME=value"' },
  ),
);

/** Compose accepts `KEY: value` maps and `KEY=value` lists for environment, labels, sysctls. */
export const KeyValues = (description: string) => keyValuesRef({ description });

/** Play and task `environment`: the environment of the programs a task runs. */
export const TaskEnvironment = (description: string) =>
  mapOf(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
    description,
    keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$',
    keyExpected: 'an environment variable name (letters, digits and _, not starting with a digit)',
  });

/** Service, sidecar, host and group names end up in container names and DNS. */
export const nameKey = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
export const nameExpected = 'a name of letters, digits, ".", "_" and "-", starting with a letter or digit';
