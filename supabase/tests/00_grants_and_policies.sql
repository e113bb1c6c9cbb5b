-- Grants, row level security switches and policies: what each role may do at all.
-- anon gets nothing; authenticated gets exactly what the app needs; nobody deletes.
begin;
select plan(48);

-- Row level security is on for every table in public.
select ok(
  (select relrowsecurity from pg_class where oid = format('public.%I', t)::regclass),
  format('row level security is enabled on public.%s', t))
from unnest(array['verses', 'verse_cards', 'review_logs', 'verse_aliases', 'profiles', 'sync_ledger']) as t;

-- anon: no privilege on any table.
select table_privs_are('public', t, 'anon', array[]::text[], format('anon has no privilege on public.%s', t))
from unnest(array['verses', 'verse_cards', 'review_logs', 'verse_aliases', 'profiles', 'sync_ledger']) as t;

-- authenticated: exactly what the app needs, never DELETE or TRUNCATE.
select table_privs_are('public', 'verses', 'authenticated', array['SELECT'],
  'authenticated may only read the catalogue');
select table_privs_are('public', 'verse_cards', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
  'authenticated may read, insert and update verse_cards (no delete)');
select table_privs_are('public', 'review_logs', 'authenticated', array['SELECT', 'INSERT'],
  'authenticated may read and insert review_logs');
select table_privs_are('public', 'verse_aliases', 'authenticated', array['SELECT', 'INSERT'],
  'authenticated may read and insert verse_aliases');
select table_privs_are('public', 'profiles', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
  'authenticated may read, insert and update profiles (no delete)');
select table_privs_are('public', 'sync_ledger', 'authenticated', array['SELECT', 'INSERT'],
  'authenticated may read and insert sync_ledger');

-- The RPC: authenticated only.
select function_privs_are('public', 'apply_batch', array['uuid', 'jsonb'], 'anon', array[]::text[],
  'anon may not execute apply_batch');
select function_privs_are('public', 'apply_batch', array['uuid', 'jsonb'], 'authenticated', array['EXECUTE'],
  'authenticated may execute apply_batch');
select ok(
  not exists (
    select 1 from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
     where p.oid = 'public.apply_batch(uuid, jsonb)'::regprocedure and a.grantee = 0 and a.privilege_type = 'EXECUTE'),
  'PUBLIC may not execute apply_batch');
select is(
  (select prosecdef from pg_proc where oid = 'public.apply_batch(uuid, jsonb)'::regprocedure), false,
  'apply_batch runs with the caller''s rights (security invoker), so RLS applies');
select schema_privs_are('private', 'anon', array[]::text[], 'anon has no usage on schema private');

-- Policies: only for authenticated, none for DELETE, no catch-all ALL policy.
select is_empty(
  $$ select tablename, policyname from pg_policies where schemaname = 'public' and roles <> '{authenticated}' $$,
  'every policy in public applies to authenticated only');
select is_empty(
  $$ select tablename, policyname from pg_policies where schemaname = 'public' and cmd in ('DELETE', 'ALL') $$,
  'no DELETE or ALL policy exists (deletion is a soft delete through apply_batch)');
select policies_are('public', 'verses', array['catalogue is readable by signed-in users'],
  'the catalogue has only the read policy');

-- anon, even with a user's claims set, is refused on every table and every verb.
set local role anon;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"anon"}';

select throws_ok(
  format('select * from public.%I', t), '42501', null, format('anon cannot select from %s', t))
from unnest(array['verses', 'verse_cards', 'review_logs', 'verse_aliases', 'profiles', 'sync_ledger']) as t;

select throws_ok(
  format('insert into public.%I default values', t), '42501', null, format('anon cannot insert into %s', t))
from unnest(array['verses', 'verse_cards', 'review_logs', 'verse_aliases', 'profiles', 'sync_ledger']) as t;

select throws_ok(
  format('update public.%I set created_at = now()', t), '42501', null, format('anon cannot update %s', t))
from unnest(array['verses', 'verse_cards', 'review_logs', 'verse_aliases', 'profiles']) as t;

select throws_ok(
  format('delete from public.%I', t), '42501', null, format('anon cannot delete from %s', t))
from unnest(array['verses', 'verse_cards']) as t;

select throws_ok(
  $$ select public.apply_batch('b0000000-0000-4000-8000-000000000001',
       '[{"id":"0a000000-0000-4000-8000-000000000001","seq":1,"type":"UPDATE_PROFILE","payload":{"displayName":"anon","updatedAt":"2026-01-01T00:00:00Z"}}]') $$,
  '42501', null, 'anon cannot execute apply_batch');
select throws_ok(
  $$ select private.ensure_verse('John 3:16', 'ESV') $$,
  '42501', null, 'anon cannot reach private.ensure_verse');

reset role;
select is((select count(*)::int from public.profiles), 0, 'nothing was written by anon');

select * from finish();
rollback;
