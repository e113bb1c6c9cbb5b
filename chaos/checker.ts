// Compares Postgres after the run with the oracle: lost, duplicated, reordered,
// foreign writes and drained, each with the evidence a person needs to replay it.
import type postgres from 'postgres';
import type { ClientOutcome, Oracle, OracleOp } from './oracle.ts';

export type Verdict = {
  lost: number;
  /**
   * Ops a client had committed and not yet synced when Chromium, restarted after a kill, deleted
   * its IndexedDB as corrupt (it says so in its log): gone with the browser's database, not lost
   * by the sync. Counted apart, never hidden; `lost` holds every other one.
   */
  lostToBrowserReset: number;
  duplicated: number;
  reordered: number;
  foreignWrites: number;
  drained: boolean;
  /** Why each count is what it is (empty lists on a clean run). */
  evidence: {
    lost: string[];
    duplicated: string[];
    reordered: string[];
    foreignWrites: string[];
    notDrained: string[];
    /** Not faults: ops coalescing legitimately kept off the wire, and calls a kill left in doubt. */
    notes: string[];
    /** Each reset of a client's IndexedDB by Chromium, with its log line, and what went with it. */
    browserResets: string[];
  };
};

type LedgerRow = { op_id: string; user_id: string; type: string; applied_at: Date };
type CardRow = { id: string; user_id: string; deleted_at: Date | null; review_count: number };
type ChildRow = { id: string; user_id: string; verse_card_id: string };
type ProfileRow = { user_id: string; display_name: string | null; translation: string | null; daily_goal: number | null; updated_at: Date };

const MAX_EVIDENCE = 25;
const push = (list: string[], line: string) => {
  if (list.length < MAX_EVIDENCE) list.push(line);
};

/**
 * The server keeps only each user's newest ledger rows (its retention), while the oracle needs
 * every applied op's row: a trigger copies each ledger row as it is written into a table of the
 * run's own, so the product keeps its default retention and the oracle keeps its evidence.
 */
export async function installLedgerAudit(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists chaos;
    create table if not exists chaos.ledger_audit (op_id uuid not null, user_id uuid not null, type text not null, applied_at timestamptz not null);
    create or replace function chaos.audit_ledger() returns trigger language plpgsql security definer set search_path = '' as $$
    begin
      insert into chaos.ledger_audit (op_id, user_id, type, applied_at) values (new.op_id, new.user_id, new.type, new.applied_at);
      return new;
    end $$;
    drop trigger if exists chaos_ledger_audit on public.sync_ledger;
    create trigger chaos_ledger_audit after insert on public.sync_ledger for each row execute function chaos.audit_ledger();
  `);
}

/** Reads every row the run could have written and judges it against the oracle. */
export async function check(sql: postgres.Sql, oracle: Oracle, clients: ClientOutcome[]): Promise<Verdict> {
  // Every ledger row ever written (installLedgerAudit), the first per op: a resend older than the
  // retention writes its row again, and is still one application of that op.
  const ledger = await sql<LedgerRow[]>`
    select distinct on (op_id) op_id::text, user_id::text, type, applied_at from chaos.ledger_audit order by op_id, applied_at`;
  const cards = await sql<CardRow[]>`select id::text, user_id::text, deleted_at, review_count from public.verse_cards`;
  const reviews = await sql<ChildRow[]>`select id::text, user_id::text, verse_card_id::text from public.review_logs`;
  const aliases = await sql<ChildRow[]>`select id::text, user_id::text, verse_card_id::text from public.verse_aliases`;
  const profiles = await sql<ProfileRow[]>`select user_id::text, display_name, translation, daily_goal, updated_at from public.profiles`;

  const evidence: Verdict['evidence'] = { lost: [], duplicated: [], reordered: [], foreignWrites: [], notDrained: [], notes: [], browserResets: [] };
  let lost = 0;
  const lostToReset = new Map<string, number>();
  const goneWithReset = (client: string) => lostToReset.set(client, (lostToReset.get(client) ?? 0) + 1);
  // An op missing from the server: lost, unless Chromium deleted its device's database before it was synced.
  const missing = (op: OracleOp, line: string) => {
    if (oracle.resetOf(op)) goneWithReset(op.client);
    else {
      lost++;
      push(evidence.lost, line);
    }
  };
  let duplicated = 0;
  let reordered = 0;
  let foreignWrites = 0;

  const ledgerById = new Map(ledger.map((row) => [row.op_id, row]));
  const cardById = new Map(cards.map((row) => [row.id, row]));
  const users = new Set(clients.map((c) => c.userId));

  // Ops per card and per client, in issue order.
  const byCard = new Map<string, OracleOp[]>();
  const byClient = new Map<string, OracleOp[]>();
  for (const op of oracle.ops) {
    if (op.cardId) byCard.set(op.cardId, [...(byCard.get(op.cardId) ?? []), op]);
    byClient.set(op.client, [...(byClient.get(op.client) ?? []), op]);
  }

  // --- lost -------------------------------------------------------------------
  let cancelled = 0;
  let cancelledInDoubt = 0;
  const clientByName = new Map(clients.map((c) => [c.name, c]));
  for (const [cardId, ops] of byCard) {
    const onServer = cardById.has(cardId);
    const hasDelete = ops.some((op) => op.type === 'DELETE_VERSE');
    const anyApplied = ops.some((op) => ledgerById.has(op.opId));
    if (!onServer && hasDelete && !anyApplied) {
      // Created and deleted before it ever left the device: coalescing cancelled the pair.
      cancelled += ops.length;
      continue;
    }
    // The same, with the delete in a call a kill cut before it answered: it did commit, since the
    // page that made the card holds it as deleted.
    const maker = clientByName.get(ops[0]!.client);
    const deleteInDoubt = oracle.inDoubt.some((call) => call.client === ops[0]!.client && call.command.kind === 'delete' && call.command.cardId === cardId);
    if (!onServer && !anyApplied && deleteInDoubt && maker?.outbox?.deletedCards.includes(cardId)) {
      cancelledInDoubt += ops.length;
      continue;
    }
    for (const op of ops) {
      if (ledgerById.has(op.opId)) continue;
      missing(op, `${op.client} #${op.index} ${op.type} ${op.opId} (card ${cardId}${onServer ? ', card on server' : ', card not on server'})`);
    }
  }
  let merged = 0;
  for (const [client, ops] of byClient) {
    const profileOps = ops.filter((op) => op.type === 'UPDATE_PROFILE');
    profileOps.forEach((op, i) => {
      if (ledgerById.has(op.opId)) return;
      // Queued profile updates merge into the newest one, which then carries every field.
      if (profileOps.slice(i + 1).some((later) => ledgerById.has(later.opId))) {
        merged++;
        return;
      }
      missing(op, `${client} #${op.index} UPDATE_PROFILE ${op.opId}: neither it nor a later update of this client was applied`);
    });
  }
  // Every update sets all three fields, so the server must hold the newest one's values.
  for (const user of users) {
    const updates = oracle.ops.filter((op) => op.type === 'UPDATE_PROFILE' && op.tokenUser === user);
    if (updates.length === 0) continue;
    const newest = Math.max(...updates.map((op) => Date.parse(String(op.payload.updatedAt))));
    const candidates = updates.filter((op) => Date.parse(String(op.payload.updatedAt)) === newest);
    const row = profiles.find((p) => p.user_id === user);
    const matches = candidates.some(
      (op) =>
        row &&
        row.display_name === op.payload.displayName &&
        row.translation === op.payload.translation &&
        row.daily_goal === op.payload.dailyGoal &&
        row.updated_at.getTime() === newest,
    );
    // An update a kill cut before it answered may have committed and won (it is newer still).
    const cutUpdate = oracle.inDoubt.some(
      (call) =>
        call.tokenUser === user &&
        call.command.kind === 'profile' &&
        row !== undefined &&
        row.updated_at.getTime() >= newest &&
        row.display_name === call.command.patch.displayName &&
        row.translation === call.command.patch.translation &&
        row.daily_goal === call.command.patch.dailyGoal,
    );
    // (The newest update gone with a reset database was counted above, with its op.)
    if (!matches && !cutUpdate && !candidates.every((op) => oracle.resetOf(op) && !ledgerById.has(op.opId))) {
      lost++;
      push(evidence.lost, `profile of ${user}: server has ${JSON.stringify(row ?? null)}, the newest update was ${JSON.stringify(candidates[0].payload)}`);
    }
  }

  // --- duplicated -------------------------------------------------------------
  const known = new Set(oracle.ops.map((op) => op.opId));
  const knownRecords = new Set(oracle.ops.map((op) => op.localRecordId).filter((id): id is string => id !== undefined));
  for (const user of users) {
    const allowance = oracle.inDoubt.filter((c) => c.tokenUser === user).reduce((n, c) => n + c.maxOps, 0);
    const unknownOps = ledger.filter((row) => row.user_id === user && !known.has(row.op_id));
    const unknownRows = [...cards, ...reviews, ...aliases].filter((row) => row.user_id === user && !knownRecords.has(row.id));
    if (unknownOps.length > allowance) {
      duplicated += unknownOps.length - allowance;
      push(evidence.duplicated, `${user}: ${unknownOps.length} applied ops no client reported, but only ${allowance} op(s) were in doubt at kills (${unknownOps.slice(0, 5).map((r) => `${r.type} ${r.op_id}`).join(', ')})`);
    }
    if (unknownRows.length > unknownOps.length) {
      duplicated += unknownRows.length - unknownOps.length;
      push(evidence.duplicated, `${user}: ${unknownRows.length} rows no reported op created (${unknownRows.slice(0, 5).map((r) => r.id).join(', ')})`);
    }
    if (unknownOps.length > 0) evidence.notes.push(`${user}: ${unknownOps.length} applied op(s) from call(s) a kill cut before they were reported (allowed: ${allowance})`);
  }
  const reviewsPerCard = new Map<string, number>();
  for (const r of reviews) reviewsPerCard.set(r.verse_card_id, (reviewsPerCard.get(r.verse_card_id) ?? 0) + 1);
  for (const card of cards) {
    // A review applied twice would bump the counter twice while its row exists once.
    const rows = reviewsPerCard.get(card.id) ?? 0;
    if (card.review_count !== rows) {
      duplicated += Math.abs(card.review_count - rows);
      push(evidence.duplicated, `card ${card.id}: review_count ${card.review_count} but ${rows} review rows`);
    }
  }
  for (const [cardId, ops] of byCard) {
    const expectedReviews = ops.filter((op) => op.type === 'RECORD_REVIEW' && ledgerById.has(op.opId)).length;
    const rows = reviews.filter((r) => r.verse_card_id === cardId && knownRecords.has(r.id)).length;
    if (rows > expectedReviews) {
      duplicated += rows - expectedReviews;
      push(evidence.duplicated, `card ${cardId}: ${rows} reported review rows for ${expectedReviews} applied review ops`);
    }
  }

  // --- reordered --------------------------------------------------------------
  for (const client of clients) {
    for (const dead of client.outbox?.dead ?? []) {
      reordered++;
      push(evidence.reordered, `${client.name}: dead letter ${dead.type} ${dead.opId} (card ${dead.cardId ?? '-'}): ${dead.code}: ${dead.message}`);
    }
  }
  for (const [client, ops] of byClient) {
    // One client's ops reach the server in the order it issued them (batches are sequential, in seq order).
    let last: { op: OracleOp; at: number } | undefined;
    for (const op of ops) {
      const row = ledgerById.get(op.opId);
      if (!row) continue;
      const at = row.applied_at.getTime();
      if (last && at < last.at) {
        reordered++;
        push(evidence.reordered, `${client}: #${op.index} ${op.type} applied at ${row.applied_at.toISOString()}, before #${last.op.index} ${last.op.type} (${new Date(last.at).toISOString()})`);
      }
      if (!last || at >= last.at) last = { op, at };
    }
  }

  // --- foreign writes ---------------------------------------------------------
  const opById = new Map(oracle.ops.map((op) => [op.opId, op]));
  const ownerOfRecord = new Map<string, string>();
  for (const op of oracle.ops) {
    if (op.localRecordId && op.type !== 'UPDATE_PROFILE') ownerOfRecord.set(op.localRecordId, op.tokenUser);
    if (op.userId !== undefined && op.userId !== op.tokenUser) {
      foreignWrites++;
      push(evidence.foreignWrites, `${op.client}: op ${op.opId} was queued for user ${op.userId}, the page's token is ${op.tokenUser}`);
    }
  }
  const foreign = (table: string, row: { id: string; user_id: string }, why: string) => {
    foreignWrites++;
    push(evidence.foreignWrites, `${table} ${row.id}: user_id ${row.user_id}, ${why}`);
  };
  for (const row of ledger) {
    if (!users.has(row.user_id)) foreign('sync_ledger', { id: row.op_id, user_id: row.user_id }, 'not a user of this run');
    const op = opById.get(row.op_id);
    if (op && op.tokenUser !== row.user_id) foreign('sync_ledger', { id: row.op_id, user_id: row.user_id }, `issued by ${op.client} under ${op.tokenUser}`);
  }
  for (const [table, rows] of [['verse_cards', cards], ['review_logs', reviews], ['verse_aliases', aliases]] as const) {
    for (const row of rows) {
      const owner = ownerOfRecord.get(row.id);
      if (!users.has(row.user_id)) foreign(table, row, 'not a user of this run');
      else if (owner !== undefined && owner !== row.user_id) foreign(table, row, `issued under ${owner}'s token`);
      if ('verse_card_id' in row) {
        const card = cardById.get(row.verse_card_id);
        if (card && card.user_id !== row.user_id) foreign(table, row, `on card ${card.id} of ${card.user_id}`);
      }
    }
  }
  for (const row of profiles) if (!users.has(row.user_id)) foreign('profiles', { id: row.user_id, user_id: row.user_id }, 'not a user of this run');

  // --- drained ----------------------------------------------------------------
  for (const client of clients) {
    const o = client.outbox;
    if (!o) evidence.notDrained.push(`${client.name}: outbox unreadable (page down)`);
    else if (o.queued + o.inFlight + o.dead.length > 0) evidence.notDrained.push(`${client.name}: ${o.queued} queued, ${o.inFlight} in flight, ${o.dead.length} dead`);
  }

  for (const refusal of oracle.unexplainedRefusals) {
    // A card its device's reset database took with it (the runner stops using those; this is a backstop).
    const create = byCard.get(refusal.cardId)?.find((op) => op.type === 'CREATE_VERSE');
    if (create && oracle.resetOf(create)) {
      goneWithReset(refusal.client);
      continue;
    }
    lost++;
    push(evidence.lost, `${refusal.client}: the page refused card ${refusal.cardId} (${refusal.code}) though its create was committed and no kill left a delete in doubt`);
  }
  for (const reset of oracle.browserResets) {
    evidence.browserResets.push(
      `${reset.client}: Chromium deleted its IndexedDB as corrupt after a kill ("${reset.chromiumSaid}"); ${lostToReset.get(reset.client) ?? 0} op(s) it had not yet synced went with it`,
    );
  }
  if (cancelled > 0) evidence.notes.push(`${cancelled} op(s) of cards created and deleted before sending were cancelled by coalescing`);
  if (cancelledInDoubt > 0) {
    evidence.notes.push(`${cancelledInDoubt} op(s) of cards created, then deleted by a call a kill cut (the page holds them deleted), were cancelled by coalescing`);
  }
  if (merged > 0) evidence.notes.push(`${merged} profile update(s) were merged into a later one by coalescing`);

  const lostToBrowserReset = [...lostToReset.values()].reduce((n, v) => n + v, 0);
  return { lost, lostToBrowserReset, duplicated, reordered, foreignWrites, drained: evidence.notDrained.length === 0, evidence };
}
