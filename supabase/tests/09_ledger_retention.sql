-- The ledger's retention: each user keeps their newest ledger_rows_per_user rows (1,000) and
-- prunes older ones once they hold a tenth more. A resend within the retention is recognised
-- (the ledger's answer, nothing written again); a resend older than it is answered success
-- without a second write. A prune starts past the user's last one (pruned_through) and never
-- touches another user's rows.
begin;
select plan(19);
set local track_functions = 'all';

create temp table batches (name text primary key, ops jsonb not null, body jsonb);
grant all on batches to authenticated;
create function pg_temp.send(p_user text, p_name text) returns void language plpgsql as $$
begin
  perform set_config('request.jwt.claims', jsonb_build_object('sub', p_user, 'role', 'authenticated')::text, true);
  set local role authenticated;
  update batches set body = public.apply_batch(gen_random_uuid(), ops) where name = p_name;
  reset role;
end;
$$;
-- A batch of p_count new cards (op ids and card ids from p_first on), each its own reference.
create function pg_temp.cards(p_name text, p_first integer, p_count integer) returns void language sql as $$
  insert into batches (name, ops)
  select p_name, jsonb_agg(jsonb_build_object(
           'id', '09000000-0000-4000-8000-' || lpad(i::text, 12, '0'), 'seq', i, 'type', 'CREATE_VERSE',
           'payload', jsonb_build_object('verseCardId', 'c9000000-0000-4000-8000-' || lpad(i::text, 12, '0'),
                                         'reference', 'Psalm ' || (1 + i / 150) || ':' || (1 + i % 150))) order by i)
    from generate_series(p_first, p_first + p_count - 1) i;
$$;
create function pg_temp.rows(p_user uuid) returns integer language sql stable as $$
  select count(*)::int from public.sync_ledger where user_id = p_user
$$;

-- Another user's ledger, which the first user's prunes must leave alone.
insert into batches (name, ops) values ('other', $j$[
  {"id":"09000000-0000-4000-8000-100000000001","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c9000000-0000-4000-8000-100000000001","reference":"Ruth 1:16"}},
  {"id":"09000000-0000-4000-8000-100000000002","seq":2,"type":"CREATE_VERSE","payload":{"verseCardId":"c9000000-0000-4000-8000-100000000002","reference":"Ruth 1:17"}}]$j$);
select pg_temp.send('22222222-2222-4222-8222-222222222222', 'other');

-- 1. Two batches of 600: 1,200 rows is past 1,100, so the oldest 200 go.
select pg_temp.cards('one', 1, 600);
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'one');
select is(pg_temp.rows('11111111-1111-4111-8111-111111111111'), 600, 'under the bound nothing is pruned');
select is((select pruned_through from private.ledger_users where user_id = '11111111-1111-4111-8111-111111111111'), 0::bigint,
  'and nothing is marked pruned');
select pg_temp.cards('two', 601, 600);
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'two');
select is(pg_temp.rows('11111111-1111-4111-8111-111111111111'), 1000, 'past the bound the user keeps the newest 1,000 rows');
select is((select ledger_rows from private.ledger_users where user_id = '11111111-1111-4111-8111-111111111111'), 1000,
  'and counts what it keeps');
select is((select count(*)::int from public.sync_ledger
            where op_id in (select (o ->> 'id')::uuid from batches, jsonb_array_elements(ops) o where name = 'one')), 400,
  'the first batch''s oldest 200 ops left the ledger, its newest 400 stayed');
select ok((select pruned_through from private.ledger_users where user_id = '11111111-1111-4111-8111-111111111111')
            < (select min(n) from public.sync_ledger where user_id = '11111111-1111-4111-8111-111111111111'),
  'pruned_through lies below every row the user keeps');
select is(pg_temp.rows('22222222-2222-4222-8222-222222222222'), 2, 'the other user''s rows are not pruned');

-- 2. A resend within the retention: the ledger's answers, nothing written again. The recorded
-- result is marked (now() does not move within the transaction) and the mark comes back.
create temp table marked as
  select l.op_id::text as id from public.sync_ledger l join batches b on b.name = 'one'
   where l.op_id in (select (o ->> 'id')::uuid from jsonb_array_elements(b.ops) o) order by l.n limit 1;
update public.sync_ledger set result = jsonb_set(result, '{appliedAt}', '"2000-01-01T00:00:00+00:00"')
 where op_id = (select id::uuid from marked);
insert into batches (name, ops) select 'two again', ops from batches where name = 'two';
insert into batches (name, ops) select 'one kept again', jsonb_agg(o order by (o ->> 'seq')::int)
  from batches, jsonb_array_elements(ops) o
 where name = 'one' and (o ->> 'id')::uuid in (select op_id from public.sync_ledger);
create temp table cards_before as select count(*)::int as n from public.verse_cards;
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'two again');
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'one kept again');
select is((select body -> 'results' from batches where name = 'two again'), (select body -> 'results' from batches where name = 'two'),
  'the newest batch resent gets its recorded answers');
select is((select r ->> 'appliedAt' from batches, jsonb_array_elements(body -> 'results') r
            where name = 'one kept again' and r ->> 'id' = (select id from marked)),
  '2000-01-01T00:00:00+00:00', 'a kept op of the older batch resent is answered from the ledger');
select is((select count(*)::int from batches, jsonb_array_elements(body -> 'results') r
            where name = 'one kept again' and (r ->> 'success')::boolean), 400, 'all 400 kept ops are answered success');
select is((select count(*)::int from public.verse_cards), (select n from cards_before), 'the resends wrote no card');
select is(pg_temp.rows('11111111-1111-4111-8111-111111111111'), 1000, 'nor a ledger row');

-- 3. A resend older than the retention: success, no second card.
insert into batches (name, ops) select 'one pruned again', jsonb_agg(o order by (o ->> 'seq')::int)
  from (select o from batches, jsonb_array_elements(ops) o
         where name = 'one' and (o ->> 'id')::uuid not in (select op_id from public.sync_ledger) limit 3) pruned;
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'one pruned again');
select is((select count(*)::int from batches, jsonb_array_elements(body -> 'results') r
            where name = 'one pruned again' and (r ->> 'success')::boolean), 3, 'pruned ops resent are answered success');
select is((select count(*)::int from public.verse_cards), (select n from cards_before), 'and write no second card');

-- 4. A set-based batch of references half in the catalogue (batch two's) and half new: the
-- known ones land on their catalogue rows, the new ones on rows of their own reference.
insert into batches (name, ops)
select 'mixed', jsonb_agg(jsonb_build_object(
         'id', '09000000-0000-4000-8000-2' || lpad(i::text, 11, '0'), 'seq', i, 'type', 'CREATE_VERSE',
         'payload', jsonb_build_object('verseCardId', 'c9000000-0000-4000-8000-2' || lpad(i::text, 11, '0'),
                                       'reference', 'Psalm ' || (1 + i / 150) || ':' || (1 + i % 150))) order by i)
  from generate_series(1101, 1300) i;
create temp table loop_calls as
  select coalesce(sum(calls), 0)::bigint as n from pg_stat_xact_user_functions where funcname = 'apply_operation';
select pg_temp.send('11111111-1111-4111-8111-111111111111', 'mixed');
select is((select coalesce(sum(calls), 0)::bigint from pg_stat_xact_user_functions where funcname = 'apply_operation'),
  (select n from loop_calls), 'the mixed batch goes set-based (no op through the per-op loop)');
select is((select count(*)::int from batches b, jsonb_array_elements(b.ops) o
             join public.verse_cards c on c.id = (o #>> '{payload,verseCardId}')::uuid
             join public.verses v on v.id = c.verse_id
            where b.name = 'mixed' and v.reference = o #>> '{payload,reference}' and v.translation = 'ESV'), 200,
  'a batch of known and new references: every card is on its own reference''s verse');
select is((select count(*)::int from batches b, jsonb_array_elements(b.ops) o
             join public.verse_cards c on c.id = (o #>> '{payload,verseCardId}')::uuid
             join public.verse_cards old on old.id = ('c9000000-0000-4000-8000-' || lpad((o ->> 'seq'), 12, '0'))::uuid
            where b.name = 'mixed' and c.verse_id = old.verse_id), 100,
  'and the 100 known references reuse the catalogue rows batch two made');

-- 5. Batch after batch the ledger stays within the bound, and its count stays true.
create temp table bounds (rows integer, counted integer);
do $$
begin
  for b in 0..7 loop
    perform pg_temp.cards('more ' || b, 2001 + b * 250, 250);
    perform pg_temp.send('11111111-1111-4111-8111-111111111111', 'more ' || b);
    insert into bounds select pg_temp.rows('11111111-1111-4111-8111-111111111111'),
      (select ledger_rows from private.ledger_users where user_id = '11111111-1111-4111-8111-111111111111');
  end loop;
end;
$$;
select is((select count(*)::int from bounds where rows between 1000 and 1100), 8, 'after each of 8 more batches the user holds 1,000 to 1,100 rows');
select is((select count(*)::int from bounds where rows = counted), 8, 'and the count matches the rows every time');

select * from finish();
rollback;
