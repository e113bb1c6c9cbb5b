// Picks the browser once for the whole run, before the workers start: they inherit the pick
// (and the unpacked binary), so the choice and its version are printed once.
import { pickBrowser } from '../../src/dev/browser.ts';

export default async function pickBrowserOnce(): Promise<void> {
  await pickBrowser();
}
