// What the runner knows for sure: every op a page committed and reported, in the
// order each client issued them, and the calls a kill left in doubt.
import type { ChaosCommand, CommittedOp, OutboxState } from './protocol.ts';

export type OracleOp = CommittedOp & {
  client: string;
  /** The user whose token the issuing client holds. */
  tokenUser: string;
  /** Position in the issuing client's own sequence. */
  index: number;
};

/** A call cut by a kill: it may or may not have committed (at most `maxOps` ops). */
export type InDoubtCall = { client: string; tokenUser: string; command: ChaosCommand; maxOps: number };

export type BrowserReset = { client: string; throughIndex: number; chromiumSaid: string };

export type ClientOutcome = { name: string; userId: string; outbox: OutboxState | null };

export class Oracle {
  readonly ops: OracleOp[] = [];
  readonly inDoubt: InDoubtCall[] = [];
  /** Cards the page refused as missing or deleted while no kill could explain it. */
  readonly unexplainedRefusals: Array<{ client: string; cardId: string; code: string }> = [];
  /**
   * A killed Chromium that came back having deleted the client's IndexedDB as corrupt, in its own
   * words: what the client had committed up to `throughIndex` and not yet synced went with it.
   */
  readonly browserResets: BrowserReset[] = [];
  private readonly counters = new Map<string, number>();

  /** How many ops `client` has committed so far (the index of its latest). */
  committedBy(client: string): number {
    return this.counters.get(client) ?? 0;
  }

  /** The reset that took `op` from its device before it was synced, if any. */
  resetOf(op: Pick<OracleOp, 'client' | 'index'>): BrowserReset | undefined {
    return this.browserResets.find((reset) => reset.client === op.client && op.index <= reset.throughIndex);
  }

  record(client: string, tokenUser: string, ops: CommittedOp[]): void {
    for (const op of ops) {
      const index = (this.counters.get(client) ?? 0) + 1;
      this.counters.set(client, index);
      this.ops.push({ ...op, client, tokenUser, index });
    }
  }
}

/** How many ops a command commits when it succeeds. */
export function opsOf(command: ChaosCommand): number {
  return command.kind === 'createCards' ? command.references.length : 1;
}
