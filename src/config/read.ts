import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError, ErrorCode, ValidationError } from '../errors.js';

/**
 * Turns the first zod issue into a field path and a message that names the rule and the
 * value: `agents[2].maxTokens must be at least 1, got -5`.
 */
export function describeIssue(error: z.ZodError, input: unknown, subject = 'the file', at = ''): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), at);
  // A key the schema does not know: the field is that key.
  if (issue.code === 'unrecognized_keys') {
    const key = String((issue as { keys: string[] }).keys[0]);
    // An empty or very long key is still named: quoted, and cut to a readable length.
    const shownKey = key === '' ? '""' : key.length > 100 ? `${key.slice(0, 100)}…` : key;
    const named = field ? `${field}.${shownKey}` : shownKey;
    return { field: named, message: `${named} is not a known field${field ? ` of ${field}` : ''}, got ${JSON.stringify(key.slice(0, 100))}` };
  }
  // A bad key of a record: the rule is the key's, and what was got is the key itself.
  if (issue.code === 'invalid_key') {
    const rule = (issue as { issues?: Array<{ message: string }> }).issues?.[0]?.message ?? issue.message;
    return { field, message: `${field} is not a valid key: it ${rule}, got ${JSON.stringify(issue.path.at(-1))}` };
  }
  let got: unknown = input;
  for (const part of issue.path) got = got == null ? undefined : (got as Record<PropertyKey, unknown>)[part];
  // Never JSON.stringify what a caller sent: a value nested thousands deep overflows the stack.
  const shown = previewValue(got);
  return { field: field || '(root)', message: `${field || subject} ${issue.message}, got ${shown}` };
}

/**
 * A short, bounded rendering of a value for an error message: at most `maxChars` characters,
 * never more than two levels deep, never recursing into what a caller sent.
 */
export function previewValue(value: unknown, maxChars = 80): string {
  const render = (v: unknown, depth: number): string => {
    if (v === undefined) return 'nothing';
    if (v === null || typeof v !== 'object')
      return typeof v === 'string' ? JSON.stringify(v.length > maxChars ? `${v.slice(0, maxChars)}…` : v) : String(JSON.stringify(v) ?? typeof v);
    if (depth >= 2) return Array.isArray(v) ? '[…]' : '{…}';
    if (Array.isArray(v))
      return `[${v
        .slice(0, 4)
        .map((x) => render(x, depth + 1))
        .join(',')}${v.length > 4 ? ',…' : ''}]`;
    const keys = Object.keys(v).slice(0, 4);
    return `{${keys.map((k) => `${JSON.stringify(k.slice(0, 40))}:${render((v as Record<string, unknown>)[k], depth + 1)}`).join(',')}${Object.keys(v).length > 4 ? ',…' : ''}}`;
  };
  const text = render(value, 0);
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

/**
 * Reads a file as JSON. A file that cannot be read, or is not JSON, is a ConfigError that names
 * the file and what it was meant to be (`what` is also the error's field).
 */
export async function readJsonFile(file: string, what: string, code: ErrorCode = ErrorCode.CONFIG): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw configError(code, what, `cannot read the ${what} file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw configError(code, what, `the ${what} file must be valid JSON (${(error as Error).message})`, file);
  }
  const proto = protoKeyPath(parsed, '');
  if (proto !== undefined) throw configError(code, proto, `${proto} is not a known field, got "__proto__" (refused anywhere in a config)`, file);
  return parsed;
}

/**
 * Where the parsed JSON has a `__proto__` key, if anywhere. JSON.parse keeps it as an own key,
 * but copying it into an object (as a schema's record does) sets the copy's prototype instead:
 * the key would vanish without a word where every other unknown key is refused.
 */
function protoKeyPath(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (key === '__proto__' && !Array.isArray(value)) return here;
    const inner = protoKeyPath(child, here);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function configError(code: ErrorCode, field: string, message: string, file: string): ValidationError {
  return code === ErrorCode.CONFIG ? new ConfigError(field, message, file) : new ValidationError(code, field, `${file}: ${message}`);
}

/**
 * Validates already-parsed input with `schema`; the error names the field, the rule and the
 * file. `at` is where the input sits in its file (`gate` for the gate section of a project
 * config), so that the field is named as the user wrote it.
 */
export function parseConfig<S extends z.ZodType>(input: unknown, schema: S, file?: string, at?: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, input, 'the file', at);
    throw new ConfigError(issue.field, issue.message, file);
  }
  return parsed.data;
}

/** The one way a JSON config file is read: parsed, then validated with `schema`. */
export async function readJsonConfig<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  return parseConfig(await readJsonFile(file, what), schema, file);
}
