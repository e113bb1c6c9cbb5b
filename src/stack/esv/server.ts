// An ESV-API-compatible passage text server for the local stack: GET /v3/passage/text/?q=...
// answered as api.esv.org answers (query, canonical, parsed, passage_meta, passages), from a
// small bundled public-domain text (World English Bible), with the ESV's own limits
// (60/min, 1,000/h, 5,000/day, 500 verses per query) answered with 429 / 400 as it does.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalName, parseReference, splitVerseId, verseId } from '../../../supabase/functions/_shared/reference.ts';
import { serveWebHandler, type NodeServer } from '../http.ts';
import { REPO_ROOT } from '../migrate.ts';

export const BUNDLED_TEXT = path.join(REPO_ROOT, 'src', 'stack', 'esv', 'web.json');

type Bundle = { translation: string; verses: Record<string, string> };

export type EsvServerOptions = {
  port?: number;
  /** When set, requests must carry `Authorization: Token <apiKey>`. */
  apiKey?: string;
  limits?: { perMinute?: number; perHour?: number; perDay?: number; versesPerQuery?: number };
  /** Answer every verse of a readable reference (a generated text where the bundle has none), for counting queries at scale. */
  everyVerse?: boolean;
};

export type EsvServer = {
  /** Base URL to give the function as ESV_API_URL. */
  url: string;
  /** Every passage text query answered or refused, oldest first. */
  readonly queries: ReadonlyArray<{ q: string; status: number; at: number }>;
  /**
   * Test faults: `down` answers 503 to everything; `throttle` answers the next n queries with 429;
   * `maxUrlLength` answers 414 to longer request URLs, as a web server in front of the ESV may.
   */
  faults: { down: boolean; throttle: number; retryAfterSeconds: number; maxUrlLength: number | null };
  /** Forgets the queries counted against its own limits (as if a day had passed). */
  resetLimits(): void;
  close(): Promise<void>;
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

const truthy = (value: string | null, fallback: boolean) => (value === null ? fallback : !/^(false|0|no)$/i.test(value));

/** Starts the server on 127.0.0.1 (a free port unless `port` is given). */
export async function startEsvServer(options: EsvServerOptions = {}): Promise<EsvServer> {
  const bundle = JSON.parse(readFileSync(BUNDLED_TEXT, 'utf8')) as Bundle;
  const ids = Object.keys(bundle.verses).map(Number).sort((a, b) => a - b);
  const perMinute = options.limits?.perMinute ?? 60;
  const perHour = options.limits?.perHour ?? 1000;
  const perDay = options.limits?.perDay ?? 5000;
  const versesPerQuery = options.limits?.versesPerQuery ?? 500;
  const queries: Array<{ q: string; status: number; at: number }> = [];
  const answered: number[] = []; // times of answered queries, for the ESV's own limits
  const faults: EsvServer['faults'] = { down: false, throttle: 0, retryAfterSeconds: 60, maxUrlLength: null };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (!/^\/v3\/passage\/text\/?$/.test(url.pathname)) return json(404, { detail: 'Not found.' });
    if (req.method !== 'GET') return json(405, { detail: `Method "${req.method}" not allowed.` });
    const q = url.searchParams.get('q') ?? '';
    const now = Date.now();
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      queries.push({ q, status, at: now });
      return json(status, body, headers);
    };
    if (faults.down) return answer(503, { detail: 'Service unavailable.' });
    if (faults.maxUrlLength !== null && req.url.length > faults.maxUrlLength) return answer(414, { detail: 'Request-URI Too Long' });
    if (options.apiKey && req.headers.get('authorization') !== `Token ${options.apiKey}`) {
      return answer(401, { detail: 'Invalid token.' });
    }
    const windows: Array<[number, number]> = [[60_000, perMinute], [3_600_000, perHour], [86_400_000, perDay]];
    let wait = 0;
    for (const [span, limit] of windows) {
      const inside = answered.filter((t) => t > now - span);
      if (inside.length >= limit) wait = Math.max(wait, Math.ceil((inside[inside.length - limit] + span - now) / 1000));
    }
    if (faults.throttle > 0) {
      faults.throttle -= 1;
      wait = Math.max(wait, faults.retryAfterSeconds);
    }
    if (wait > 0) {
      return answer(429, { detail: `Request was throttled. Expected available in ${wait} seconds.` }, { 'Retry-After': String(wait) });
    }
    if (!q.trim()) return answer(400, { detail: 'No passage query was given (use ?q=John+3:16).' });

    const parsed: Array<[number, number]> = [];
    const meta: unknown[] = [];
    const passages: string[] = [];
    const canonicals: string[] = [];
    const numbers = truthy(url.searchParams.get('include-verse-numbers'), true);
    const references = truthy(url.searchParams.get('include-passage-references'), true);
    const copyright = truthy(url.searchParams.get('include-short-copyright'), true);
    let verseCount = 0;
    for (const part of q.split(';')) {
      const ref = parseReference(part);
      if (!ref) continue; // the ESV leaves out what it cannot read
      const inside = options.everyVerse && !ref.wholeChapters
        ? Array.from({ length: ref.end - ref.start + 1 }, (_, i) => ref.start + i)
        : ids.filter((id) => id >= ref.start && id <= ref.end);
      if (inside.length === 0) continue; // and what it does not hold
      // A whole chapter reads from its first verse to the last one the bundle holds.
      const start = ref.start;
      const end = ref.wholeChapters ? inside[inside.length - 1] : ref.end;
      const missing = !ref.wholeChapters && inside.length !== end - start + 1 && splitVerseId(start).chapter === splitVerseId(end).chapter;
      if (missing) continue; // a range the bundle holds only in part
      verseCount += inside.length;
      const canonical = canonicalName(start, end, ref.wholeChapters);
      const { book, chapter } = splitVerseId(start);
      parsed.push([start, end]);
      canonicals.push(canonical);
      meta.push({
        canonical,
        chapter_start: [verseId(book, chapter, 1), verseId(book, chapter, 999)],
        chapter_end: [verseId(book, splitVerseId(end).chapter, 1), verseId(book, splitVerseId(end).chapter, 999)],
        prev_verse: start - 1,
        next_verse: end + 1,
        prev_chapter: null,
        next_chapter: null,
      });
      const text = (id: number) => bundle.verses[id] ?? `Verse ${splitVerseId(id).verse} of chapter ${splitVerseId(id).chapter}.`;
      const body = inside.map((id) => `${numbers ? `[${splitVerseId(id).verse}] ` : ''}${text(id)}`).join(' ');
      passages.push(`${references ? `${canonical}\n\n` : ''}${body}${copyright ? ` (${bundle.translation})` : ''}`);
    }
    if (verseCount > versesPerQuery) {
      return answer(400, { detail: `A query may hold at most ${versesPerQuery} verses; this one holds ${verseCount}.` });
    }
    answered.push(now);
    return answer(200, { query: q, canonical: canonicals.join('; '), parsed, passage_meta: meta, passages });
  };

  const server: NodeServer = await serveWebHandler(handler, options.port ?? 0);
  return { url: server.url, queries, faults, resetLimits: () => void answered.splice(0), close: () => server.close() };
}
