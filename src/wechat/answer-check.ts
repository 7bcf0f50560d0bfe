import { z } from 'zod';
import { WechatAnswerError } from './errors.js';

type Path = readonly PropertyKey[];

/** A WeChat answer that fits its schema, and the names of what was left out to make it fit. */
export interface CheckedAnswer<T> {
  answer: T;
  dropped: string[];
}

/**
 * Reads WeChat's parsed JSON through `schema`. What does not fit an optional
 * field is left out (the login goes on without it, as without an answer that
 * never had it), and so is an item of a list whose own fields do not fit;
 * `dropped` names each such field. What does not fit a required field throws
 * WechatAnswerError naming the fields. Names only: the values may be personal data.
 *
 * `json` is changed in place: it is the answer just parsed, nobody else's.
 */
export function checkAnswer<S extends z.ZodType>(schema: S, json: unknown, path: string): CheckedAnswer<z.output<S>> {
  const dropped = new Set<string>();
  for (;;) {
    const result = schema.safeParse(json);
    if (result.success) return { answer: result.data, dropped: [...dropped] };
    const misfits = result.error.issues.map((issue) => ({ field: fieldName(issue.path), target: droppablePart(schema, issue.path) }));
    const required = misfits.filter((misfit) => misfit.target === undefined).map((misfit) => misfit.field);
    if (required.length > 0) throw new WechatAnswerError(path, [...new Set(required)]);
    // One at a time, then check again: leaving out an item of a list moves the items after it.
    const [first] = misfits;
    if (!leaveOut(json, first.target!)) throw new WechatAnswerError(path, [first.field]);
    dropped.add(first.field);
  }
}

/**
 * The deepest part of `path` that the schema lets go: an optional field, or
 * an item of a list. Undefined when the misfit is in a field the answer needs.
 */
function droppablePart(schema: z.ZodType, path: Path): Path | undefined {
  let node: z.ZodType | undefined = schema;
  let droppable: Path | undefined;
  for (const [depth, key] of path.entries()) {
    if (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    if (node instanceof z.ZodObject) {
      node = (node.shape as Record<PropertyKey, z.ZodType | undefined>)[key];
    } else if (node instanceof z.ZodArray) {
      node = node.element as z.ZodType;
      droppable = path.slice(0, depth + 1);
    } else {
      return droppable;
    }
    if (node instanceof z.ZodOptional) droppable = path.slice(0, depth + 1);
  }
  return droppable;
}

/** Removes the value at `path` from `json`; false when there was nothing to remove. */
function leaveOut(json: unknown, path: Path): boolean {
  const parent = path.slice(0, -1).reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], json);
  const key = path.at(-1);
  if (Array.isArray(parent) && typeof key === 'number' && key < parent.length) {
    parent.splice(key, 1);
    return true;
  }
  if (parent !== null && typeof parent === 'object' && key !== undefined && Object.hasOwn(parent, key)) {
    delete (parent as Record<PropertyKey, unknown>)[key];
    return true;
  }
  return false;
}

/** `user_info_list[].unionid`: the field's name without the item's position. */
function fieldName(path: Path): string {
  if (path.length === 0) return 'answer';
  return path.map((key) => (typeof key === 'number' ? '[]' : `.${String(key)}`)).join('').replace(/^\./, '');
}
