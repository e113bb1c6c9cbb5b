-- apply_batch is exactly-once: a replayed operation id returns the recorded result and
-- changes nothing; another user's reuse of an operation id is refused and writes nothing.
begin;
select plan(30);

create temp table batches (name text primary key, body jsonb not null);
grant all on batches to authenticated;
create function pg_temp.res(p_name text, p_op text) returns jsonb language sql stable as $$
  select r from batches b, jsonb_array_elements(b.body -> 'results') r where b.name = p_name and r ->> 'id' = p_op
$$;
-- The whole server state, all users: per table the row count and a digest of every row.
create function pg_temp.state() returns jsonb language sql stable as $$
  select jsonb_build_object(
    'verses',        (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.verses t),
    'verse_cards',   (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.verse_cards t),
    'review_logs',   (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.review_logs t),
    'verse_aliases', (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.verse_aliases t),
    'profiles',      (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.profiles t),
    'sync_ledger',   (select jsonb_build_array(count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))) from public.sync_ledger t))
$$;
create temp table states (name text primary key, state jsonb not null);

-- The batch A sends (and will send again): six good operations and one bad one.
create temp table batch_a (ops jsonb not null);
insert into batch_a values ($j$[
  {"id":"0a000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001","reference":"John 11:35"}},
  {"id":"0a000000-0000-4000-8000-000000000002","seq":2,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-02-01T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000003","seq":3,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000002","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":false,"reviewDate":"2026-02-02T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000004","seq":4,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"Jesus wept"}},
  {"id":"0a000000-0000-4000-8000-000000000005","seq":5,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Alice","translation":"KJV","updatedAt":"2026-02-01T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000006","seq":6,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000006","verseCardId":"ca000000-0000-4000-8000-0000000000ff","correct":true,"reviewDate":"2026-02-03T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000007","seq":7,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000002","reference":"Philippians 4:13","translation":"NIV"}}
]$j$);
grant select on batch_a to authenticated;

set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'first', public.apply_batch('b0000000-0000-4000-8000-000000000001', ops) from batch_a;
reset role;
insert into states select 'after first', pg_temp.state();

select is(
  (select count(*)::int from batches, jsonb_array_elements(body -> 'results') r where name = 'first' and (r ->> 'success')::boolean),
  6, 'first send: the six good operations succeed');
select is(pg_temp.res('first', '0a000000-0000-4000-8000-000000000006') #>> '{error,code}', 'CARD_NOT_FOUND',
  'first send: the bad one fails');

-- Replay: same batch id, same operations.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'replay', public.apply_batch('b0000000-0000-4000-8000-000000000001', ops) from batch_a;
reset role;
insert into states select 'after replay', pg_temp.state();

select is((select state from states where name = 'after replay'), (select state from states where name = 'after first'),
  'replay: every table (counts and contents) is unchanged');
select is((select body from batches where name = 'replay'), (select body from batches where name = 'first'),
  'replay: the answer is identical, results and order');
select is(
  (select count(*)::int from batches f, jsonb_array_elements(f.body -> 'results') r
    where f.name = 'first' and (r ->> 'success')::boolean and pg_temp.res('replay', r ->> 'id') = r),
  6, 'replay: each succeeded operation returns its recorded result (same remoteId, same appliedAt)');
select is(pg_temp.res('replay', '0a000000-0000-4000-8000-000000000006') #>> '{error,code}', 'CARD_NOT_FOUND',
  'replay: the failed operation is tried again and fails the same way');
select row_eq($$ select review_count, correct_count from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row(2, 1), 'replay: the card still counts two reviews');

-- Within one transaction now() does not move, so prove the replayed result is read from
-- the ledger: mark the recorded result and see the mark come back.
update public.sync_ledger set result = jsonb_set(result, '{appliedAt}', '"2000-01-01T00:00:00+00:00"')
 where op_id = '0a000000-0000-4000-8000-000000000003';
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'marked', public.apply_batch('b0000000-0000-4000-8000-000000000001', ops) from batch_a;
reset role;
select is(pg_temp.res('marked', '0a000000-0000-4000-8000-000000000003') ->> 'appliedAt', '2000-01-01T00:00:00+00:00',
  'replay: the answer for an applied operation is the one recorded in the ledger');
update public.sync_ledger set result = pg_temp.res('first', '0a000000-0000-4000-8000-000000000003')
 where op_id = '0a000000-0000-4000-8000-000000000003';

-- Replay as a new batch, array reversed: still nothing changes; the ledger keeps the first batch id.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches
select 'reversed', public.apply_batch('b0000000-0000-4000-8000-000000000002',
  (select jsonb_agg(o order by n desc) from batch_a, jsonb_array_elements(ops) with ordinality as x(o, n)));
reset role;
insert into states select 'after reversed', pg_temp.state();
select is((select state from states where name = 'after reversed'), (select state from states where name = 'after first'),
  'replay in another batch, array reversed: nothing changes');
select is((select body -> 'results' from batches where name = 'reversed'), (select body -> 'results' from batches where name = 'first'),
  'replay in another batch: same results, still in seq order');
select is((select body ->> 'batchId' from batches where name = 'reversed'), 'b0000000-0000-4000-8000-000000000002',
  'replay in another batch: the answer names the new batch');
select is((select count(*)::int from public.sync_ledger where batch_id <> 'b0000000-0000-4000-8000-000000000001'), 0,
  'replay in another batch: the ledger keeps the batch that applied each operation');

-- Same op id, different payload: refused per op with OPERATION_ID_CONFLICT, nothing is applied.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'changed', public.apply_batch('b0000000-0000-4000-8000-000000000003', $j$[
  {"id":"0a000000-0000-4000-8000-000000000005","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Mallory","updatedAt":"2030-01-01T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000002","seq":2,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000099","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2030-01-01T00:00:00Z"}}
]$j$);
reset role;
select is(pg_temp.res('changed', '0a000000-0000-4000-8000-000000000005') -> 'error',
  '{"code":"OPERATION_ID_CONFLICT","message":"this operation id was already used by another operation","retryable":false}'::jsonb,
  'same op id, other payload (UPDATE_PROFILE): OPERATION_ID_CONFLICT, not retryable');
select is(pg_temp.res('changed', '0a000000-0000-4000-8000-000000000002') #>> '{error,code}', 'OPERATION_ID_CONFLICT',
  'same op id, other payload (RECORD_REVIEW): OPERATION_ID_CONFLICT');
select is(pg_temp.state(), (select state from states where name = 'after first'),
  'same op id, other payload: nothing changes');

-- The same op id twice in one array: applied once.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'twice', public.apply_batch('b0000000-0000-4000-8000-000000000004', $j$[
  {"id":"0a000000-0000-4000-8000-000000000041","seq":1,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000041","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-02-04T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000041","seq":2,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000041","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-02-04T00:00:00Z"}}
]$j$);
reset role;
select ok(
  (select bool_and((r ->> 'success')::boolean) and count(*) = 2 and min(r::text) = max(r::text)
     from batches, jsonb_array_elements(body -> 'results') r where name = 'twice'),
  'same op id twice in one batch: two identical successes');
select row_eq($$ select review_count, correct_count from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row(3, 2), 'same op id twice in one batch: the review counted once');
insert into states select 'after twice', pg_temp.state();

-- Op ids in another letter case are the same op: a resend in upper case gets the ledger's
-- answer (under the canonical lowercase id), and a review's op id sent as a DELETE_VERSE is refused.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'upper', public.apply_batch('b0000000-0000-4000-8000-000000000005', $j$[
  {"id":"0A000000-0000-4000-8000-000000000003","seq":1,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000002","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":false,"reviewDate":"2026-02-02T00:00:00Z"}},
  {"id":"0A000000-0000-4000-8000-000000000002","seq":2,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001"}}
]$j$);
reset role;
select is((select body -> 'results' -> 0 from batches where name = 'upper'), pg_temp.res('first', '0a000000-0000-4000-8000-000000000003'),
  'an op id resent in upper case gets the recorded result');
select is((select body -> 'results' -> 1 #>> '{error,code}' from batches where name = 'upper'), 'OPERATION_ID_CONFLICT',
  'a review''s op id sent as a DELETE_VERSE -> OPERATION_ID_CONFLICT');
select is(pg_temp.state(), (select state from states where name = 'after twice'),
  'the upper-case resend and the conflicting delete change nothing');

-- B reuses two of A's op ids (operations that would succeed for B) beside one fresh op.
set local role authenticated;
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
insert into batches select 'thief', public.apply_batch('b0000000-0000-4000-8000-00000000000b', $j$[
  {"id":"0a000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000001","reference":"Never Seen 1:1"}},
  {"id":"0a000000-0000-4000-8000-000000000005","seq":2,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Bob","updatedAt":"2026-03-01T00:00:00Z"}},
  {"id":"0b000000-0000-4000-8000-000000000003","seq":3,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000003","reference":"Psalm 46:10"}}
]$j$);
select is_empty($$ select * from public.sync_ledger where op_id = '0a000000-0000-4000-8000-000000000001' $$,
  'B cannot read A''s ledger entry for the reused id');
reset role;
select is(pg_temp.res('thief', '0a000000-0000-4000-8000-000000000001') -> 'error',
  '{"code":"OPERATION_ID_CONFLICT","message":"this operation id was already used by another operation","retryable":false}'::jsonb,
  'B reusing A''s CREATE_VERSE op id -> OPERATION_ID_CONFLICT, not retryable');
select is(pg_temp.res('thief', '0a000000-0000-4000-8000-000000000005') #>> '{error,code}', 'OPERATION_ID_CONFLICT',
  'B reusing A''s UPDATE_PROFILE op id -> OPERATION_ID_CONFLICT');
select ok(not (pg_temp.res('thief', '0a000000-0000-4000-8000-000000000001') ? 'remoteId'),
  'B is not told A''s recorded result (no remoteId)');
select is(pg_temp.res('thief', '0b000000-0000-4000-8000-000000000003') ->> 'success', 'true',
  'B''s fresh operation in the same batch succeeds');
select is((select count(*)::int from public.verse_cards where id = 'cb000000-0000-4000-8000-000000000001'), 0,
  'the conflicting CREATE_VERSE wrote no card');
select is((select count(*)::int from public.verses where reference = 'Never Seen 1:1'), 0,
  'the conflicting CREATE_VERSE wrote no catalogue row');
select is((select count(*)::int from public.profiles where user_id = '22222222-2222-4222-8222-222222222222'), 0,
  'the conflicting UPDATE_PROFILE wrote no profile for B');
select results_eq(
  $$ select op_id::text, user_id::text, batch_id::text from public.sync_ledger
      where op_id in ('0a000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000005') order by op_id $$,
  $$ values ('0a000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'b0000000-0000-4000-8000-000000000001'),
            ('0a000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', 'b0000000-0000-4000-8000-000000000001') $$,
  'the ledger entries still belong to A''s first batch');
select is(
  (select state - 'verses' - 'verse_cards' - 'sync_ledger' from states where name = 'after twice'),
  pg_temp.state() - 'verses' - 'verse_cards' - 'sync_ledger',
  'A''s reviews, aliases and profile are untouched by B''s batch');

select * from finish();
rollback;
