/** Minimal HTML page helpers (escaped text, one layout) for the demo UIs. */
export function escapeHtml(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.error{color:#b00}</style>
</head><body>\n${body}\n</body></html>\n`;
}

/** True when the client asked for JSON (`Accept: application/json`) rather than HTML. */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return /application\/json/.test(accept) && !/text\/html/.test(accept.split(',')[0]);
}
