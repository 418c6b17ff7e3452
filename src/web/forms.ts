/** A text field of an urlencoded form body; anything else (missing, repeated, not a string) reads as ''. */
export function formField(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/** Redirect URIs typed one per line: blank lines and surrounding spaces are dropped. */
export function linesOf(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
