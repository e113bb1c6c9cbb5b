-- Resends and isolation: one user's batches apply one after another and every resend gets the
-- ledger's answer, whatever it waited on; an op id reused with another payload is refused and
-- changes nothing; no user's batch moves another user's card; messages name no constraint.
begin;
select plan(15);

create temp table batches (name text primary key, body jsonb not null);
grant all on batches to authenticated;
create function pg_temp.res(p_name text, p_op text) returns jsonb language sql stable as $$
  select r from batches b, jsonb_array_elements(b.body -> 'results') r where b.name = p_name and r ->> 'id' = p_op
$$;
create function pg_temp.as_user(p_user text, p_name text, p_ops jsonb) returns void language plpgsql as $$
begin
  perform set_config('request.jwt.claims', jsonb_build_object('sub', p_user, 'role', 'authenticated')::text, true);
  set local role authenticated;
  insert into batches select p_name, public.apply_batch(gen_random_uuid(), p_ops);
  reset role;
end;
$$;

-- 1. The repro: a review of card c, then its delete, resent after the delete applied.
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'card', $j$[
  {"id":"08000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-000000000001","reference":"Ruth 1:16"}}]$j$);
create temp table repro (ops jsonb);
insert into repro values ($j$[
  {"id":"08000000-0000-4000-8000-000000000002","seq":2,"type":"RECORD_REVIEW","payload":{"reviewId":"d8000000-0000-4000-8000-000000000002","verseCardId":"c8000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-02-01T00:00:00Z"}},
  {"id":"08000000-0000-4000-8000-000000000003","seq":3,"type":"DELETE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-000000000001"}}]$j$);
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'repro', (select ops from repro));
select is((select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
              and ((classid::bigint << 32) | objid::bigint) = hashtextextended('sync_ledger:11111111-1111-4111-8111-111111111111', 0)),
  1, 'apply_batch holds the caller''s lock to the end of the transaction: a concurrent copy waits for it');
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'repro again', (select ops from repro));
select is((select body -> 'results' from batches where name = 'repro again'), (select body -> 'results' from batches where name = 'repro'),
  'the resend after the delete gets the recorded answers');
select is(pg_temp.res('repro again', '08000000-0000-4000-8000-000000000002') ->> 'success', 'true',
  'the review is answered success (as the ledger holds it), not CARD_DELETED');
select is((select review_count from public.verse_cards where id = 'c8000000-0000-4000-8000-000000000001'), 1,
  'and it counted once');

-- 2. An alias op id resent with another alias; a review's op id sent as a DELETE_VERSE; six
-- payloads under one id in one batch.
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'live', $j$[
  {"id":"08000000-0000-4000-8000-000000000010","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-000000000010","reference":"Psalm 23:1"}},
  {"id":"08000000-0000-4000-8000-000000000011","seq":2,"type":"CREATE_ALIAS","payload":{"aliasId":"e8000000-0000-4000-8000-000000000011","verseCardId":"c8000000-0000-4000-8000-000000000010","alias":"shepherd"}}]$j$);
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'alias changed', $j$[
  {"id":"08000000-0000-4000-8000-000000000011","seq":1,"type":"CREATE_ALIAS","payload":{"aliasId":"e8000000-0000-4000-8000-000000000012","verseCardId":"c8000000-0000-4000-8000-000000000010","alias":"green pastures"}},
  {"id":"08000000-0000-4000-8000-000000000002","seq":2,"type":"DELETE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-000000000010"}}]$j$);
select is(pg_temp.res('alias changed', '08000000-0000-4000-8000-000000000011') -> 'error',
  '{"code":"OPERATION_ID_CONFLICT","message":"this operation id was already used by another operation","retryable":false}'::jsonb,
  'an alias op id resent with another alias -> OPERATION_ID_CONFLICT');
select is(pg_temp.res('alias changed', '08000000-0000-4000-8000-000000000002') #>> '{error,code}', 'OPERATION_ID_CONFLICT',
  'a review''s op id sent as a DELETE_VERSE -> OPERATION_ID_CONFLICT');
select results_eq($$ select alias from public.verse_aliases where verse_card_id = 'c8000000-0000-4000-8000-000000000010' $$,
  $$ values ('shepherd') $$, 'the new alias was not written');
select is((select deleted_at from public.verse_cards where id = 'c8000000-0000-4000-8000-000000000010'), null,
  'the card was not deleted');
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'six', (
  select jsonb_agg(jsonb_build_object('id', '08000000-0000-4000-8000-000000000020', 'seq', i, 'type', 'UPDATE_PROFILE',
    'payload', jsonb_build_object('displayName', 'name ' || i, 'updatedAt', '2026-02-01T00:00:00Z')))
    from generate_series(1, 6) i));
select is((select string_agg(coalesce(r #>> '{error,code}', 'ok'), ',' order by o) from batches, jsonb_array_elements(body -> 'results') with ordinality x(r, o) where name = 'six'),
  'ok,OPERATION_ID_CONFLICT,OPERATION_ID_CONFLICT,OPERATION_ID_CONFLICT,OPERATION_ID_CONFLICT,OPERATION_ID_CONFLICT',
  'six payloads under one id: the first applies, the other five are refused');
select is((select display_name from public.profiles where user_id = '11111111-1111-4111-8111-111111111111'), 'name 1',
  'and the profile holds the first');

-- 5. B's card with customText on 'phil4.13'; while the ESV is out of reach A creates the same
-- spelling without text (a pending placeholder); A's next batch gets the text.
select pg_temp.as_user('22222222-2222-4222-8222-222222222222', 'B custom', $j$[
  {"id":"08000000-0000-4000-8000-000000000030","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-0000000000b1","reference":"phil4.13","customText":"I can do all things"}}]$j$);
select pg_temp.as_user('33333333-3333-4333-8333-333333333333', 'C esv', $j$[
  {"id":"08000000-0000-4000-8000-000000000031","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-0000000000c1","reference":"phil4.13"}}]$j$);
create temp table before_refill as select id, user_id, verse_id, updated_at from public.verse_cards where user_id <> '11111111-1111-4111-8111-111111111111';
select private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"phil4.13","status":"pending"}]');
select pg_temp.as_user('11111111-1111-4111-8111-111111111111', 'A pending', $j$[
  {"id":"08000000-0000-4000-8000-000000000032","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-0000000000a1","reference":"phil4.13"}}]$j$);
select is(pg_temp.res('A pending', '08000000-0000-4000-8000-000000000032') #>> '{verse,textPending}', 'true', 'A''s card waits for text');
select private.esv_record('11111111-1111-4111-8111-111111111111',
  '[{"key":"phil4.13","status":"ready","reference":"Philippians 4:13","text":"I can do all things through him (ESV)"}]');
select is((select v.reference from public.verse_cards c join public.verses v on v.id = c.verse_id where c.id = 'c8000000-0000-4000-8000-0000000000a1'),
  'Philippians 4:13', 'A''s card moved to the canonical verse with its text');
select results_eq($$ select id, user_id, verse_id, updated_at from public.verse_cards where user_id <> '11111111-1111-4111-8111-111111111111' order by id $$,
  $$ select id, user_id, verse_id, updated_at from before_refill order by id $$,
  'A''s refill moved none of B''s or C''s cards');
select is((select count(*)::int from private.esv_waiting_for('22222222-2222-4222-8222-222222222222', 10)), 0,
  'B''s card with its own text waits for nothing');

-- Messages name no table or constraint.
select pg_temp.as_user('22222222-2222-4222-8222-222222222222', 'failures', $j$[
  {"id":"08000000-0000-4000-8000-000000000040","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"c8000000-0000-4000-8000-0000000000a1","reference":"John 1:1"}},
  {"id":"08000000-0000-4000-8000-000000000041","seq":2,"type":"CREATE_ALIAS","payload":{"aliasId":"e8000000-0000-4000-8000-000000000011","verseCardId":"c8000000-0000-4000-8000-0000000000b1","alias":"x"}},
  {"id":"08000000-0000-4000-8000-000000000042","seq":3,"type":"UPDATE_PROFILE","payload":{"dailyGoal":5000,"updatedAt":"2026-02-01T00:00:00Z"}}]$j$);
select is((select count(*)::int from batches, jsonb_array_elements(body -> 'results') r
            where name = 'failures' and not (r ->> 'success')::boolean and r #>> '{error,message}' !~* '(constraint|_pkey|_fkey|_check|relation|verse_cards|sync_ledger)'),
  3, 'three refusals, none of whose messages names a table or constraint');

select * from finish();
rollback;
