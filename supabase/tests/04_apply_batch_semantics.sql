-- apply_batch per operation type: UPDATE_PROFILE (last writer by updatedAt, absent
-- fields kept), DELETE_VERSE (soft), CREATE_VERSE (catalogue), who owns the rows
-- (auth.uid(), never the payload), and who may call at all.
begin;
select plan(39);

create temp table batches (name text primary key, body jsonb not null);
grant all on batches to authenticated;
create function pg_temp.res(p_name text, p_op text) returns jsonb language sql stable as $$
  select r from batches b, jsonb_array_elements(b.body -> 'results') r where b.name = p_name and r ->> 'id' = p_op
$$;
create function pg_temp.profile(p_user uuid) returns table (display_name text, translation text, daily_goal int, updated_at timestamptz)
language sql stable as $$
  select display_name, translation, daily_goal, updated_at from public.profiles where user_id = p_user
$$;

set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';

------------------------------------------------------------------------------
-- UPDATE_PROFILE
insert into batches select 'p1', public.apply_batch('b0000000-0000-4000-8000-000000000101', $j$[
  {"id":"0a000000-0000-4000-8000-000000000101","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"dailyGoal":10,"updatedAt":"2026-03-02T00:00:00Z"}}
]$j$);
select is(pg_temp.res('p1', '0a000000-0000-4000-8000-000000000101') ->> 'success', 'true', 'profile: the first update creates the profile');
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row(null::text, null::text, 10, '2026-03-02T00:00:00Z'::timestamptz), 'profile: only the given field is set');

insert into batches select 'p2', public.apply_batch('b0000000-0000-4000-8000-000000000102', $j$[
  {"id":"0a000000-0000-4000-8000-000000000102","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Alice","updatedAt":"2026-03-03T00:00:00Z"}}
]$j$);
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row('Alice'::text, null::text, 10, '2026-03-03T00:00:00Z'::timestamptz), 'profile: a newer update sets its field and keeps the absent ones');

insert into batches select 'p3', public.apply_batch('b0000000-0000-4000-8000-000000000103', $j$[
  {"id":"0a000000-0000-4000-8000-000000000103","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Stale","dailyGoal":99,"translation":"NIV","updatedAt":"2026-03-01T00:00:00Z"}}
]$j$);
select is(pg_temp.res('p3', '0a000000-0000-4000-8000-000000000103') ->> 'success', 'true', 'profile: an older update is accepted (it is not an error)');
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row('Alice'::text, null::text, 10, '2026-03-03T00:00:00Z'::timestamptz), 'profile: ... but changes nothing (older updatedAt loses)');
select is(pg_temp.res('p3', '0a000000-0000-4000-8000-000000000103') ->> 'superseded', 'true', 'profile: the older update is answered superseded');
select is(pg_temp.res('p3', '0a000000-0000-4000-8000-000000000103') -> 'profile',
  '{"displayName":"Alice","dailyGoal":10,"updatedAt":"2026-03-03T00:00:00.000Z"}'::jsonb, 'profile: ... with the profile the server keeps');

-- Within one batch the later updatedAt wins, not the later seq.
insert into batches select 'p4', public.apply_batch('b0000000-0000-4000-8000-000000000104', $j$[
  {"id":"0a000000-0000-4000-8000-000000000104","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"translation":"NIV","updatedAt":"2026-03-05T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000105","seq":2,"type":"UPDATE_PROFILE",
   "payload":{"translation":"KJV","displayName":"Old Alice","updatedAt":"2026-03-04T00:00:00Z"}}
]$j$);
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row('Alice'::text, 'NIV'::text, 10, '2026-03-05T00:00:00Z'::timestamptz), 'profile: in one batch the later updatedAt wins over the later seq');

-- A field sent as null is cleared (present), unlike an absent one.
insert into batches select 'p5', public.apply_batch('b0000000-0000-4000-8000-000000000105', $j$[
  {"id":"0a000000-0000-4000-8000-000000000106","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"displayName":null,"updatedAt":"2026-03-06T00:00:00Z"}}
]$j$);
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row(null::text, 'NIV'::text, 10, '2026-03-06T00:00:00Z'::timestamptz), 'profile: an explicit null clears that field only');

-- A value the table rejects is that operation's own error.
insert into batches select 'p6', public.apply_batch('b0000000-0000-4000-8000-000000000106', $j$[
  {"id":"0a000000-0000-4000-8000-000000000107","seq":1,"type":"UPDATE_PROFILE",
   "payload":{"dailyGoal":0,"updatedAt":"2026-03-07T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000108","seq":2,"type":"UPDATE_PROFILE",
   "payload":{"displayName":"Alice again","updatedAt":"2026-03-07T00:00:00Z"}}
]$j$);
select is(pg_temp.res('p6', '0a000000-0000-4000-8000-000000000107') #>> '{error,code}', 'CONSTRAINT_VIOLATION', 'profile: dailyGoal 0 -> CONSTRAINT_VIOLATION');
select row_eq($$ select * from pg_temp.profile('11111111-1111-4111-8111-111111111111') $$,
  row('Alice again'::text, 'NIV'::text, 10, '2026-03-07T00:00:00Z'::timestamptz), 'profile: the next update in the batch still applies');

------------------------------------------------------------------------------
-- CREATE_VERSE: the catalogue row is shared; translation from payload, profile, or ESV.
insert into batches select 'v1', public.apply_batch('b0000000-0000-4000-8000-000000000201', $j$[
  {"id":"0a000000-0000-4000-8000-000000000201","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001","reference":"  John   3:16 ","customText":"For God so loved"}},
  {"id":"0a000000-0000-4000-8000-000000000202","seq":2,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000002","reference":"John 3:16","translation":"ESV"}}
]$j$);
select row_eq($$ select v.reference, v.translation, c.custom_text from public.verse_cards c join public.verses v on v.id = c.verse_id
                  where c.id = 'ca000000-0000-4000-8000-000000000001' $$,
  row('John 3:16'::text, 'NIV'::text, 'For God so loved'::text),
  'create: the reference is normalized and the translation defaults to the profile''s');
select isnt(pg_temp.res('v1', '0a000000-0000-4000-8000-000000000201') ->> 'remoteId', pg_temp.res('v1', '0a000000-0000-4000-8000-000000000202') ->> 'remoteId',
  'create: another translation is another catalogue verse');

set local request.jwt.claims to '{"sub":"22222222-2222-4222-8222-222222222222","role":"authenticated"}';
insert into batches select 'v2', public.apply_batch('b0000000-0000-4000-8000-000000000202', $j$[
  {"id":"0b000000-0000-4000-8000-000000000201","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"cb000000-0000-4000-8000-000000000001","reference":"John 3:16"}}
]$j$);
select is(pg_temp.res('v2', '0b000000-0000-4000-8000-000000000201') ->> 'remoteId', pg_temp.res('v1', '0a000000-0000-4000-8000-000000000202') ->> 'remoteId',
  'create: a user without a profile gets ESV, and shares the catalogue verse another user created');
select is(
  (select count(*)::int from public.verses where reference = 'John 3:16'), 2,
  'create: one catalogue row per reference and translation');

-- B cannot take over A's card id.
insert into batches select 'v3', public.apply_batch('b0000000-0000-4000-8000-000000000203', $j$[
  {"id":"0b000000-0000-4000-8000-000000000202","seq":1,"type":"CREATE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001","reference":"Mine 1:1"}}
]$j$);
select is(pg_temp.res('v3', '0b000000-0000-4000-8000-000000000202') #>> '{error,code}', 'DUPLICATE_ID',
  'create: a card id another user already has -> DUPLICATE_ID');

------------------------------------------------------------------------------
-- DELETE_VERSE is a soft delete; later reviews and aliases are refused.
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
insert into batches select 'd1', public.apply_batch('b0000000-0000-4000-8000-000000000301', $j$[
  {"id":"0a000000-0000-4000-8000-000000000301","seq":1,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000301","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-03-10T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000302","seq":2,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000301","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"  God's love  "}},
  {"id":"0a000000-0000-4000-8000-000000000303","seq":3,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001"}}
]$j$);
select ok((select bool_and((r ->> 'success')::boolean) from batches, jsonb_array_elements(body -> 'results') r where name = 'd1'),
  'delete: review, alias, then delete all succeed');
select row_eq($$ select count(*)::int, bool_and(deleted_at is not null) from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row(1, true), 'delete: the card row is kept, with deleted_at set');
select is((select alias from public.verse_aliases where id = 'ea000000-0000-4000-8000-000000000301'), 'God''s love', 'delete: the alias made before is kept (trimmed)');
select is((select count(*)::int from public.review_logs where verse_card_id = 'ca000000-0000-4000-8000-000000000001'), 1,
  'delete: the review made before is kept');

create temp table deleted_at_first as select deleted_at from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001';
insert into batches select 'd2', public.apply_batch('b0000000-0000-4000-8000-000000000302', $j$[
  {"id":"0a000000-0000-4000-8000-000000000311","seq":1,"type":"RECORD_REVIEW",
   "payload":{"reviewId":"da000000-0000-4000-8000-000000000311","verseCardId":"ca000000-0000-4000-8000-000000000001","correct":true,"reviewDate":"2026-03-11T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000312","seq":2,"type":"CREATE_ALIAS",
   "payload":{"aliasId":"ea000000-0000-4000-8000-000000000311","verseCardId":"ca000000-0000-4000-8000-000000000001","alias":"again"}},
  {"id":"0a000000-0000-4000-8000-000000000313","seq":3,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-000000000001"}},
  {"id":"0a000000-0000-4000-8000-000000000314","seq":4,"type":"DELETE_VERSE",
   "payload":{"verseCardId":"ca000000-0000-4000-8000-0000000000ff"}}
]$j$);
select is(pg_temp.res('d2', '0a000000-0000-4000-8000-000000000311') #>> '{error,code}', 'CARD_DELETED', 'delete: a later review -> CARD_DELETED');
select is(pg_temp.res('d2', '0a000000-0000-4000-8000-000000000312') #>> '{error,code}', 'CARD_DELETED', 'delete: a later alias -> CARD_DELETED');
select is(pg_temp.res('d2', '0a000000-0000-4000-8000-000000000313') ->> 'success', 'true', 'delete: deleting again succeeds (idempotent)');
select is((select deleted_at from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001'), (select deleted_at from deleted_at_first),
  'delete: deleting again keeps the first deleted_at');
select is(pg_temp.res('d2', '0a000000-0000-4000-8000-000000000314') #>> '{error,code}', 'CARD_NOT_FOUND', 'delete: a missing card -> CARD_NOT_FOUND');
select row_eq($$ select review_count, (select count(*)::int from public.review_logs where verse_card_id = 'ca000000-0000-4000-8000-000000000001'),
                        (select count(*)::int from public.verse_aliases where verse_card_id = 'ca000000-0000-4000-8000-000000000001')
                   from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000001' $$,
  row(1, 1, 1), 'delete: the refused review and alias left no trace');

------------------------------------------------------------------------------
-- A payload userId of another user is ignored: rows belong to auth.uid().
insert into batches select 'u1', public.apply_batch('b0000000-0000-4000-8000-000000000401', $j$[
  {"id":"0a000000-0000-4000-8000-000000000401","seq":1,"type":"CREATE_VERSE",
   "payload":{"userId":"22222222-2222-4222-8222-222222222222","verseCardId":"ca000000-0000-4000-8000-000000000401","reference":"Jude 1:24"}},
  {"id":"0a000000-0000-4000-8000-000000000402","seq":2,"type":"RECORD_REVIEW",
   "payload":{"userId":"22222222-2222-4222-8222-222222222222","reviewId":"da000000-0000-4000-8000-000000000401","verseCardId":"ca000000-0000-4000-8000-000000000401","correct":true,"reviewDate":"2026-03-12T00:00:00Z"}},
  {"id":"0a000000-0000-4000-8000-000000000403","seq":3,"type":"CREATE_ALIAS",
   "payload":{"userId":"22222222-2222-4222-8222-222222222222","aliasId":"ea000000-0000-4000-8000-000000000401","verseCardId":"ca000000-0000-4000-8000-000000000401","alias":"doxology"}},
  {"id":"0a000000-0000-4000-8000-000000000404","seq":4,"type":"UPDATE_PROFILE",
   "payload":{"userId":"22222222-2222-4222-8222-222222222222","displayName":"Not Bob","updatedAt":"2026-03-12T00:00:00Z"}}
]$j$);
reset role;
select ok((select bool_and((r ->> 'success')::boolean) from batches, jsonb_array_elements(body -> 'results') r where name = 'u1'),
  'payload userId: the operations succeed');
select results_eq($$
  select 'card', user_id from public.verse_cards where id = 'ca000000-0000-4000-8000-000000000401'
  union all select 'review', user_id from public.review_logs where id = 'da000000-0000-4000-8000-000000000401'
  union all select 'alias', user_id from public.verse_aliases where id = 'ea000000-0000-4000-8000-000000000401'
  union all select 'ledger', user_id from public.sync_ledger where batch_id = 'b0000000-0000-4000-8000-000000000401' $$,
  $$ values ('card', '11111111-1111-4111-8111-111111111111'::uuid), ('review', '11111111-1111-4111-8111-111111111111'::uuid),
            ('alias', '11111111-1111-4111-8111-111111111111'::uuid),
            ('ledger', '11111111-1111-4111-8111-111111111111'::uuid), ('ledger', '11111111-1111-4111-8111-111111111111'::uuid),
            ('ledger', '11111111-1111-4111-8111-111111111111'::uuid), ('ledger', '11111111-1111-4111-8111-111111111111'::uuid) $$,
  'payload userId: every row is owned by the caller');
select is((select display_name from public.profiles where user_id = '11111111-1111-4111-8111-111111111111'), 'Not Bob',
  'payload userId: the caller''s profile was updated');
select is_empty($$ select * from public.profiles where user_id = '22222222-2222-4222-8222-222222222222' $$,
  'payload userId: the named user got no profile');

-- The helpers apply_batch uses cannot be called to write as someone else either.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
select throws_ok($$ select private.apply_operation('22222222-2222-4222-8222-222222222222',
    '{"id":"0a000000-0000-4000-8000-000000000501","type":"CREATE_VERSE","payload":{"verseCardId":"ca000000-0000-4000-8000-000000000501","reference":"Jude 1:25"}}') $$,
  '42501', null, 'private.apply_operation for another user -> RLS refuses the card');
select throws_ok($$ select private.apply_operation('22222222-2222-4222-8222-222222222222',
    '{"id":"0a000000-0000-4000-8000-000000000502","type":"UPDATE_PROFILE","payload":{"displayName":"hacked","updatedAt":"2030-01-01T00:00:00Z"}}') $$,
  '42501', null, 'private.apply_operation for another user -> RLS refuses the profile');

------------------------------------------------------------------------------
-- No signed-in user: apply_batch raises, whoever the payload names.
set local request.jwt.claims to '';
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000601', '[{"id":"0a000000-0000-4000-8000-000000000601","seq":1,"type":"UPDATE_PROFILE","payload":{"userId":"11111111-1111-4111-8111-111111111111","displayName":"x","updatedAt":"2031-01-01T00:00:00Z"}}]') $$,
  '28000', 'apply_batch needs a signed-in user', 'no claims -> apply_batch raises 28000');
set local request.jwt.claims to '{"role":"authenticated"}';
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000602', '[]') $$,
  '28000', null, 'claims without sub -> apply_batch raises 28000');
set local request.jwt.claims to '{"sub":"","role":"authenticated"}';
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000603', '[]') $$,
  null::char(5), null::text, 'an empty sub -> apply_batch raises (auth.uid() cannot read it)');
set local request.jwt.claims to '{"sub":"not-a-uuid","role":"authenticated"}';
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000604', '[]') $$,
  '22P02', null, 'a sub that is not a UUID -> apply_batch raises');
reset role;
reset request.jwt.claims;
select throws_ok($$ select public.apply_batch('b0000000-0000-4000-8000-000000000605', '[]') $$,
  '28000', null, 'even the superuser without claims -> apply_batch raises 28000');
select is((select display_name from public.profiles where user_id = '11111111-1111-4111-8111-111111111111'), 'Not Bob',
  'nothing was written by the refused calls');
select is((select count(*)::int from public.sync_ledger where batch_id::text like 'b0000000-0000-4000-8000-0000000006%'), 0,
  'no ledger row for the refused calls');

select * from finish();
rollback;
