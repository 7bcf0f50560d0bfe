import { readFileSync } from 'node:fs';

/**
 * A JSON document given inline in `NAME` or in the file named by `NAME_FILE`
 * (one of them, not both): the parsed value and the variable it came from,
 * or undefined when neither is set or a problem was pushed. No message quotes
 * the text: these documents hold secrets, and start-up errors end up in logs
 * (JSON.parse's own message quotes the text around the error).
 */
export function readSecretJson(env: Record<string, string | undefined>, name: string, expected: string, problems: string[]): { parsed: unknown; from: string } | undefined {
  const inline = env[name]?.trim() || undefined;
  const file = env[`${name}_FILE`]?.trim() || undefined;
  if (inline && file) {
    problems.push(`${name} and ${name}_FILE are both set: use one of them`);
    return undefined;
  }
  if (!inline && !file) return undefined;
  const from = inline ? name : `${name}_FILE`;
  let text = inline;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
  try {
    return { parsed: JSON.parse(text!), from };
  } catch {
    problems.push(`${from}: not valid JSON (expected ${expected})`);
    return undefined;
  }
}
