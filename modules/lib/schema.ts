// Schema pieces shared by the modules.
import { Type } from '@sinclair/typebox';

/**
 * A closed set of words as one JSON Schema enum, so a wrong value reads "expected one of a, b, c"
 * rather than as a union of literals whose first branch is all the message names.
 */
export const OneOf = <const T extends readonly string[]>(values: T, description: string) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
