-- apply_batch's set-based path for bulk imports (CREATE_VERSE-only batches): it runs
-- instead of the per-op loop, answers and writes exactly what the loop would, and hands
-- any batch with an op that would fail back to the loop, which answers each op alone.
begin;
select plan(22);

create temp table batches (name text primary key, body jsonb not null);
grant all on batches to authenticated;
create function pg_temp.results(p_name text) returns jsonb language sql stable as $$
  -- The answers without what differs between two users' ops: the op id and the time.
  select jsonb_agg(r - 'id' - 'appliedAt' order by o) from batches b, jsonb_array_elements(b.body -> 'results') with ordinality as x(r, o)
   where b.name = p_name
$$;
create function pg_temp.codes(p_name text) returns text language sql stable as $$
  select string_agg(case when (r ->> 'success')::boolean then 'ok' else r -> 'error' ->> 'code' end, ',' order by o)
    from batches b, jsonb_array_elements(b.body -> 'results') with ordinality as x(r, o) where b.name = p_name
$$;
create function pg_temp.cards(p_user uuid) returns table (reference text, translation text, custom_text text)
language sql stable as $$
  select v.reference, v.translation, c.custom_text from public.verse_cards c join public.verses v on v.id = c.verse_id
   where c.user_id = p_user order by v.reference, v.translation, c.custom_text
$$;
-- How often a function ran in this transaction (track_functions is set below).
create function pg_temp.calls(p_name text) returns bigint language sql stable as $$
  select coalesce(sum(calls), 0)::bigint from pg_stat_xact_user_functions where funcname = p_name
$$;
set local track_functions = 'all';

-- A verse the ESV step resolved (as the function records it before apply_batch runs).
do $$ begin perform private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"jn3.16","reference":"John 3:16","status":"ready","text":"For God so loved the world..."}]'); end $$;

-- User B has a profile whose translation is the default for ops that name none.
set local role authenticated;
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
insert into batches select 'profile B', public.apply_batch('b0000000-0000-4000-8000-000000000700', $j$[
  {"id":"07000000-0000-4000-8000-000000000001","seq":1,"type":"UPDATE_PROFILE","payload":{"translation":"NIV","updatedAt":"2026-01-01T00:00:00Z"}}]$j$);
reset role;
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'profile A', public.apply_batch('b0000000-0000-4000-8000-000000000701', $j$[
  {"id":"07000000-0000-4000-8000-000000000002","seq":1,"type":"UPDATE_PROFILE","payload":{"translation":"NIV","updatedAt":"2026-01-01T00:00:00Z"}}]$j$);

-- The same six ops: user A sends them as one batch (set-based), user B one per batch (the loop).
-- Sent out of seq order; whitespace to normalise; a custom text; another translation; the
-- profile's translation; the ESV-resolved reference.
create temp table six (seq int, payload jsonb);
insert into six values
  (3, '{"reference":"  Romans   8:28 ","translation":"ESV"}'),
  (1, '{"reference":"Psalm 23:1","translation":"ESV","customText":"The Lord is my shepherd"}'),
  (2, '{"reference":"Genesis 1:1","translation":"KJV"}'),
  (6, '{"reference":"Isaiah 40:31"}'),
  (4, '{"reference":"jn3.16","translation":"ESV"}'),
  (5, '{"reference":"Romans 8:28","translation":"ESV"}');
-- Op ids p_op || seq, card ids p_card || seq (the last UUID group).
create function pg_temp.six_ops(p_op text, p_card text) returns jsonb language sql stable as $$
  select jsonb_agg(jsonb_build_object('id', p_op || lpad(seq::text, 12, '0'), 'seq', seq, 'type', 'CREATE_VERSE',
                                      'payload', payload || jsonb_build_object('verseCardId', p_card || lpad(seq::text, 12, '0'))))
    from six
$$;
grant all on six to authenticated;

insert into batches select 'bulk', public.apply_batch('b0000000-0000-4000-8000-000000000710', pg_temp.six_ops('0a000000-0000-4000-8000-', '0c000000-0000-4000-8000-'));
select is(pg_temp.calls('apply_create_verses'), 1::bigint, 'a CREATE_VERSE-only batch takes the set-based path');
select is(pg_temp.calls('apply_operation'), 2::bigint, '... and not the per-op loop (the two calls are the profile batches before)');

reset role;
set local role authenticated;
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
do $$
declare v_op jsonb; v_out jsonb := '[]';
begin
  for v_op in select value from jsonb_array_elements(pg_temp.six_ops('0b000000-0000-4000-8000-', '0d000000-0000-4000-8000-')) order by (value ->> 'seq')::int loop
    v_out := v_out || (public.apply_batch(gen_random_uuid(), jsonb_build_array(v_op)) -> 'results');
  end loop;
  insert into batches values ('one by one', jsonb_build_object('results', v_out));
end $$;

select is(pg_temp.results('bulk'), pg_temp.results('one by one'), 'the set-based answers equal the loop''s, in seq order (catalogue ids, ESV verse and text)');
select is((select jsonb_agg(r ->> 'id') from batches b, jsonb_array_elements(b.body -> 'results') r where name = 'bulk'),
  (select jsonb_agg('0a000000-0000-4000-8000-' || lpad(s::text, 12, '0')) from generate_series(1, 6) s), 'answers carry the op ids as sent, ordered by seq');
reset role;
select results_eq('select * from pg_temp.cards(''11111111-1111-4111-8111-111111111111'')',
  'select * from pg_temp.cards(''22222222-2222-4222-8222-222222222222'')', 'the cards written are the same as the loop''s');
select is((select count(*) from public.sync_ledger where batch_id = 'b0000000-0000-4000-8000-000000000710'), 6::bigint, 'one ledger row per op');
select is((select count(*) from public.verses where reference in ('Romans 8:28', 'Psalm 23:1', 'Genesis 1:1', 'Isaiah 40:31')), 4::bigint,
  'the catalogue got one row per (reference, translation), shared by both users');
select ok((select text_used_at is not null from public.verses where reference = 'John 3:16' and translation = 'ESV'), 'the ESV verse was touched as used (LRU)');

set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
-- A resend of the whole batch: the ledger answers, nothing is written twice.
insert into batches select 'resend', public.apply_batch('b0000000-0000-4000-8000-000000000710', pg_temp.six_ops('0a000000-0000-4000-8000-', '0c000000-0000-4000-8000-'));
select is((select body -> 'results' from batches where name = 'resend'), (select body -> 'results' from batches where name = 'bulk'), 'a resent bulk batch gets the recorded answers');
select is((select count(*) from public.verse_cards where user_id = '11111111-1111-4111-8111-111111111111'), 6::bigint, '... and writes no card twice');

-- One op that would fail sends the whole batch to the loop: each op gets its own answer.
insert into batches select 'mixed fate', public.apply_batch('b0000000-0000-4000-8000-000000000720', $j$[
  {"id":"0a000000-0000-4000-8000-000000000021","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000021","reference":"Micah 6:8"}},
  {"id":"0a000000-0000-4000-8000-000000000022","seq":2,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000001","reference":"Micah 6:9"}},
  {"id":"0a000000-0000-4000-8000-000000000023","seq":3,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000023","reference":"   "}},
  {"id":"not-a-uuid","seq":4,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000024","reference":"Micah 7:7"}},
  {"id":"0a000000-0000-4000-8000-000000000025","seq":5,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000025","reference":"Micah 7:18"}}
]$j$);
select is(pg_temp.codes('mixed fate'), 'ok,DUPLICATE_ID,VALIDATION_FAILED,VALIDATION_FAILED,ok', 'a batch with failing ops is answered op by op');
select is((select count(*) from public.sync_ledger where batch_id = 'b0000000-0000-4000-8000-000000000720'), 2::bigint, '... and only the good ops are in the ledger');
select is((select count(*) from public.verse_cards where id in ('0c000000-0000-4000-8000-000000000021', '0c000000-0000-4000-8000-000000000025')), 2::bigint,
  '... and the good ones are written');
select is((select count(*) from public.verse_cards where id = '0c000000-0000-4000-8000-000000000023'), 0::bigint, '... the failed ones are not');

-- A batch of one keeps the loop (nothing to gain), and a mixed-type batch too.
insert into batches select 'single', public.apply_batch('b0000000-0000-4000-8000-000000000730', $j$[
  {"id":"0a000000-0000-4000-8000-000000000031","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000031","reference":"Jonah 2:9"}}
]$j$);
insert into batches select 'mixed types', public.apply_batch('b0000000-0000-4000-8000-000000000740', $j$[
  {"id":"0a000000-0000-4000-8000-000000000041","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000041","reference":"Nahum 1:7"}},
  {"id":"0a000000-0000-4000-8000-000000000042","seq":2,"type":"DELETE_VERSE","payload":{"verseCardId":"0c000000-0000-4000-8000-000000000041"}}
]$j$);
select is(pg_temp.calls('apply_create_verses'), 1::bigint, 'single-op and mixed-type batches do not take the set-based path (pg_stat counts calls that returned: only the bulk batch''s)');
select is(pg_temp.codes('mixed types'), 'ok,ok', 'a mixed-type batch is applied by the loop');

-- A review-only batch (a study session) goes set-based too: the same rows and answers as the
-- loop, op ids in lowercase, out-of-seq input answered in seq order.
reset role;
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'reviews', public.apply_batch('b0000000-0000-4000-8000-000000000750', $j$[
  {"id":"0A000000-0000-4000-8000-000000000052","seq":2,"type":"RECORD_REVIEW","payload":{"reviewId":"da000000-0000-4000-8000-000000000052","verseCardId":"0c000000-0000-4000-8000-000000000001","correct":false,"reviewDate":"2026-03-02T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000051","seq":1,"type":"RECORD_REVIEW","payload":{"reviewId":"da000000-0000-4000-8000-000000000051","verseCardId":"0c000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-03-01T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000053","seq":3,"type":"RECORD_REVIEW","payload":{"reviewId":"da000000-0000-4000-8000-000000000053","verseCardId":"0c000000-0000-4000-8000-000000000002","correct":true,"reviewDate":"2026-03-03T00:00:00Z"}}
]$j$);
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
do $$
declare v_op jsonb; v_out jsonb := '[]';
begin
  for v_op in select value from jsonb_array_elements($j$[
    {"id":"0b000000-0000-4000-8000-000000000051","seq":1,"type":"RECORD_REVIEW","payload":{"reviewId":"db000000-0000-4000-8000-000000000051","verseCardId":"0d000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-03-01T00:00:00Z"}},
    {"id":"0b000000-0000-4000-8000-000000000052","seq":2,"type":"RECORD_REVIEW","payload":{"reviewId":"db000000-0000-4000-8000-000000000052","verseCardId":"0d000000-0000-4000-8000-000000000001","correct":false,"reviewDate":"2026-03-02T00:00:00Z"}},
    {"id":"0b000000-0000-4000-8000-000000000053","seq":3,"type":"RECORD_REVIEW","payload":{"reviewId":"db000000-0000-4000-8000-000000000053","verseCardId":"0d000000-0000-4000-8000-000000000002","correct":true,"reviewDate":"2026-03-03T00:00:00Z"}}
  ]$j$) loop
    v_out := v_out || (public.apply_batch(gen_random_uuid(), jsonb_build_array(v_op)) -> 'results');
  end loop;
  insert into batches values ('reviews one by one', jsonb_build_object('results', v_out));
end $$;
reset role;
select is(pg_temp.calls('apply_record_reviews'), 1::bigint, 'a RECORD_REVIEW-only batch takes the set-based path');
select is(pg_temp.results('reviews'), pg_temp.results('reviews one by one'), 'its answers equal the loop''s, in seq order');
select is((select jsonb_agg(r ->> 'id') from batches b, jsonb_array_elements(b.body -> 'results') r where name = 'reviews'),
  '["0a000000-0000-4000-8000-000000000051","0a000000-0000-4000-8000-000000000052","0a000000-0000-4000-8000-000000000053"]'::jsonb,
  'answers carry the canonical (lowercase) op ids');
select results_eq(
  $$ select review_count, correct_count, last_reviewed_at from public.verse_cards where id in ('0c000000-0000-4000-8000-000000000001', '0c000000-0000-4000-8000-000000000002') order by id $$,
  $$ select review_count, correct_count, last_reviewed_at from public.verse_cards where id in ('0d000000-0000-4000-8000-000000000001', '0d000000-0000-4000-8000-000000000002') order by id $$,
  'the cards'' counters and last review are the loop''s');
select is((select count(*) from public.sync_ledger where batch_id = 'b0000000-0000-4000-8000-000000000750' and op_id = '0a000000-0000-4000-8000-000000000052'), 1::bigint,
  'the ledger holds the upper-case op under its canonical id');

-- Review batches are planned for their own cards, not generically for all of a user's.
select ok((select 'plan_cache_mode=force_custom_plan' = any (proconfig) from pg_proc where oid = 'private.apply_record_reviews(uuid, uuid, jsonb)'::regprocedure),
  'apply_record_reviews is planned afresh on every call');

select * from finish();
rollback;
