// Bible references in the ESV's numbering: book names and abbreviations, and verse ids
// BBCCCVVV as the ESV API's `parsed` answer gives them. One module for every side: the
// client refuses a reference it cannot parse before anything is written (referenceProblem),
// the function matches the ESV's `parsed` ranges back to the references a batch asked for
// (the ESV's `canonical` stays the name of record), and the local ESV-compatible server parses with it.

/** The 66 books in order; the first name is the ESV's canonical one. */
const BOOKS: ReadonlyArray<readonly string[]> = [
  ['Genesis', 'gen', 'ge', 'gn'], ['Exodus', 'exod', 'exo', 'ex'], ['Leviticus', 'lev', 'le', 'lv'],
  ['Numbers', 'num', 'nu', 'nm'], ['Deuteronomy', 'deut', 'deu', 'dt'], ['Joshua', 'josh', 'jos'],
  ['Judges', 'judg', 'jdg'], ['Ruth', 'ru', 'rth'], ['1 Samuel', '1sam', '1sa', '1sm'], ['2 Samuel', '2sam', '2sa', '2sm'],
  ['1 Kings', '1kgs', '1ki', '1kg'], ['2 Kings', '2kgs', '2ki', '2kg'], ['1 Chronicles', '1chr', '1ch'],
  ['2 Chronicles', '2chr', '2ch'], ['Ezra', 'ezr'], ['Nehemiah', 'neh', 'ne'], ['Esther', 'esth', 'est', 'es'],
  ['Job', 'jb'], ['Psalm', 'psalms', 'ps', 'psa', 'pss', 'psm'], ['Proverbs', 'prov', 'pro', 'prv', 'pr'],
  ['Ecclesiastes', 'eccl', 'ecc', 'ec', 'qoh'], ['Song of Solomon', 'song', 'sos', 'so', 'songofsongs', 'canticles'],
  ['Isaiah', 'isa', 'is'], ['Jeremiah', 'jer', 'je'], ['Lamentations', 'lam', 'la'], ['Ezekiel', 'ezek', 'eze', 'ezk'],
  ['Daniel', 'dan', 'da', 'dn'], ['Hosea', 'hos', 'ho'], ['Joel', 'jl'], ['Amos', 'am'], ['Obadiah', 'obad', 'ob'],
  ['Jonah', 'jon', 'jnh'], ['Micah', 'mic', 'mi'], ['Nahum', 'nah', 'na'], ['Habakkuk', 'hab', 'hb'],
  ['Zephaniah', 'zeph', 'zep', 'zp'], ['Haggai', 'hag', 'hg'], ['Zechariah', 'zech', 'zec', 'zc'], ['Malachi', 'mal', 'ml'],
  ['Matthew', 'matt', 'mat', 'mt'], ['Mark', 'mrk', 'mar', 'mk', 'mr'], ['Luke', 'luk', 'lk'], ['John', 'jhn', 'joh', 'jn'],
  ['Acts', 'act', 'ac'], ['Romans', 'rom', 'ro', 'rm'], ['1 Corinthians', '1cor', '1co'], ['2 Corinthians', '2cor', '2co'],
  ['Galatians', 'gal', 'ga'], ['Ephesians', 'eph', 'ephes'], ['Philippians', 'phil', 'php', 'pp'],
  ['Colossians', 'col', 'co'], ['1 Thessalonians', '1thess', '1th'], ['2 Thessalonians', '2thess', '2th'],
  ['1 Timothy', '1tim', '1ti'], ['2 Timothy', '2tim', '2ti'], ['Titus', 'tit', 'ti'], ['Philemon', 'phlm', 'phm', 'philem'],
  ['Hebrews', 'heb'], ['James', 'jas', 'jm'], ['1 Peter', '1pet', '1pe', '1pt'], ['2 Peter', '2pet', '2pe', '2pt'],
  ['1 John', '1jn', '1jhn', '1jo'], ['2 John', '2jn', '2jhn', '2jo'], ['3 John', '3jn', '3jhn', '3jo'], ['Jude', 'jud', 'jd'],
  ['Revelation', 'rev', 're', 'rv', 'revelations'],
];

/** Books of one chapter: "Jude 3" means verse 3, as the ESV reads it. */
const ONE_CHAPTER = new Set([31, 57, 63, 64, 65]);

const squash = (s: string) => s.toLowerCase().replace(/[\s.]+/g, '');

const BY_NAME = new Map<string, number>();
BOOKS.forEach((names, i) => names.forEach((name) => BY_NAME.set(squash(name), i + 1)));

/** The book number (1-66) of a name or abbreviation, or null. */
export function bookNumber(name: string): number | null {
  const key = squash(name);
  if (!key) return null;
  const exact = BY_NAME.get(key);
  if (exact) return exact;
  // A longer prefix of one full name only ("phili" is ambiguous, "philip" is not).
  if (key.length < 3) return null;
  const hits = new Set<number>();
  BOOKS.forEach((names, i) => {
    if (squash(names[0]).startsWith(key)) hits.add(i + 1);
  });
  return hits.size === 1 ? [...hits][0] : null;
}

export const bookName = (book: number): string => BOOKS[book - 1][0];

export const verseId = (book: number, chapter: number, verse: number) => book * 1_000_000 + chapter * 1000 + verse;
export const splitVerseId = (id: number) => ({ book: Math.floor(id / 1_000_000), chapter: Math.floor(id / 1000) % 1000, verse: id % 1000 });

/** One reference as a verse range; `wholeChapters` when no verse was named (its end verse is unknown here). */
export type ParsedReference = { start: number; end: number; wholeChapters: boolean };

// book (with optional leading 1-3), chapter, optional verse, optional range end [chapter:]verse or chapter.
const PATTERN = /^([1-3]?\s*[a-z][a-z .]*?)\s*\.?\s*(\d{1,3})(?:\s*[:.\s]\s*(\d{1,3}))?(?:\s*[-–—]\s*(\d{1,3})(?:\s*[:.]\s*(\d{1,3}))?)?$/i;

/**
 * Why `input` is not a reference this parser (and so the function) can read, as a sentence a
 * person can act on; null when it is one. Whether the ESV knows that verse is the server's call.
 */
export function referenceProblem(input: string): string | null {
  const text = input.normalize('NFKC').trim().replace(/\s+/g, ' ');
  const m = PATTERN.exec(text);
  if (!m) return `"${text}" is not a verse reference; write the book, chapter and verse, such as "John 3:16" or "Ps 23"`;
  if (!bookNumber(m[1])) return `"${m[1].trim()}" is not a book of the Bible; check the spelling, such as "Isaiah" or "1 Cor"`;
  if (!parseReference(text)) return `"${text}" is not a valid passage: chapters and verses start at 1 and a range must not run backwards`;
  return null;
}

/** Parses one reference ("John 3:16", "jn3.16", "john 3 16", "Ps 23", "1 Cor 13:4-7"); null when it is not one. */
export function parseReference(input: string): ParsedReference | null {
  const text = input.normalize('NFKC').trim().replace(/\s+/g, ' ');
  const m = PATTERN.exec(text);
  if (!m) return null;
  const book = bookNumber(m[1]);
  if (!book) return null;
  let chapter = Number(m[2]);
  let verse = m[3] === undefined ? null : Number(m[3]);
  let endChapter: number | null = null;
  let endVerse: number | null = null;
  if (m[4] !== undefined) {
    if (m[5] !== undefined) {
      endChapter = Number(m[4]);
      endVerse = Number(m[5]);
    } else if (verse !== null) {
      endVerse = Number(m[4]);
    } else {
      endChapter = Number(m[4]);
    }
  }
  if (ONE_CHAPTER.has(book) && verse === null && endVerse === null) {
    // "Jude 3" and "Jude 3-5": verses of the only chapter.
    verse = chapter;
    endVerse = endChapter;
    endChapter = null;
    chapter = 1;
  }
  if (chapter < 1 || (verse !== null && verse < 1)) return null;
  if (verse === null) {
    const last = endChapter ?? chapter;
    if (last < chapter) return null;
    return { start: verseId(book, chapter, 1), end: verseId(book, last, 999), wholeChapters: true };
  }
  const start = verseId(book, chapter, verse);
  const end = verseId(book, endChapter ?? chapter, endVerse ?? verse);
  if (end < start) return null;
  return { start, end, wholeChapters: false };
}

/** The ESV's way of writing a range: "John 3:16", "John 3:16–18", "John 3:16–4:2", "Psalm 23", "Jude 3". */
export function canonicalName(start: number, end: number, wholeChapters = false): string {
  const a = splitVerseId(start);
  const b = splitVerseId(end);
  const name = bookName(a.book);
  if (ONE_CHAPTER.has(a.book)) return a.verse === b.verse ? `${name} ${a.verse}` : `${name} ${a.verse}–${b.verse}`;
  if (wholeChapters) return a.chapter === b.chapter ? `${name} ${a.chapter}` : `${name} ${a.chapter}–${b.chapter}`;
  if (start === end) return `${name} ${a.chapter}:${a.verse}`;
  if (a.chapter === b.chapter) return `${name} ${a.chapter}:${a.verse}–${b.verse}`;
  return `${name} ${a.chapter}:${a.verse}–${b.chapter}:${b.verse}`;
}

/** Verses a reference may hold, for the ESV's 500-verses-per-query limit (a whole chapter counts as 176, the longest). */
export function verseBudget(parsed: ParsedReference | null): number {
  if (!parsed) return 1;
  const a = splitVerseId(parsed.start);
  const b = splitVerseId(parsed.end);
  if (parsed.wholeChapters) return (b.chapter - a.chapter + 1) * 176;
  if (a.chapter === b.chapter) return b.verse - a.verse + 1;
  return (b.chapter - a.chapter + 1) * 176;
}
