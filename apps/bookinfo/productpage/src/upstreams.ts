/**
 * productpage's calls to details, reviews and ratings, each with its own
 * timeout (3 s, as upstream) and, for reviews only, one retry. Failures become
 * the texts the sample shows instead of throwing.
 */
import { getJson } from '@tsmesh/demo-kit';

export const DETAILS_UNAVAILABLE = 'Sorry, product details are currently unavailable for this book.';
export const REVIEWS_UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';
export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

export interface Upstreams {
  detailsUrl: string;
  reviewsUrl: string;
  ratingsUrl: string;
  timeoutMs: number;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

async function attempt<T>(url: string, headers: Record<string, string>, timeoutMs: number, tries: number): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await getJson<T>(url, { headers, timeoutMs });
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

export async function fetchDetails(
  u: Upstreams,
  id: number,
  headers: Record<string, string>,
): Promise<Outcome<unknown>> {
  try {
    return { ok: true, value: await attempt(`${u.detailsUrl}/details/${id}`, headers, u.timeoutMs, 1) };
  } catch {
    return { ok: false, error: DETAILS_UNAVAILABLE };
  }
}

export interface ReviewsDoc {
  id: string;
  podname?: string;
  clustername?: string;
  reviews: { reviewer: string; text: string; rating?: { stars?: number; color?: string; error?: string } }[];
}

export async function fetchReviews(
  u: Upstreams,
  id: number,
  headers: Record<string, string>,
): Promise<Outcome<ReviewsDoc>> {
  try {
    return { ok: true, value: await attempt<ReviewsDoc>(`${u.reviewsUrl}/reviews/${id}`, headers, u.timeoutMs, 2) };
  } catch {
    return { ok: false, error: REVIEWS_UNAVAILABLE };
  }
}

export async function fetchRatings(
  u: Upstreams,
  id: number,
  headers: Record<string, string>,
): Promise<Outcome<unknown>> {
  try {
    return { ok: true, value: await attempt(`${u.ratingsUrl}/ratings/${id}`, headers, u.timeoutMs, 1) };
  } catch {
    return { ok: false, error: RATINGS_UNAVAILABLE };
  }
}
