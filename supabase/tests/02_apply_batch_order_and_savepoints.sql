-- apply_batch: operations run in seq order whatever the array order, and each runs
-- under its own savepoint: a bad operation gets its own error, its neighbours commit.
begin;
select plan(45);

create temp table batches (name text primary key, body jsonb not null);
grant all on batches to authenticated;
-- The result of operation p_op in batch p_name.
create function pg_temp.res(p_name text, p_op text) returns jsonb language sql stable as $$
  select r from batches b, jsonb_array_elements(b.body -> 'results') r where b.name = p_name and r ->> 'id' = p_op
$$;

set local role authenticated;

-- B owns a card that A will try to review.
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
insert into batches select 'b-setup', public.apply_batch('b0000000-0000-4000-8000-00000000000b', $j$[
  {"id":"0b000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000001","reference":"Psalm 23:1"}}
]$j$);
select is(pg_temp.res('b-setup', '0b000000-0000-4000-8000-000000000001') ->> 'success', 'true', 'setup: B creates a card');

set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';

-- 1. Out of order in the array, in order by seq: the review (seq 2) comes first in the
--    array but its card (seq 1) is created before it.
insert into batches select 'order', public.apply_batch('b0000000-0000-4000-8000-000000000001', $j$[
  {"id":"0a000000-0000-4000-8000-000000000013","seq":30,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"the Word"}},
  {"id":"0a000000-0000-4000-8000-000000000012","seq":20,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-01-02T10:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000011","seq":10,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001","reference":"John 1:1"}},
  {"id":"0a000000-0000-4000-8000-000000000014","seq":40,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001"}}
]$j$);

select is(pg_temp.res('order', '0a000000-0000-4000-8000-000000000011') ->> 'success', 'true', 'order: CREATE_VERSE (seq 10, third in the array) succeeds');
select is(pg_temp.res('order', '0a000000-0000-4000-8000-000000000012') ->> 'success', 'true', 'order: RECORD_REVIEW sent before its card but with a higher seq succeeds');
select is(pg_temp.res('order', '0a000000-0000-4000-8000-000000000013') ->> 'success', 'true', 'order: CREATE_ALIAS (seq 30, first in the array) succeeds');
select is(pg_temp.res('order', '0a000000-0000-4000-8000-000000000014') ->> 'success', 'true', 'order: DELETE_VERSE (seq 40) runs last and succeeds');
select is(
  (select array_agg(r ->> 'id' order by o) from batches, jsonb_array_elements(body -> 'results') with ordinality as x(r, o) where name = 'order'),
  array['0a000000-0000-4000-8000-000000000011', '0a000000-0000-4000-8000-000000000012',
        '0a000000-0000-4000-8000-000000000013', '0a000000-0000-4000-8000-000000000014'],
  'order: results come back in seq order');
select is((select body ->> 'batchId' from batches where name = 'order'), 'b0000000-0000-4000-8000-000000000001', 'order: the answer carries the batch id');
select row_eq($$ select review_count, correct_count, last_reviewed_at, deleted_at is not null
                  from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row(1, 1, '2026-01-02T10:00:00Z'::timestamptz, true),
  'order: the card was created, reviewed once (correct) and then soft-deleted');
select is((select count(*)::int from public.review_logs where verse_card_id = 'ca000000-0000-4000-8000-000000000001'), 1, 'order: one review row');
select is((select count(*)::int from public.verse_aliases where verse_card_id = 'ca000000-0000-4000-8000-000000000001'), 1, 'order: one alias row');
select is(
  (select verse_id from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001'),
  (pg_temp.res('order', '0a000000-0000-4000-8000-000000000011') ->> 'remoteId')::uuid,
  'order: CREATE_VERSE answers the catalogue verse id as remoteId');
select ok(pg_temp.res('order', '0a000000-0000-4000-8000-000000000011') ? 'appliedAt', 'order: a success carries appliedAt');

-- 2. One bad operation among good ones.
insert into batches select 'mixed', public.apply_batch('b0000000-0000-4000-8000-000000000002', $j$[
  {"id":"0a000000-0000-4000-8000-000000000021","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000002","reference":"Genesis 1:1"}},
  {"id":"0a000000-0000-4000-8000-000000000022","seq":2,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000022","verseCardId":"ca000000-0000-4000-8000-0000000000ff","correct":true,"reviewDate":"2026-01-03T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000023","seq":3,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000023","verseCardId":"ca000000-0000-4000-8000-000000000002","correct":false,"reviewDate":"2026-01-03T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000024","seq":4,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000024","verseCardId":"cb000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-01-03T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000025","seq":5,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000025","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-01-03T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000026","seq":6,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000026","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"too late"}},
  {"id":"0a000000-0000-4000-8000-000000000027","seq":7,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000027","verseCardId":"ca000000-0000-4000-8000-000000000002","alias":"In the beginning"}},
  {"id":"0a000000-0000-4000-8000-000000000028","seq":8,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000001"}},
  {"id":"0a000000-0000-4000-8000-000000000029","seq":9,"type":"TELEPORT_VERSE",
   "payload":{}},
  {"id":"not-a-uuid","seq":10,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000003","reference":"Genesis 1:2"}},
  {"id":"0a000000-0000-4000-8000-00000000002b","seq":11,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000004","reference":"   "}},
  {"id":"0a000000-0000-4000-8000-00000000002c","seq":12,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000023","verseCardId":"ca000000-0000-4000-8000-000000000002","correct":true,"reviewDate":"2026-01-04T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-00000000002d","seq":13,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000002","reference":"Brand New 99:99"}},
  {"id":"0a000000-0000-4000-8000-00000000002e","seq":14,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-00000000002e","verseCardId":"ca000000-0000-4000-8000-000000000002","correct":true,"reviewDate":"yesterday-ish"}},
  {"id":"0a000000-0000-4000-8000-00000000002f","seq":15,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-00000000002f","verseCardId":"ca000000-0000-4000-8000-000000000002","correct":true,"reviewDate":"2026-01-05T00:00:00Z"}}
]$j$);

select is(jsonb_array_length((select body -> 'results' from batches where name = 'mixed')), 15, 'mixed: one result per operation');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000021') ->> 'success', 'true', 'mixed: CREATE_VERSE before the failures commits');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000022') #>> '{error,code}', 'CARD_NOT_FOUND', 'mixed: review of a missing card -> CARD_NOT_FOUND');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000023') ->> 'success', 'true', 'mixed: review right after a failed one commits');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000024') #>> '{error,code}', 'CARD_NOT_FOUND', 'mixed: review of another user''s card -> CARD_NOT_FOUND');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000025') #>> '{error,code}', 'CARD_DELETED', 'mixed: review of a deleted card -> CARD_DELETED');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000026') #>> '{error,code}', 'CARD_DELETED', 'mixed: alias on a deleted card -> CARD_DELETED');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000027') ->> 'success', 'true', 'mixed: alias on a live card commits');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000028') #>> '{error,code}', 'CARD_NOT_FOUND', 'mixed: delete of another user''s card -> CARD_NOT_FOUND');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000029') #>> '{error,code}', 'UNKNOWN_TYPE', 'mixed: unknown type -> UNKNOWN_TYPE');
select is(pg_temp.res('mixed', 'not-a-uuid') #>> '{error,code}', 'VALIDATION_FAILED', 'mixed: an operation id that is no UUID -> VALIDATION_FAILED');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-00000000002b') #>> '{error,code}', 'VALIDATION_FAILED', 'mixed: blank reference -> VALIDATION_FAILED');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-00000000002c') #>> '{error,code}', 'DUPLICATE_ID', 'mixed: a review id already used -> DUPLICATE_ID');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-00000000002d') #>> '{error,code}', 'DUPLICATE_ID', 'mixed: a card id already used -> DUPLICATE_ID');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-00000000002e') #>> '{error,code}', 'INVALID_VALUE', 'mixed: an unparsable reviewDate -> INVALID_VALUE');
select is(pg_temp.res('mixed', '0a000000-0000-4000-8000-00000000002f') ->> 'success', 'true', 'mixed: the last operation, after many failures, commits');
select is(
  (select count(*)::int from batches, jsonb_array_elements(body -> 'results') r
    where name = 'mixed' and (r ->> 'success')::boolean is false
      and r #>> '{error,retryable}' = 'false' and length(r #>> '{error,message}') > 0 and not r ? 'appliedAt'),
  11, 'mixed: every failure is permanent (retryable false), has a message and no appliedAt');
select is(
  (select count(*)::int from batches, jsonb_array_elements(body -> 'results') r where name = 'mixed' and (r ->> 'success')::boolean),
  4, 'mixed: exactly the four good operations succeeded');

-- What the database holds after the mixed batch.
select row_eq($$ select review_count, correct_count, last_reviewed_at, deleted_at
                  from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000002' $$,
  row(2, 1, '2026-01-05T00:00:00Z'::timestamptz, null::timestamptz),
  'mixed: card 2 counts exactly its two good reviews, one correct (the duplicate and the bad date left no trace)');
select results_eq($$ select id from public.review_logs order by id $$,
  $$ values ('da000000-0000-4000-8000-000000000001'::uuid), ('da000000-0000-4000-8000-000000000023'::uuid),
            ('da000000-0000-4000-8000-00000000002f'::uuid) $$,
  'mixed: only the good reviews were written');
select results_eq($$ select id from public.verse_aliases order by id $$,
  $$ values ('ea000000-0000-4000-8000-000000000001'::uuid), ('ea000000-0000-4000-8000-000000000027'::uuid) $$,
  'mixed: only the good alias was written');
select is((select count(*)::int from public.verse_cards where id in ('ca000000-0000-4000-8000-000000000003', 'ca000000-0000-4000-8000-000000000004')), 0,
  'mixed: the failed CREATE_VERSEs created no card');
select results_eq($$ select op_id::text from public.sync_ledger where batch_id = 'b0000000-0000-4000-8000-000000000002' order by op_id $$,
  $$ values ('0a000000-0000-4000-8000-000000000021'), ('0a000000-0000-4000-8000-000000000023'),
            ('0a000000-0000-4000-8000-000000000027'), ('0a000000-0000-4000-8000-00000000002f') $$,
  'mixed: only the succeeded operations are in the ledger');
select is(
  (select result from public.sync_ledger where op_id = '0a000000-0000-4000-8000-000000000023'),
  pg_temp.res('mixed', '0a000000-0000-4000-8000-000000000023'),
  'mixed: the ledger records exactly the result that was answered');

reset role;
select is((select count(*)::int from public.verses where reference = 'Brand New 99:99'), 0,
  'mixed: the catalogue row made by a CREATE_VERSE that then failed was rolled back with it');
select row_eq($$ select review_count, deleted_at from public.verse_cards where id = 'cb000000-0000-4000-8000-000000000001' $$,
  row(0, null::timestamptz), 'mixed: B''s card was neither reviewed nor deleted by A');
select is((select count(*)::int from public.review_logs where id = 'da000000-0000-4000-8000-000000000024'), 0,
  'mixed: no review row for B''s card');

-- 3. Ties and gaps: equal seq keeps array order; missing seq sorts last.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'ties', public.apply_batch('b0000000-0000-4000-8000-000000000003', $j$[
  {"id":"0a000000-0000-4000-8000-000000000033","type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000033","verseCardId":"ca000000-0000-4000-8000-000000000005","correct":true,"reviewDate":"2026-01-06T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000031","seq":5,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000005","reference":"Exodus 3:14"}},
  {"id":"0a000000-0000-4000-8000-000000000032","seq":5,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000005"}}
]$j$);
select is(
  (select array_agg(r ->> 'id' order by o) from batches, jsonb_array_elements(body -> 'results') with ordinality as x(r, o) where name = 'ties'),
  array['0a000000-0000-4000-8000-000000000031', '0a000000-0000-4000-8000-000000000032', '0a000000-0000-4000-8000-000000000033'],
  'ties: equal seq keeps array order, an operation without seq runs last');
select is(pg_temp.res('ties', '0a000000-0000-4000-8000-000000000032') ->> 'success', 'true', 'ties: the delete after its create (same seq) succeeds');
select is(pg_temp.res('ties', '0a000000-0000-4000-8000-000000000033') #>> '{error,code}', 'CARD_DELETED', 'ties: the review without seq ran after the delete');

-- 4. An empty batch is a valid, empty answer; a batch that is not an array raises.
select is(public.apply_batch('b0000000-0000-4000-8000-000000000004', '[]'),
  '{"batchId":"b0000000-0000-4000-8000-000000000004","results":[]}'::jsonb, 'an empty batch answers no results');
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000005', '{"id":"x"}') $$,
  '22023', null, 'operations that are not an array -> 22023');
select throws_ok($$ select public.apply_batch(null, '[]') $$,
  '22023', null, 'a null batch id -> 22023');

select * from finish();
rollback;
