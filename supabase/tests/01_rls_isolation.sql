-- Row level security between two users on every user table, and the shared catalogue.
-- User A = 11111111-..., user B = 22222222-... . A's rows are created through apply_batch.
begin;
select plan(45);

-- A creates a card, a review, an alias and a profile (4 ledger rows).
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
select is(
  (select count(*)::int from jsonb_array_elements(public.apply_batch('b0000000-0000-4000-8000-00000000000a', $j$[
    {"id":"0a000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE",
     "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001","reference":"Romans 8:28","customText":"A's text"}},
    {"id":"0a000000-0000-4000-8000-000000000002","seq":2,"type":"RECORD_REVIEW",
     "payload":{"reviewId":"da000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-01-02T00:00:00Z"}},
    {"id":"0a000000-0000-4000-8000-000000000003","seq":3,"type":"CREATE_ALIAS",
     "payload":{"aliasId":"ea000000-0000-4000-8000-000000000001","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"all things"}},
    {"id":"0a000000-0000-4000-8000-000000000004","seq":4,"type":"UPDATE_PROFILE",
     "payload":{"displayName":"Alice","dailyGoal":5,"updatedAt":"2026-01-01T00:00:00Z"}}
  ]$j$) -> 'results') r where (r ->> 'success')::boolean),
  4, 'setup: A''s four operations succeed');

-- A sees their own rows on every table.
select is((select count(*)::int from public.verse_cards), 1, 'A sees their card');
select is((select count(*)::int from public.review_logs), 1, 'A sees their review');
select is((select count(*)::int from public.verse_aliases), 1, 'A sees their alias');
select is((select count(*)::int from public.profiles), 1, 'A sees their profile');
select is((select count(*)::int from public.sync_ledger), 4, 'A sees their ledger rows');

-- B creates one card of their own.
set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
select is(
  public.apply_batch('b0000000-0000-4000-8000-00000000000b', $j$[
    {"id":"0b000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE",
     "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000001","reference":"Psalm 23:1"}}
  ]$j$) #>> '{results,0,success}',
  'true', 'setup: B creates a card');

-- B cannot see A's rows.
select is_empty($$ select * from public.verse_cards where user_id = '11111111-1111-4111-8111-111111111111' or id = 'ca000000-0000-4000-8000-000000000001' $$,
  'B cannot see A''s verse_cards');
select is_empty($$ select * from public.review_logs where user_id = '11111111-1111-4111-8111-111111111111' or id = 'da000000-0000-4000-8000-000000000001' $$,
  'B cannot see A''s review_logs');
select is_empty($$ select * from public.verse_aliases where user_id = '11111111-1111-4111-8111-111111111111' or id = 'ea000000-0000-4000-8000-000000000001' $$,
  'B cannot see A''s verse_aliases');
select is_empty($$ select * from public.profiles where user_id = '11111111-1111-4111-8111-111111111111' $$,
  'B cannot see A''s profile');
select is_empty($$ select * from public.sync_ledger where user_id = '11111111-1111-4111-8111-111111111111' or op_id = '0a000000-0000-4000-8000-000000000001' $$,
  'B cannot see A''s ledger rows (nor their recorded results)');
select results_eq($$ select id from public.verse_cards $$,
  $$ values ('cb000000-0000-4000-8000-000000000001'::uuid) $$,
  'B sees exactly their own card');

-- B cannot update A's rows: the updatable tables silently match nothing, the others have no UPDATE grant.
with u as (update public.verse_cards set custom_text = 'hacked', deleted_at = now()
            where id = 'ca000000-0000-4000-8000-000000000001' returning 1)
select is(count(*)::int, 0, 'B''s update of A''s verse_card matches no row') from u;
with u as (update public.profiles set display_name = 'hacked'
            where user_id = '11111111-1111-4111-8111-111111111111' returning 1)
select is(count(*)::int, 0, 'B''s update of A''s profile matches no row') from u;
select throws_ok($$ update public.review_logs set correct = false where id = 'da000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'B cannot update review_logs');
select throws_ok($$ update public.verse_aliases set alias = 'hacked' where id = 'ea000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'B cannot update verse_aliases');
select throws_ok($$ update public.sync_ledger set result = '{}' where op_id = '0a000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'B cannot update sync_ledger');

-- Nobody deletes directly (soft delete goes through apply_batch).
select throws_ok(format('delete from public.%I', t), '42501', null, format('B cannot delete from %s', t))
from unnest(array['verse_cards', 'review_logs', 'verse_aliases', 'profiles', 'sync_ledger']) as t;

-- B cannot insert rows owned by A.
select throws_ok($$ insert into public.verse_cards (id, user_id, verse_id)
                    select 'cb000000-0000-4000-8000-0000000000ff', '11111111-1111-4111-8111-111111111111', id
                      from public.verses limit 1 $$,
  '42501', null, 'B cannot insert a verse_card owned by A');
select throws_ok($$ insert into public.review_logs (id, user_id, verse_card_id, correct, review_date)
                    values ('db000000-0000-4000-8000-0000000000ff', '11111111-1111-4111-8111-111111111111',
                            'ca000000-0000-4000-8000-000000000001', true, now()) $$,
  '42501', null, 'B cannot insert a review_log owned by A');
select throws_ok($$ insert into public.verse_aliases (id, user_id, verse_card_id, alias)
                    values ('eb000000-0000-4000-8000-0000000000ff', '11111111-1111-4111-8111-111111111111',
                            'ca000000-0000-4000-8000-000000000001', 'mine now') $$,
  '42501', null, 'B cannot insert a verse_alias owned by A');
select throws_ok($$ insert into public.profiles (user_id, display_name, updated_at)
                    values ('11111111-1111-4111-8111-111111111111', 'hacked', now()) $$,
  '42501', null, 'B cannot insert a profile for A');
select throws_ok($$ insert into public.profiles (user_id, display_name, updated_at)
                    values ('11111111-1111-4111-8111-111111111111', 'hacked', now())
                    on conflict (user_id) do update set display_name = excluded.display_name $$,
  '42501', null, 'B cannot upsert A''s profile');
select throws_ok($$ insert into public.profiles (user_id, display_name, updated_at)
                    values ('33333333-3333-4333-8333-333333333333', 'C', now()) $$,
  '42501', null, 'B cannot insert a profile for a user who has none yet');
select throws_ok($$ insert into public.sync_ledger (op_id, user_id, batch_id, type, result)
                    values ('0b000000-0000-4000-8000-0000000000ff', '11111111-1111-4111-8111-111111111111',
                            'b0000000-0000-4000-8000-0000000000ff', 'CREATE_VERSE', '{}') $$,
  '42501', null, 'B cannot insert a ledger row for A');

-- B's own rows cannot be handed over to A.
select throws_ok($$ update public.verse_cards set user_id = '11111111-1111-4111-8111-111111111111'
                     where id = 'cb000000-0000-4000-8000-000000000001' $$,
  '42501', null, 'B cannot give their card to A');

-- B cannot attach rows of their own to A's card (the card is not theirs).
-- These two fail today: the INSERT policies check only user_id, not the card's owner.
select throws_ok($$ insert into public.review_logs (id, user_id, verse_card_id, correct, review_date)
                    values ('db000000-0000-4000-8000-0000000000fe', '22222222-2222-4222-8222-222222222222',
                            'ca000000-0000-4000-8000-000000000001', true, now()) $$,
  '42501', null, 'B cannot insert a review_log (owned by B) that references A''s card');
select throws_ok($$ insert into public.verse_aliases (id, user_id, verse_card_id, alias)
                    values ('eb000000-0000-4000-8000-0000000000fe', '22222222-2222-4222-8222-222222222222',
                            'ca000000-0000-4000-8000-000000000001', 'spam') $$,
  '42501', null, 'B cannot insert a verse_alias (owned by B) that references A''s card');

-- Omitting user_id gives the row to the caller.
select lives_ok($$ insert into public.verse_cards (id, verse_id)
                   select 'cb000000-0000-4000-8000-000000000002', id from public.verses limit 1 $$,
  'B can insert a card without user_id');
select is((select user_id from public.verse_cards where id = 'cb000000-0000-4000-8000-000000000002'),
  '22222222-2222-4222-8222-222222222222'::uuid, 'user_id defaults to auth.uid()');

-- The catalogue is shared and read-only for users.
select is((select count(*)::int from public.verses where reference in ('Romans 8:28', 'Psalm 23:1')), 2,
  'B reads the whole catalogue, including the verse A added');
select throws_ok($$ insert into public.verses (reference, translation) values ('Genesis 1:1', 'ESV') $$,
  '42501', null, 'authenticated cannot insert into verses');
select throws_ok($$ update public.verses set text = 'hacked' $$,
  '42501', null, 'authenticated cannot update verses');
select throws_ok($$ delete from public.verses $$,
  '42501', null, 'authenticated cannot delete from verses');

-- Signed in as nobody (no claims): nothing is visible.
set local request.jwt.claims to '';
select is((select count(*)::int from public.verse_cards) + (select count(*)::int from public.profiles)
          + (select count(*)::int from public.sync_ledger), 0,
  'authenticated without a subject sees no user rows');

-- As the superuser: A's rows are exactly as A left them.
reset role;
select row_eq($$ select custom_text, deleted_at, review_count, user_id from public.verse_cards
                  where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row('A''s text'::text, null::timestamptz, 1, '11111111-1111-4111-8111-111111111111'::uuid),
  'A''s card is untouched');
select row_eq($$ select display_name, daily_goal from public.profiles where user_id = '11111111-1111-4111-8111-111111111111' $$,
  row('Alice'::text, 5),
  'A''s profile is untouched');
select results_eq($$ select user_id, count(*)::int from (
                       select user_id from public.verse_cards union all select user_id from public.review_logs
                       union all select user_id from public.verse_aliases union all select user_id from public.profiles
                       union all select user_id from public.sync_ledger) t
                     where user_id = '11111111-1111-4111-8111-111111111111' group by user_id $$,
  $$ values ('11111111-1111-4111-8111-111111111111'::uuid, 8) $$,
  'A still owns exactly their 8 rows (card, review, alias, profile, 4 ledger rows)');
select is((select count(*)::int from public.verses where reference = 'Genesis 1:1'), 0,
  'no catalogue row was written directly');
select is((select count(*)::int from public.profiles where user_id = '33333333-3333-4333-8333-333333333333'), 0,
  'no profile was created for C');

select * from finish();
rollback;
