// The latency probe: one cheap round trip to the function (a GET it answers 204 at once,
// before any auth or database work). Any HTTP answer is a sample; no answer is a failure.
import { FunctionsFetchError, FunctionsRelayError, type SupabaseClient } from '@supabase/supabase-js';

/** Returns a probe that resolves with the round trip in ms, or rejects when nothing answered. */
export function createLatencyProbe(client: SupabaseClient, functionName = 'verse-operations', now: () => number = () => performance.now()) {
  return async (): Promise<number> => {
    const started = now();
    const { error } = await client.functions.invoke(functionName, { method: 'GET' });
    if (error instanceof FunctionsFetchError || error instanceof FunctionsRelayError) {
      throw new Error(`latency probe failed: ${error.message}`);
    }
    return Math.round(now() - started);
  };
}
