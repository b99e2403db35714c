/** productpage's HTML (escaped; star markup keeps the sample's `full stars` marker). */
import { escapeHtml as e, page } from '@tsmesh/demo-kit';
import type { Outcome, ReviewsDoc } from './upstreams';

export const PRODUCTS = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

function stars(rating: { stars?: number; color?: string; error?: string } | undefined): string {
  if (!rating) return '';
  if (rating.error) return `<p class="error">${e(rating.error)}</p>`;
  const n = Math.max(0, Math.min(5, rating.stars ?? 0));
  const color = rating.color === 'red' ? 'red' : 'black';
  return `<!-- full stars: --><font color="${color}">${'&#9733;'.repeat(n)}</font><!-- empty stars: --><font color="${color}">${'&#9734;'.repeat(5 - n)}</font>`;
}

export function renderIndex(): string {
  return page(
    'Simple Bookstore App',
    `<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<p><a href="/productpage?u=normal">Normal user</a> | <a href="/productpage?u=test">Test user</a></p>`,
  );
}

export function renderProductPage(user: string, details: Outcome<unknown>, reviews: Outcome<ReviewsDoc>): string {
  const product = PRODUCTS[0];
  const login = user
    ? `<p>signed in as <b>${e(user)}</b> <a href="/logout">sign out</a></p>`
    : `<form method="POST" action="/login"><input name="username" placeholder="User Name"><input type="password" name="passwd"><button type="submit">Sign in</button></form>`;
  const detailsHtml = details.ok
    ? `<dl>${Object.entries(details.value as Record<string, unknown>)
        .filter(([k]) => k !== 'id')
        .map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`)
        .join('')}</dl>`
    : `<h4 class="error">Error fetching product details!</h4><p class="error">${e(details.error)}</p>`;
  const reviewsHtml = reviews.ok
    ? reviews.value.reviews
        .map((r) => `<blockquote><p>${e(r.text)}</p><small>${e(r.reviewer)}</small>${stars(r.rating)}</blockquote>`)
        .join('\n') + `<dl><dt>Reviews served by:</dt><dd><u>${e(reviews.value.podname ?? '')}</u></dd></dl>`
    : `<h4 class="error">Error fetching product reviews!</h4><p class="error">${e(reviews.error)}</p>`;
  return page(
    'Simple Bookstore App',
    `<nav><a href="/">BookInfo Sample</a></nav>${login}
<h3>${e(product.title)}</h3><p>${product.descriptionHtml}</p>
<h4>Book Details</h4>${detailsHtml}
<h4>Book Reviews</h4>${reviewsHtml}`,
  );
}
