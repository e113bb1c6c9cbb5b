// The one way the app builds its supabase-js client: the user's access token
// comes from a callback, so a refreshed session is used on the next request.
import { createClient, type SupabaseClient } from '@supabase/supabase-js';

export type SupabaseClientOptions = {
  url: string;
  anonKey: string;
  /** The signed-in user's current access token. */
  accessToken: () => Promise<string | null>;
  /** A WebSocket class where the runtime has none (Node 20); supabase-js needs one to construct. */
  webSocket?: unknown;
  fetch?: typeof fetch;
};

/** Creates the supabase-js client verses-sync sends its batches through. */
export function createSupabaseClient(options: SupabaseClientOptions): SupabaseClient {
  return createClient(options.url, options.anonKey, {
    accessToken: options.accessToken,
    global: options.fetch ? { fetch: options.fetch } : undefined,
    realtime: options.webSocket ? { transport: options.webSocket as never } : undefined,
  });
}
