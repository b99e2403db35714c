import { readFileSync, writeFileSync, existsSync } from 'node:fs';

/**
 * Generated sections of a Markdown file live between `<!-- kind:name:begin -->`
 * and `<!-- kind:name:end -->`. `syncDocSection` returns the differences (empty
 * when in step) or, with `write`, rewrites the section in place. Components call
 * it from a test so docs/errors.md and docs/config.md cannot drift from code.
 */
export function syncDocSection(
  file: string,
  rendered: string,
  write = process.env['UPDATE_DOCS'] === '1',
): string | null {
  const begin = rendered.split('\n')[0];
  const endMarker = begin.replace(':begin -->', ':end -->');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = text.indexOf(begin);
  const end = text.indexOf(endMarker);
  const current = start >= 0 && end > start ? text.slice(start, end + endMarker.length) : null;
  if (current === rendered) return null;
  if (write) {
    const next =
      current === null
        ? `${text.trimEnd()}\n\n${rendered}\n`
        : text.slice(0, start) + rendered + text.slice(end + endMarker.length);
    writeFileSync(file, next);
    return null;
  }
  return current === null
    ? `${file} has no section ${begin}; run the test with UPDATE_DOCS=1`
    : `${file} section ${begin} is out of date; run the test with UPDATE_DOCS=1`;
}
