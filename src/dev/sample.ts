// The bundled sample text's references, in Bible order, for the demo's bulk add: real verses the
// local ESV stand-in knows, so bulk cards read as verses and get their text with the batch's answer.
import { readFileSync } from 'node:fs';
import { canonicalName } from '../../supabase/functions/_shared/reference.ts';
import { BUNDLED_TEXT } from '../stack/esv/server.ts';

export type SampleVerse = { reference: string; text: string };

let cached: SampleVerse[] | undefined;

/** Every verse of the bundled sample, in Bible order. */
export function sampleVerses(): SampleVerse[] {
  if (cached) return cached;
  const bundle = JSON.parse(readFileSync(BUNDLED_TEXT, 'utf8')) as { verses: Record<string, string> };
  cached = Object.entries(bundle.verses)
    .map(([id, text]) => ({ id: Number(id), text }))
    .sort((a, b) => a.id - b.id)
    .map(({ id, text }) => ({ reference: canonicalName(id, id), text }));
  return cached;
}
