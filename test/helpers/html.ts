import { decodeEntities } from './web-agent.js';

/** Text of the element with this id (entities decoded), or null. Enough for keyfob's own simple markup. */
export function textById(html: string, id: string): string | null {
  const m = new RegExp(`<([a-z0-9]+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return m ? decodeEntities(m[2]!.replace(/<[^>]+>/g, '').trim()) : null;
}

/** The opening tag of the element with this id, or null. */
export function tagById(html: string, id: string): string | null {
  const m = new RegExp(`<[a-z0-9]+[^>]*\\bid="${id}"[^>]*>`).exec(html);
  return m ? m[0] : null;
}

/**
 * Asserts-friendly view of a form field's error: the control is aria-invalid, points at an
 * error element with aria-describedby, and that element exists. Returns the error text or null.
 */
export function fieldError(html: string, controlId: string): { invalid: boolean; describedBy: string[]; text: string | null } {
  const tag = tagById(html, controlId) ?? '';
  const describedBy = /aria-describedby="([^"]*)"/.exec(tag)?.[1]?.split(/\s+/) ?? [];
  return { invalid: /aria-invalid="true"/.test(tag), describedBy, text: textById(html, `${controlId}-error`) };
}

/** Every <label for="..."> target in a page. */
export function labelledIds(html: string): Set<string> {
  return new Set([...html.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]!));
}

/** Ids of every visible form control (input other than hidden, textarea, select). */
export function controlIds(html: string): string[] {
  const ids: string[] = [];
  for (const m of html.matchAll(/<(input|textarea|select)\b([^>]*)>/g)) {
    if (/type="hidden"/.test(m[2]!)) continue;
    ids.push(/\bid="([^"]+)"/.exec(m[2]!)?.[1] ?? '(no id)');
  }
  return ids;
}
