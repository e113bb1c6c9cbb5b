// What the page says after an action: a success in green (role="status"), a refusal in red
// (role="alert", announced at once), so a failure never reads as a success.
export type Outcome = { ok: true; text: string } | { ok: false; text: string };

export function OutcomeMessage({ outcome }: { outcome: Outcome | null }) {
  if (!outcome) return null;
  return outcome.ok ? (
    <p role="status" className="message message-ok">
      {outcome.text}
    </p>
  ) : (
    <p role="alert" className="message message-error">
      {outcome.text}
    </p>
  );
}

/** Runs `write`; the outcome is `done` on success, else what went wrong, in the refusal's own words. */
export async function attempt(done: string, failed: string, write: () => Promise<unknown>): Promise<Outcome> {
  try {
    await write();
    return { ok: true, text: done };
  } catch (e) {
    return { ok: false, text: `${failed}: ${(e as Error).message}` };
  }
}
