// What the runner asks a chaos client page to do, and what the page answers.
// Shared by chaos/run.ts (Node) and chaos/client/main.ts (the browser).

export type ProfileFields = { displayName: string; translation: string; dailyGoal: number };

export type ChaosCommand =
  | { kind: 'createCards'; references: string[] }
  | { kind: 'review'; cardId: string; correct: boolean }
  | { kind: 'alias'; cardId: string; alias: string }
  | { kind: 'profile'; patch: ProfileFields }
  | { kind: 'delete'; cardId: string };

/** One outbox operation a dataService call committed, read inside its own transaction. */
export type CommittedOp = {
  opId: string;
  type: string;
  localRecordId?: string;
  userId?: string;
  /** The card the op is about (CREATE, REVIEW, ALIAS, DELETE). */
  cardId?: string;
  /** Profile ops: the fields and updatedAt sent. */
  payload: Record<string, unknown>;
};

export type CommandOutcome =
  | { ok: true; ops: CommittedOp[] }
  | { ok: false; code: string; message: string };

export type OutboxState = {
  queued: number;
  inFlight: number;
  dead: Array<{ opId: string; type: string; code?: string; message?: string; cardId?: string }>;
  /** Cards this page holds as deleted (a delete a kill cut mid-call may have committed). */
  deletedCards: string[];
};

/** Query parameters of the client page. */
export type ClientParams = { url: string; anonKey: string; token: string; userId: string };

/** What the page puts on window for the runner. */
export type ChaosApi = {
  ready: Promise<void>;
  run(command: ChaosCommand): Promise<CommandOutcome>;
  outbox(): Promise<OutboxState>;
  /** Ids of the verse cards in this page's IndexedDB (deleted or not). */
  cardIds(): Promise<string[]>;
};
