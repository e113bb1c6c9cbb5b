// The ESV API passage text endpoint, asked as few times as the ESV's conditions allow:
// all references of a batch in one query joined with ';', split only at 500 verses.
// The shared budget (60/min, 1,000/h, 5,000/day) is taken from Postgres before each query.
import { parseReference, verseBudget } from '../_shared/reference.ts';

export const ESV_DEFAULT_URL = 'https://api.esv.org';
export const ESV_MAX_VERSES_PER_QUERY = 500;

export type EsvConfig = {
  /** Base URL: https://api.esv.org, or the local stack's ESV-compatible server. */
  url: string;
  /** Sent as `Authorization: Token <apiKey>`; never logged. */
  apiKey?: string;
  /** ESV texts kept in the catalogue (the ESV allows 500); least recently used go first. */
  storageCap?: number;
  timeoutMs?: number;
  /** Pending texts of the caller's cards asked for again with each batch, at most (default 20). */
  refillPerBatch?: number;
  /**
   * Pending placeholders one user's cards may wait on (default 200). Past it, a new reference the
   * ESV cannot be asked about now is stored without ESV text, so one user's flood neither fills
   * the catalogue with placeholders nor makes every later batch re-ask them.
   */
  maxPendingPerUser?: number;
};

/** Reads ESV_API_URL, ESV_API_KEY, ESV_STORAGE_CAP; no ESV without a URL or a key. */
export function esvConfigFromEnv(get: (name: string) => string | undefined): EsvConfig | undefined {
  const apiKey = get('ESV_API_KEY') || undefined;
  const url = get('ESV_API_URL') || (apiKey ? ESV_DEFAULT_URL : undefined);
  if (!url) return undefined;
  const cap = Number(get('ESV_STORAGE_CAP'));
  return { url, apiKey, storageCap: Number.isInteger(cap) && cap >= 0 && get('ESV_STORAGE_CAP') ? cap : undefined };
}

export type Token = { granted: true } | { granted: false; reason: string; retryAfterSeconds: number };

/** What the ESV said about one reference as typed. */
export type EsvOutcome =
  | { kind: 'text'; reference: string; text: string }
  | { kind: 'unknown'; message: string }
  | { kind: 'pending'; reason: string };

export type EsvLookup = {
  outcomes: Map<string, EsvOutcome>;
  /** Queries sent to the ESV (each took a token). */
  queries: number;
};

export type EsvDeps = {
  takeToken(): Promise<Token>;
  throttled(retryAfterSeconds: number): Promise<void>;
  fetch?: typeof fetch;
  log?: (line: string) => void;
};

/** Splits references into queries of at most 500 verses each, in order (a whole chapter counts 176). */
export function groupForQueries(references: string[], maxVerses = ESV_MAX_VERSES_PER_QUERY): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let verses = 0;
  for (const reference of references) {
    const cost = Math.min(verseBudget(parseReference(reference)), maxVerses);
    if (current.length > 0 && verses + cost > maxVerses) {
      groups.push(current);
      current = [];
      verses = 0;
    }
    current.push(reference);
    verses += cost;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

type PassageAnswer = { canonical?: unknown; parsed?: unknown; passage_meta?: unknown; passages?: unknown; detail?: unknown };

// The ESV's `parsed` ranges back to the references that asked for them: by verse range where
// the reference reads here, else in order among the rest when the counts leave no doubt.
function matchAnswer(references: string[], answer: PassageAnswer): Map<string, EsvOutcome> {
  const parsed = Array.isArray(answer.parsed) ? (answer.parsed as Array<[number, number]>) : [];
  const passages = Array.isArray(answer.passages) ? (answer.passages as string[]) : [];
  const meta = Array.isArray(answer.passage_meta) ? (answer.passage_meta as Array<{ canonical?: string }>) : [];
  const used = new Set<number>();
  const matched = new Map<string, number>();
  for (const reference of references) {
    const local = parseReference(reference);
    if (!local) continue;
    const index = parsed.findIndex(
      (range, i) => !used.has(i) && Array.isArray(range) && range[0] === local.start && (local.wholeChapters || range[1] === local.end),
    );
    if (index >= 0) {
      used.add(index);
      matched.set(reference, index);
    }
  }
  const restRefs = references.filter((r) => !matched.has(r) && !parseReference(r));
  const restIdx = parsed.map((_, i) => i).filter((i) => !used.has(i));
  if (restRefs.length > 0 && restRefs.length === restIdx.length) restRefs.forEach((r, k) => matched.set(r, restIdx[k]));

  const outcomes = new Map<string, EsvOutcome>();
  for (const reference of references) {
    const index = matched.get(reference);
    const text = index === undefined ? undefined : passages[index];
    const canonical = index === undefined ? undefined : meta[index]?.canonical;
    if (index !== undefined && typeof text === 'string' && text.trim() && typeof canonical === 'string' && canonical) {
      outcomes.set(reference, { kind: 'text', reference: canonical, text: text.trim() });
    } else {
      const said = typeof answer.detail === 'string' ? answer.detail : `it found no passage for '${reference}'`;
      outcomes.set(reference, { kind: 'unknown', message: `the ESV API does not know this reference: ${said}` });
    }
  }
  return outcomes;
}

function retryAfterOf(res: Response, body: PassageAnswer): number {
  const header = Number(res.headers.get('retry-after'));
  if (Number.isFinite(header) && header > 0) return Math.ceil(header);
  const said = typeof body.detail === 'string' ? /(\d+)\s*seconds?/.exec(body.detail) : null;
  return said ? Number(said[1]) : 60;
}

/** Looks the references up, one ESV query per group of 500 verses, within the shared budget. */
export async function lookUpReferences(config: EsvConfig, references: string[], deps: EsvDeps): Promise<EsvLookup> {
  const outcomes = new Map<string, EsvOutcome>();
  const doFetch = deps.fetch ?? fetch;
  const log = deps.log ?? (() => {});
  let queries = 0;
  let stop: string | undefined; // once the budget or the ESV says no, the rest of the batch waits too
  // Spellings of one range ('rom 8:28', 'Romans 8:28') are asked once and share the answer.
  const asked = new Map<string, string>(); // range → the spelling sent
  const sameAs = new Map<string, string>(); // spelling → the spelling sent for its range
  for (const reference of new Set(references)) {
    const parsed = parseReference(reference);
    const range = parsed ? `${parsed.start}-${parsed.end}` : `?${reference}`;
    if (!asked.has(range)) asked.set(range, reference);
    sameAs.set(reference, asked.get(range)!);
  }
  const lookup = await lookUpDistinct([...asked.values()]);
  sameAs.forEach((sent, reference) => {
    const outcome = lookup.get(sent);
    if (outcome) outcomes.set(reference, outcome);
  });
  return { outcomes, queries };

  async function lookUpDistinct(distinct: string[]): Promise<Map<string, EsvOutcome>> {
    const outcomes = new Map<string, EsvOutcome>();
    const groups = groupForQueries(distinct);
    while (groups.length > 0) {
      const group = groups.shift()!;
      if (!stop) {
        const token = await deps.takeToken();
        if (!token.granted) stop = `ESV budget spent (${token.reason}); retry in ${token.retryAfterSeconds} s`;
      }
      if (stop) {
        group.forEach((r) => outcomes.set(r, { kind: 'pending', reason: stop! }));
        continue;
      }
      queries += 1;
      const url = new URL('/v3/passage/text/', config.url);
      url.searchParams.set('q', group.join(';'));
      url.searchParams.set('include-passage-references', 'false');
      url.searchParams.set('include-headings', 'false');
      url.searchParams.set('include-footnotes', 'false');
      url.searchParams.set('include-verse-numbers', 'false');
      url.searchParams.set('include-short-copyright', 'true');
      let res: Response;
      let body: PassageAnswer;
      try {
        res = await doFetch(url, {
          headers: config.apiKey ? { Authorization: `Token ${config.apiKey}` } : {},
          signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
        });
        body = (await res.json().catch(() => ({}))) as PassageAnswer;
      } catch (error) {
        stop = `ESV unreachable: ${(error as Error)?.name ?? 'error'}`;
        log(`verse-operations: ${stop}`);
        group.forEach((r) => outcomes.set(r, { kind: 'pending', reason: stop! }));
        continue;
      }
      if (res.status === 429) {
        const seconds = retryAfterOf(res, body);
        await deps.throttled(seconds);
        stop = `ESV answered 429; retry in ${seconds} s`;
      } else if ((res.status === 414 || res.status === 400) && group.length > 1) {
        // A query string longer than the ESV's server takes, or one it refuses as a whole:
        // halves, each its own query, until a refusal names the one reference it is about.
        const half = Math.ceil(group.length / 2);
        groups.unshift(group.slice(0, half), group.slice(half));
        continue;
      } else if (res.status === 400 && group.length === 1) {
        // The ESV refused this one reference outright: its own words go to the user.
        matchAnswer(group, body).forEach((o, r) => outcomes.set(r, o));
        continue;
      } else if (!res.ok) {
        stop = `ESV answered ${res.status}`;
      }
      if (stop) {
        log(`verse-operations: ${stop}`);
        group.forEach((r) => outcomes.set(r, { kind: 'pending', reason: stop! }));
        continue;
      }
      matchAnswer(group, body).forEach((o, r) => outcomes.set(r, o));
    }
    return outcomes;
  }
}
