/**
 * The order feed the shop demo polls: an Atom feed whose entries link to each
 * order's JSON. A small writer and a tolerant reader (only what the demo needs).
 */
export interface FeedEntry {
  id: string;
  title: string;
  updated: string;
  /** Absolute or path URL of the entry's JSON document. */
  href: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unesc = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&');

export function renderAtomFeed(feed: { id: string; title: string; updated: string; entries: FeedEntry[] }): string {
  const entries = feed.entries
    .map(
      (e) =>
        `  <entry>\n    <id>${esc(e.id)}</id>\n    <title>${esc(e.title)}</title>\n    <updated>${esc(e.updated)}</updated>\n` +
        `    <content type="application/json" src="${esc(e.href)}"/>\n    <link rel="alternate" type="application/json" href="${esc(e.href)}"/>\n  </entry>`,
    )
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n` +
    `  <id>${esc(feed.id)}</id>\n  <title>${esc(feed.title)}</title>\n  <updated>${esc(feed.updated)}</updated>\n` +
    `${entries}\n</feed>\n`
  );
}

function tag(xml: string, name: string): string {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? unesc(m[1].trim()) : '';
}

export function parseAtomFeed(xml: string): { updated: string; entries: FeedEntry[] } {
  if (!/<feed[\s>]/.test(xml)) throw new Error('not an Atom feed');
  const entries: FeedEntry[] = [];
  for (const m of xml.matchAll(/<entry>([\s\S]*?)<\/entry>/g)) {
    const body = m[1];
    const src = /<content[^>]*\ssrc="([^"]*)"/.exec(body) ?? /<link[^>]*\shref="([^"]*)"/.exec(body);
    entries.push({
      id: tag(body, 'id'),
      title: tag(body, 'title'),
      updated: tag(body, 'updated'),
      href: src ? unesc(src[1]) : '',
    });
  }
  const head = xml.split('<entry>')[0];
  return { updated: tag(head, 'updated'), entries };
}
