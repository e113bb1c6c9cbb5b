// Stands in for Supabase Auth: the page is opened with `#user=<uuid>&token=<jwt>&anonKey=<key>`
// (the test mints them from the local stack). A real app reads its session from supabase.auth.

export type Session = { userId: string; accessToken: string; anonKey: string; url: string };

/** The session in the page's address, or null when it carries none. */
export function sessionFromLocation(location: Location): Session | null {
  const params = new URLSearchParams(location.hash.slice(1));
  const userId = params.get('user');
  const accessToken = params.get('token');
  const anonKey = params.get('anonKey') ?? import.meta.env.VITE_SUPABASE_ANON_KEY;
  if (!userId || !accessToken || !anonKey) return null;
  return { userId, accessToken, anonKey, url: import.meta.env.VITE_SUPABASE_URL ?? location.origin };
}
