-- verses-sync: the whole database (tables, row level security, the ESV catalogue, the
-- exactly-once batch RPC), generated from supabase/schemas by `npm run schema:migration`.
-- Edit the schema files, not this one.

-- ==== supabase/schemas/00_tables.sql

-- The server of record: the shared verse catalogue, each user's cards, reviews, aliases and
-- profile, and the idempotency ledger. Row level security and the RPC come in later files.

create schema if not exists private;
revoke all on schema private from public;

-- The shared verse catalogue: one row per reference and translation. Users read it; only
-- security-definer functions in private write it. ESV-managed rows carry text_status:
-- 'ready' (ESV text stored), 'pending' (the ESV was out of reach), 'evicted' (dropped by the
-- storage cap); null means the row is not ESV-managed.
create table public.verses (
  id uuid primary key default gen_random_uuid(),
  reference text not null check (length(btrim(reference)) between 1 and 200),
  translation text not null default 'ESV' check (length(translation) between 1 and 20),
  text text,
  text_status text check (text_status in ('ready', 'pending', 'evicted')),
  text_used_at timestamptz,
  created_at timestamptz not null default now(),
  unique (reference, translation)
);
create index verses_esv_lru_idx on public.verses (text_used_at) where text_status = 'ready';
create index verses_pending_idx on public.verses (id) where text_status = 'pending';

create table public.verse_cards (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_id uuid not null references public.verses (id),
  custom_text text check (length(custom_text) <= 10000),
  review_count integer not null default 0,
  correct_count integer not null default 0,
  last_reviewed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index verse_cards_user_id_idx on public.verse_cards (user_id);
create index verse_cards_verse_id_idx on public.verse_cards (verse_id);

create table public.review_logs (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_card_id uuid not null references public.verse_cards (id),
  correct boolean not null,
  review_date timestamptz not null,
  created_at timestamptz not null default now()
);
create index review_logs_user_id_idx on public.review_logs (user_id);
create index review_logs_verse_card_id_idx on public.review_logs (verse_card_id);

create table public.verse_aliases (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_card_id uuid not null references public.verse_cards (id),
  alias text not null check (length(btrim(alias)) between 1 and 200),
  created_at timestamptz not null default now()
);
create index verse_aliases_user_id_idx on public.verse_aliases (user_id);
create index verse_aliases_verse_card_id_idx on public.verse_aliases (verse_card_id);

create table public.profiles (
  user_id uuid primary key default auth.uid(),
  display_name text check (length(display_name) <= 100),
  translation text check (length(translation) between 1 and 20),
  daily_goal integer check (daily_goal between 1 and 1000),
  updated_at timestamptz not null,
  created_at timestamptz not null default now()
);

-- The idempotency ledger: one row per applied operation, written in the same transaction as
-- the operation, so a resend finds it and changes nothing. op_id is the canonical (lowercase)
-- UUID; digest is md5 of the op's type and payload, so the same id with another payload is
-- refused (OPERATION_ID_CONFLICT). n orders a user's rows for pruning: the ledger keeps each
-- user's newest rows (private.sync_settings.ledger_rows_per_user) and drops older ones.
create table public.sync_ledger (
  op_id uuid primary key,
  user_id uuid not null default auth.uid(),
  batch_id uuid not null,
  type text not null,
  digest uuid not null,
  result jsonb not null,
  n bigint generated always as identity,
  applied_at timestamptz not null default now()
);
create index sync_ledger_user_n_idx on public.sync_ledger (user_id, n);

-- Server-side knobs of the sync RPC (one row).
create table private.sync_settings (
  id boolean primary key default true check (id),
  -- Ledger rows kept per user; older ones are pruned once a user holds a tenth more. At least
  -- one full batch (1,000 ops), so the resend of a user's latest batch always finds its answers.
  ledger_rows_per_user integer not null default 1000 check (ledger_rows_per_user >= 1000)
);
insert into private.sync_settings default values;

-- The number of ledger rows each user holds, so pruning costs nothing until it is due, and
-- the newest n pruned so far: the user's rows at or below it are gone, so a prune reads only
-- what it deletes, not the dead rows earlier prunes left in the index until vacuum.
create table private.ledger_users (
  user_id uuid primary key,
  ledger_rows integer not null default 0,
  pruned_through bigint not null default 0
);

-- A reference as typed (its key, lower-cased) → the catalogue verse it names, so 'jn3.16',
-- 'John 3:16' and 'john 3 16' share one verses row.
create table private.esv_references (
  key text primary key,
  verse_id uuid not null references public.verses (id) on delete cascade
);
create index esv_references_verse_id_idx on private.esv_references (verse_id);

-- The ESV's conditions (60/min, 1,000/h, 5,000/day, 500 texts kept) and how they are shared.
create table private.esv_settings (
  id boolean primary key default true check (id),
  per_minute integer not null default 60 check (per_minute > 0),
  per_hour integer not null default 1000 check (per_hour > 0),
  per_day integer not null default 5000 check (per_day > 0),
  storage_cap integer not null default 500 check (storage_cap >= 0),
  -- The part of each window one user may spend, so one user cannot spend everyone's budget.
  user_share numeric not null default 0.25 check (user_share > 0 and user_share <= 1),
  -- Set when the ESV answered 429: no instance asks again before this.
  blocked_until timestamptz
);
insert into private.esv_settings default values;

-- One row per ESV query of every function instance, with the user it was spent for: the
-- shared sliding-window limiter.
create table private.esv_calls (
  id bigserial primary key,
  at timestamptz not null,
  user_id uuid
);
create index esv_calls_at_idx on private.esv_calls (at);
create index esv_calls_user_at_idx on private.esv_calls (user_id, at);

-- ==== supabase/schemas/10_security.sql

-- Row level security and grants: every user table is private to its owner; the catalogue is
-- readable by signed-in users. Policies read auth.uid() through a sub-select, so it is
-- evaluated once per statement (an init plan), not once per row, as Supabase recommends.

alter table public.verses enable row level security;
alter table public.verse_cards enable row level security;
alter table public.review_logs enable row level security;
alter table public.verse_aliases enable row level security;
alter table public.profiles enable row level security;
alter table public.sync_ledger enable row level security;

create policy "catalogue is readable by signed-in users" on public.verses
  for select to authenticated using (true);

create policy "owner reads cards" on public.verse_cards
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts cards" on public.verse_cards
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "owner updates cards" on public.verse_cards
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy "owner reads reviews" on public.review_logs
  for select to authenticated using (user_id = (select auth.uid()));
-- A review or alias may only point at the writer's own card.
create policy "owner inserts reviews" on public.review_logs
  for insert to authenticated with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = (select auth.uid())));

create policy "owner reads aliases" on public.verse_aliases
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts aliases" on public.verse_aliases
  for insert to authenticated with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = (select auth.uid())));

create policy "owner reads profile" on public.profiles
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts profile" on public.profiles
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "owner updates profile" on public.profiles
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy "owner reads ledger" on public.sync_ledger
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts ledger" on public.sync_ledger
  for insert to authenticated with check (user_id = (select auth.uid()));

-- Supabase grants everything in public to anon and authenticated by default; take it back and
-- grant exactly what the app needs. anon gets nothing; private tables belong to the owner.
revoke all on public.verses, public.verse_cards, public.review_logs, public.verse_aliases,
  public.profiles, public.sync_ledger from anon, authenticated;
grant select on public.verses to authenticated;
grant select, insert, update on public.verse_cards to authenticated;
grant select, insert on public.review_logs to authenticated;
grant select, insert on public.verse_aliases to authenticated;
grant select, insert, update on public.profiles to authenticated;
grant select, insert on public.sync_ledger to authenticated;
revoke all on table private.sync_settings, private.ledger_users, private.esv_references,
  private.esv_settings, private.esv_calls from public, anon, authenticated;
grant usage on schema private to authenticated;

-- ==== supabase/schemas/20_catalogue.sql

-- The shared catalogue and its ESV text. The function (never the client) talks to the ESV:
-- before apply_batch it resolves the batch's new references in one ESV query and records the
-- answers through these security-definer functions, as the database owner. apply_batch only
-- reads them, so the RPC's transaction holds no HTTP and a payload can never inject ESV text.

-- The key of a reference as typed: what apply_operation stores, lower-cased.
create or replace function private.reference_key(p_reference text)
returns text
language sql
immutable
as $$
  select lower(regexp_replace(btrim(p_reference), '\s+', ' ', 'g'));
$$;

-- The catalogue id of (reference, translation), inserting the row if it is missing.
create or replace function private.ensure_verse(p_reference text, p_translation text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  select id into v_id from public.verses where reference = p_reference and translation = p_translation;
  if v_id is null then
    insert into public.verses (reference, translation) values (p_reference, p_translation)
    on conflict (reference, translation) do nothing
    returning id into v_id;
    if v_id is null then
      select id into v_id from public.verses where reference = p_reference and translation = p_translation;
    end if;
  end if;
  return v_id;
end;
$$;

-- The set form of ensure_verse. Only the pairs the catalogue lacks go to INSERT (an ON
-- CONFLICT probe per row costs more than one anti-join); a racing insert is still absorbed.
create or replace function private.ensure_verses(p_references text[], p_translations text[])
returns table (reference text, translation text, id uuid)
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.verses (reference, translation)
  select distinct w.r, w.t from unnest(p_references, p_translations) as w(r, t)
   where not exists (select 1 from public.verses v where v.reference = w.r and v.translation = w.t)
  on conflict do nothing;
  return query
    select v.reference, v.translation, v.id
      from public.verses v
      join (select distinct r, t from unnest(p_references, p_translations) as u(r, t)) w
        on v.reference = w.r and v.translation = w.t;
end;
$$;

-- Takes one ESV query from the shared budget for p_user, or says how long to wait. A user may
-- spend at most user_share of each window, so one user cannot spend everyone's budget. The
-- settings row is locked for the call: concurrent instances queue here and never overspend.
create or replace function private.esv_take_token(p_at timestamptz default null, p_user uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_settings private.esv_settings;
  v_minute integer;
  v_hour integer;
  v_day integer;
  v_mine_minute integer;
  v_mine_hour integer;
  v_mine_day integer;
  v_free_at timestamptz;
begin
  select * into v_settings from private.esv_settings where id for update;
  -- The time is read after the lock: a caller that waited must count the calls made meanwhile.
  p_at := coalesce(p_at, clock_timestamp());
  if v_settings.blocked_until is not null and v_settings.blocked_until > p_at then
    return jsonb_build_object('granted', false, 'reason', 'throttled',
      'retryAfterSeconds', ceil(extract(epoch from v_settings.blocked_until - p_at))::integer);
  end if;
  delete from private.esv_calls where at <= p_at - interval '1 day';
  select count(*) filter (where at > p_at - interval '1 minute'),
         count(*) filter (where at > p_at - interval '1 hour'),
         count(*),
         count(*) filter (where user_id = p_user and at > p_at - interval '1 minute'),
         count(*) filter (where user_id = p_user and at > p_at - interval '1 hour'),
         count(*) filter (where user_id = p_user)
    into v_minute, v_hour, v_day, v_mine_minute, v_mine_hour, v_mine_day
    from private.esv_calls;
  if p_user is not null and (
       v_mine_minute >= greatest(1, floor(v_settings.per_minute * v_settings.user_share))
    or v_mine_hour >= greatest(1, floor(v_settings.per_hour * v_settings.user_share))
    or v_mine_day >= greatest(1, floor(v_settings.per_day * v_settings.user_share))) then
    -- This user's share frees when their oldest call in the exhausted window leaves it.
    select max(free_at) into v_free_at from (
      select min(at) + interval '1 minute' as free_at from private.esv_calls
       where user_id = p_user and at > p_at - interval '1 minute'
         and v_mine_minute >= greatest(1, floor(v_settings.per_minute * v_settings.user_share))
      union all
      select min(at) + interval '1 hour' from private.esv_calls
       where user_id = p_user and at > p_at - interval '1 hour'
         and v_mine_hour >= greatest(1, floor(v_settings.per_hour * v_settings.user_share))
      union all
      select min(at) + interval '1 day' from private.esv_calls
       where user_id = p_user and v_mine_day >= greatest(1, floor(v_settings.per_day * v_settings.user_share))
    ) f;
    return jsonb_build_object('granted', false, 'reason', 'share',
      'retryAfterSeconds', greatest(1, ceil(extract(epoch from v_free_at - p_at))::integer));
  end if;
  if v_minute >= v_settings.per_minute or v_hour >= v_settings.per_hour or v_day >= v_settings.per_day then
    -- The budget frees when the oldest call that fills each exhausted window leaves it.
    select max(free_at) into v_free_at from (
      select (select at from private.esv_calls where at > p_at - interval '1 minute'
               order by at offset v_minute - v_settings.per_minute limit 1) + interval '1 minute' as free_at
       where v_minute >= v_settings.per_minute
      union all
      select (select at from private.esv_calls where at > p_at - interval '1 hour'
               order by at offset v_hour - v_settings.per_hour limit 1) + interval '1 hour'
       where v_hour >= v_settings.per_hour
      union all
      select (select at from private.esv_calls
               order by at offset v_day - v_settings.per_day limit 1) + interval '1 day'
       where v_day >= v_settings.per_day
    ) f;
    return jsonb_build_object('granted', false, 'reason', 'budget',
      'retryAfterSeconds', greatest(1, ceil(extract(epoch from v_free_at - p_at))::integer));
  end if;
  insert into private.esv_calls (at, user_id) values (p_at, p_user);
  return jsonb_build_object('granted', true);
end;
$$;

-- The ESV answered 429: every instance holds off for its Retry-After.
create or replace function private.esv_throttled(p_seconds integer, p_at timestamptz default clock_timestamp())
returns void
language sql
security definer
set search_path = ''
as $$
  update private.esv_settings
     set blocked_until = greatest(coalesce(blocked_until, p_at), p_at + make_interval(secs => greatest(p_seconds, 1)))
   where id;
$$;

-- Records the ESV's answers for references as typed, asked for p_user's batch. p_entries:
-- [{ key, reference, status, text? }] where status 'ready' carries the ESV's canonical
-- reference and text, and 'pending' the reference as typed (the ESV was not reached).
-- Returns { key: verse id } for every entry. Evicted text a new card asks for while the ESV is
-- out of reach becomes 'pending' again, so the user's next batch fetches it. When text arrives
-- for a placeholder, only p_user's cards that take ESV text move to the canonical verse: no
-- user's batch moves another user's card; others move with their own next batch.
create or replace function private.esv_record(p_user uuid, p_entries jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_entry jsonb;
  v_key text;
  v_typed text;
  v_verse uuid;
  v_old uuid;
  v_out jsonb := '{}'::jsonb;
begin
  for v_entry in select value from jsonb_array_elements(p_entries) loop
    v_key := private.reference_key(v_entry ->> 'key');
    v_typed := regexp_replace(btrim(v_entry ->> 'key'), '\s+', ' ', 'g');
    select verse_id into v_old from private.esv_references where key = v_key;
    if v_entry ->> 'status' = 'ready' then
      insert into public.verses as v (reference, translation, text, text_status, text_used_at)
      values (v_entry ->> 'reference', 'ESV', v_entry ->> 'text', 'ready', now())
      on conflict (reference, translation) do update
         set text = excluded.text, text_status = 'ready', text_used_at = now()
      returning id into v_verse;
      -- The caller's cards waiting on a placeholder of this key (the one the key named, or one
      -- it named before another user's batch moved the key on) take the canonical verse.
      update public.verse_cards c set verse_id = v_verse
        from public.verses p
       where c.verse_id = p.id and p.id <> v_verse
         and (p.id = v_old or (p.reference = v_typed and p.translation = 'ESV' and p.text_status = 'pending'))
         and c.user_id = p_user and c.custom_text is null;
      update private.esv_references set verse_id = v_verse where verse_id = v_old and v_old <> v_verse;
      -- A placeholder no card uses any more goes.
      delete from public.verses p
       where (p.id = v_old or (p.reference = v_typed and p.translation = 'ESV' and p.text_status = 'pending'))
         and p.id <> v_verse and p.text_status is distinct from 'ready'
         and not exists (select 1 from public.verse_cards c where c.verse_id = p.id);
    else
      if v_old is not null then
        v_verse := v_old;
        update public.verses set text_status = 'pending' where id = v_old and text_status = 'evicted';
      else
        insert into public.verses as v (reference, translation, text_status)
        values (v_typed, 'ESV', 'pending')
        on conflict (reference, translation) do update
           set text_status = case when v.text_status = 'ready' then 'ready'
                                  when v.text_status = 'evicted' then 'evicted' else 'pending' end
        returning id into v_verse;
      end if;
    end if;
    insert into private.esv_references (key, verse_id) values (v_key, v_verse)
    on conflict (key) do update set verse_id = excluded.verse_id;
    v_out := v_out || jsonb_build_object(v_entry ->> 'key', v_verse);
  end loop;
  return v_out;
end;
$$;

-- What the references as typed name today: { key, verseId, reference, status } per known key.
create or replace function private.esv_known(p_keys text[])
returns table (key text, verse_id uuid, reference text, status text)
language sql
stable
security definer
set search_path = ''
as $$
  select k, r.verse_id, v.reference, v.text_status
    from unnest(p_keys) k
    join private.esv_references r on r.key = private.reference_key(k)
    join public.verses v on v.id = r.verse_id;
$$;

-- Verses whose ESV text one user's live cards never got (pending), oldest first. Evicted text
-- is not refilled here: its cards had it once, and the next CREATE_VERSE fetches it again.
-- Cards with the user's own text wait for nothing.
create or replace function private.esv_waiting_for(p_user uuid, p_limit integer)
returns table (verse_id uuid, reference text)
language sql
stable
security definer
set search_path = ''
as $$
  select v.id, v.reference
    from public.verses v
   where v.text_status = 'pending'
     and exists (select 1 from public.verse_cards c
                  where c.verse_id = v.id and c.user_id = p_user and c.deleted_at is null and c.custom_text is null)
   order by v.created_at
   limit p_limit;
$$;

-- Keeps at most p_cap (default: the setting) ESV texts, dropping the least recently used.
-- Only catalogue text is dropped; a user's customText lives on their card and is never touched.
create or replace function private.esv_enforce_cap(p_cap integer default null)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cap integer := coalesce(p_cap, (select storage_cap from private.esv_settings where id));
  v_evicted integer;
begin
  with over as (
    select id from public.verses where text_status = 'ready'
     order by text_used_at desc nulls last, id offset v_cap
  )
  update public.verses v set text = null, text_status = 'evicted'
    from over where v.id = over.id;
  get diagnostics v_evicted = row_count;
  return v_evicted;
end;
$$;

-- A placeholder the ESV later answers "no such passage" for stops waiting: it becomes a plain
-- catalogue row and its key is forgotten, so the next CREATE_VERSE of it is checked anew.
create or replace function private.esv_forget(p_keys text[])
returns void
language sql
security definer
set search_path = ''
as $$
  update public.verses v set text_status = null
    from private.esv_references r
   where r.key = any (select private.reference_key(k) from unnest(p_keys) k)
     and v.id = r.verse_id and v.text_status = 'pending';
  delete from private.esv_references where key = any (select private.reference_key(k) from unnest(p_keys) k);
$$;

-- Whether a reference as typed names this verse (as typed, or through the ESV's answer for it).
create or replace function private.names_verse(p_reference text, p_verse_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.verses v
                  where v.id = p_verse_id and private.reference_key(v.reference) = private.reference_key(p_reference))
      or exists (select 1 from private.esv_references r
                  where r.key = private.reference_key(p_reference) and r.verse_id = p_verse_id);
$$;

-- For apply_operation (as the user): the verse a reference as typed resolved to, touched as used.
create or replace function private.esv_verse_for(p_reference text)
returns uuid
language sql
security definer
set search_path = ''
as $$
  update public.verses v set text_used_at = now()
    from private.esv_references r
   where r.key = private.reference_key(p_reference) and v.id = r.verse_id
  returning v.id;
$$;

-- The set form of esv_verse_for: each resolved verse touched once. Unseen keys are absent.
create or replace function private.esv_verses_for(p_references text[])
returns table (reference text, verse_id uuid)
language sql
security definer
set search_path = ''
as $$
  with wanted as (
    select distinct r as reference, private.reference_key(r) as key from unnest(p_references) r
  ), found as (
    select w.reference, x.verse_id from wanted w join private.esv_references x on x.key = w.key
  ), touched as (
    update public.verses v set text_used_at = now()
      where v.id in (select f.verse_id from found f)
  )
  select f.reference, f.verse_id from found f;
$$;

revoke all on function private.reference_key(text) from public;
revoke all on function private.ensure_verse(text, text) from public;
revoke all on function private.ensure_verses(text[], text[]) from public;
revoke all on function private.esv_take_token(timestamptz, uuid) from public;
revoke all on function private.esv_throttled(integer, timestamptz) from public;
revoke all on function private.esv_record(uuid, jsonb) from public;
revoke all on function private.esv_known(text[]) from public;
revoke all on function private.esv_waiting_for(uuid, integer) from public;
revoke all on function private.esv_enforce_cap(integer) from public;
revoke all on function private.esv_forget(text[]) from public;
revoke all on function private.esv_verse_for(text) from public;
revoke all on function private.names_verse(text, uuid) from public;
revoke all on function private.esv_verses_for(text[]) from public;
-- A user may only look references up (and mark them used) and add catalogue rows; the budget,
-- the recording of ESV answers and eviction belong to the function's own connection.
grant execute on function private.reference_key(text) to authenticated;
grant execute on function private.ensure_verse(text, text) to authenticated;
grant execute on function private.ensure_verses(text[], text[]) to authenticated;
grant execute on function private.esv_verse_for(text) to authenticated;
grant execute on function private.names_verse(text, uuid) to authenticated;
grant execute on function private.esv_verses_for(text[]) to authenticated;

-- ==== supabase/schemas/30_apply_batch.sql

-- The exactly-once batch RPC.
--
-- public.apply_batch applies a batch's operations in seq order as the caller (RLS and
-- auth.uid() decide whose rows), each under its own savepoint (a plpgsql exception block), so
-- one failing operation gets its own error and the rest commit. Every applied operation goes
-- to sync_ledger in the same subtransaction with a digest of its type and payload: a resend
-- returns the recorded result and changes nothing; the same id with another payload is refused
-- with OPERATION_ID_CONFLICT. Failed operations are not recorded (they wrote nothing).
--
-- One user's batches apply one after another (apply_batch takes the user's lock first), so a resend that raced its original waits for it and then reads its ledger rows:
-- every copy gets the ledger's answer, whatever it waited on. Batches of one type that is the
-- volume (CREATE_VERSE imports, RECORD_REVIEW sessions) go set-based first, with the same rows
-- and per-op results as the loop; any op the set path cannot answer hands the whole batch to
-- the loop.

-- Raises the application error `code` (carried in HINT) with a message a person can act on.
create or replace function private.fail(p_code text, p_message text)
returns void
language plpgsql
as $$
begin
  raise exception using errcode = 'P0001', message = p_message, hint = p_code;
end;
$$;

-- Maps an error caught around one operation to { code, message, retryable }. Messages name no
-- table or constraint: they tell the person what happened.
create or replace function private.classify_error(p_state text, p_message text, p_hint text, p_constraint text)
returns jsonb
language sql
immutable
as $$
  select case
    when p_state = 'P0001' and p_hint ~ '^[A-Z_]+$' then
      jsonb_build_object('code', p_hint, 'message', p_message, 'retryable', false)
    when p_state = '23505' and p_constraint = 'sync_ledger_pkey' then
      jsonb_build_object('code', 'OPERATION_ID_CONFLICT',
        'message', 'this operation id was already used by another operation', 'retryable', false)
    when p_state = '23505' then
      jsonb_build_object('code', 'DUPLICATE_ID',
        'message', 'a record with this id already exists with other content; nothing was written', 'retryable', false)
    when p_state = '23503' then
      jsonb_build_object('code', 'REFERENCE_NOT_FOUND',
        'message', 'a record this operation refers to does not exist', 'retryable', false)
    when p_state = '42501' then
      jsonb_build_object('code', 'FORBIDDEN', 'message', 'this operation may not write that record', 'retryable', false)
    when left(p_state, 2) = '23' then
      jsonb_build_object('code', 'CONSTRAINT_VIOLATION', 'message', 'a value is outside what the server accepts', 'retryable', false)
    when left(p_state, 2) = '22' then
      jsonb_build_object('code', 'INVALID_VALUE', 'message', p_message, 'retryable', false)
    when left(p_state, 2) in ('40', '53', '55', '57', '58') then
      jsonb_build_object('code', 'TRANSIENT', 'message', 'the database was busy; the operation will be sent again', 'retryable', true)
    else
      jsonb_build_object('code', 'APPLY_FAILED', 'message', 'the operation could not be applied', 'retryable', false)
  end;
$$;

-- What the ledger compares a resend against: the op's type and payload (jsonb text is canonical).
create or replace function private.op_digest(p_op jsonb)
returns uuid
language sql
immutable
as $$
  select md5(coalesce(p_op ->> 'type', '') || ':' || coalesce((p_op -> 'payload')::text, 'null'))::uuid;
$$;

-- Counts the batch's new ledger rows and, once the user holds a tenth more than the setting,
-- prunes their oldest rows down to it. A resend older than that is applied again: every op
-- is keyed by its record's id, so it finds its record and is answered success (see
-- apply_operation), and an UPDATE_PROFILE or DELETE_VERSE repeated changes nothing.
-- The delete starts past the user's last prune: from the user's first n it walked every dead
-- index entry of every earlier prune (at 500-op batches a prune grew from ~1 ms to ~2.6 ms
-- over 120 batches, until vacuum); from there it reads the rows it deletes (~0.4-0.6 ms).
create or replace function private.ledger_leave(p_added integer)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := auth.uid();
  v_keep integer := (select ledger_rows_per_user from private.sync_settings where id);
  v_rows integer;
  v_from bigint;
  v_cut bigint;
begin
  insert into private.ledger_users as l (user_id, ledger_rows) values (v_user, p_added)
  on conflict (user_id) do update set ledger_rows = l.ledger_rows + excluded.ledger_rows
  returning ledger_rows, pruned_through into v_rows, v_from;
  if v_rows > v_keep + v_keep / 10 then
    v_cut := (select n from public.sync_ledger where user_id = v_user order by n desc offset v_keep limit 1);
    delete from public.sync_ledger where user_id = v_user and n > v_from and n <= v_cut;
    update private.ledger_users set ledger_rows = v_keep, pruned_through = greatest(v_from, v_cut) where user_id = v_user;
  end if;
end;
$$;

-- The card a review, alias or delete refers to, locked; RLS hides other users' cards.
create or replace function private.owned_card(p_card_id uuid, p_allow_deleted boolean)
returns public.verse_cards
language plpgsql
as $$
declare
  v_card public.verse_cards;
begin
  select * into v_card from public.verse_cards where id = p_card_id for update;
  if not found then
    perform private.fail('CARD_NOT_FOUND', 'this verse card does not exist on the server');
  end if;
  if v_card.deleted_at is not null and not p_allow_deleted then
    perform private.fail('CARD_DELETED', 'this verse card was deleted');
  end if;
  return v_card;
end;
$$;

-- The result a CREATE_VERSE answers with: the catalogue verse, its ESV text or that it is pending.
create or replace function private.created_verse_result(p_op_id text, p_verse_id uuid)
returns jsonb
language plpgsql
stable
as $$
begin
  return (select jsonb_strip_nulls(jsonb_build_object(
    'id', p_op_id,
    'success', true,
    'remoteId', p_verse_id,
    'verse', case when v.text_status is not null then jsonb_strip_nulls(jsonb_build_object(
        'reference', v.reference,
        'text', v.text,
        'textPending', case when v.text_status = 'ready' then null else true end)) end,
    'appliedAt', now()))
    from public.verses v where v.id = p_verse_id);
end;
$$;

-- Applies one operation for p_user; returns its success result. Raises on failure. An op whose
-- record already exists as the caller's with the same content was applied before (a resend
-- older than the ledger's window): it is answered success and writes nothing.
create or replace function private.apply_operation(p_user uuid, p_op jsonb)
returns jsonb
language plpgsql
as $$
declare
  v_payload jsonb := p_op -> 'payload';
  v_type text := p_op ->> 'type';
  v_card public.verse_cards;
  v_reference text;
  v_translation text;
  v_verse_id uuid;
  v_updated_at timestamptz;
begin
  case v_type
    when 'CREATE_VERSE' then
      select * into v_card from public.verse_cards where id = (v_payload ->> 'verseCardId')::uuid;
      if found and v_card.custom_text is not distinct from v_payload ->> 'customText'
         and private.names_verse(v_payload ->> 'reference', v_card.verse_id) then
        return private.created_verse_result(p_op ->> 'id', v_card.verse_id);
      end if;
      v_reference := regexp_replace(btrim(v_payload ->> 'reference'), '\s+', ' ', 'g');
      if coalesce(v_reference, '') = '' then
        perform private.fail('VALIDATION_FAILED', 'CREATE_VERSE: reference must not be empty');
      end if;
      v_translation := coalesce(
        nullif(btrim(v_payload ->> 'translation'), ''),
        (select translation from public.profiles where user_id = p_user),
        'ESV');
      -- Without customText in the ESV translation: the verse the function resolved for the
      -- reference (canonical, with text or pending).
      if upper(v_translation) = 'ESV' and v_payload ->> 'customText' is null then
        v_verse_id := private.esv_verse_for(v_reference);
      end if;
      if v_verse_id is null then
        v_verse_id := private.ensure_verse(v_reference, v_translation);
      end if;
      insert into public.verse_cards (id, user_id, verse_id, custom_text)
      values ((v_payload ->> 'verseCardId')::uuid, p_user, v_verse_id, v_payload ->> 'customText');
      return private.created_verse_result(p_op ->> 'id', v_verse_id);

    when 'RECORD_REVIEW' then
      if not exists (select 1 from public.review_logs
                      where id = (v_payload ->> 'reviewId')::uuid
                        and verse_card_id = (v_payload ->> 'verseCardId')::uuid
                        and correct = (v_payload ->> 'correct')::boolean
                        and review_date = (v_payload ->> 'reviewDate')::timestamptz) then
        v_card := private.owned_card((v_payload ->> 'verseCardId')::uuid, false);
        insert into public.review_logs (id, user_id, verse_card_id, correct, review_date)
        values ((v_payload ->> 'reviewId')::uuid, p_user, v_card.id,
                (v_payload ->> 'correct')::boolean, (v_payload ->> 'reviewDate')::timestamptz);
        update public.verse_cards
           set review_count = review_count + 1,
               correct_count = correct_count + case when (v_payload ->> 'correct')::boolean then 1 else 0 end,
               last_reviewed_at = greatest(last_reviewed_at, (v_payload ->> 'reviewDate')::timestamptz),
               updated_at = now()
         where id = v_card.id;
      end if;

    when 'UPDATE_PROFILE' then
      v_updated_at := (v_payload ->> 'updatedAt')::timestamptz;
      -- Last writer by updatedAt wins; absent fields keep their value.
      insert into public.profiles as p (user_id, display_name, translation, daily_goal, updated_at)
      values (p_user, v_payload ->> 'displayName', v_payload ->> 'translation',
              (v_payload ->> 'dailyGoal')::integer, v_updated_at)
      on conflict (user_id) do update
         set display_name = case when v_payload ? 'displayName' then excluded.display_name else p.display_name end,
             translation = case when v_payload ? 'translation' then excluded.translation else p.translation end,
             daily_goal = case when v_payload ? 'dailyGoal' then excluded.daily_goal else p.daily_goal end,
             updated_at = excluded.updated_at
       where p.updated_at <= excluded.updated_at;
      if not found then
        -- A newer profile is on the server (another device): it stays, and the answer carries
        -- it so the device takes the server's state instead of keeping its older edit.
        return jsonb_build_object('id', p_op ->> 'id', 'success', true, 'appliedAt', now(), 'superseded', true,
          'profile', (select jsonb_strip_nulls(jsonb_build_object('displayName', display_name, 'translation', translation,
                        'dailyGoal', daily_goal, 'updatedAt', to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
                        from public.profiles where user_id = p_user));
      end if;

    when 'CREATE_ALIAS' then
      if coalesce(btrim(v_payload ->> 'alias'), '') = '' then
        perform private.fail('VALIDATION_FAILED', 'CREATE_ALIAS: alias must not be empty');
      end if;
      if not exists (select 1 from public.verse_aliases
                      where id = (v_payload ->> 'aliasId')::uuid
                        and verse_card_id = (v_payload ->> 'verseCardId')::uuid
                        and alias = btrim(v_payload ->> 'alias')) then
        v_card := private.owned_card((v_payload ->> 'verseCardId')::uuid, false);
        insert into public.verse_aliases (id, user_id, verse_card_id, alias)
        values ((v_payload ->> 'aliasId')::uuid, p_user, v_card.id, btrim(v_payload ->> 'alias'));
      end if;

    when 'DELETE_VERSE' then
      v_card := private.owned_card((v_payload ->> 'verseCardId')::uuid, true);
      update public.verse_cards
         set deleted_at = coalesce(deleted_at, now()), updated_at = now()
       where id = v_card.id;

    else
      perform private.fail('UNKNOWN_TYPE', 'this operation type is unknown to the server');
  end case;

  return jsonb_build_object('id', p_op ->> 'id', 'success', true, 'appliedAt', now());
end;
$$;

-- A batch of CREATE_VERSE ops, all new, all valid: { batchId, results } as the loop would
-- answer it. Raises on anything the loop would answer differently (the caller then runs it).
create or replace function private.apply_create_verses(p_user uuid, p_batch_id uuid, p_operations jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_profile_translation text := (select translation from public.profiles where user_id = p_user);
  v_ids text[];
  v_op_ids uuid[];
  v_digests uuid[];
  v_card_ids uuid[];
  v_refs text[];
  v_translations text[];
  v_customs text[];
  v_verse_ids uuid[];
  v_esv_refs text[];
  v_missing_refs text[];
  v_missing_translations text[];
  v_results jsonb;
begin
  -- In the loop's order: seq, then position (one sort; the aggregates read the sorted rows).
  select array_agg(id), array_agg(id::uuid), array_agg(digest), array_agg(card_id), array_agg(reference),
         array_agg(translation), array_agg(custom_text)
    into v_ids, v_op_ids, v_digests, v_card_ids, v_refs, v_translations, v_customs
    from (
      select lower(o.value ->> 'id') as id,
             private.op_digest(o.value) as digest,
             (o.value -> 'payload' ->> 'verseCardId')::uuid as card_id,
             regexp_replace(btrim(o.value -> 'payload' ->> 'reference'), '\s+', ' ', 'g') as reference,
             coalesce(nullif(btrim(o.value -> 'payload' ->> 'translation'), ''), v_profile_translation, 'ESV') as translation,
             o.value -> 'payload' ->> 'customText' as custom_text
        from jsonb_array_elements(p_operations) with ordinality as o(value, ordinality)
       order by (o.value ->> 'seq')::numeric nulls last, o.ordinality
    ) parsed;

  if exists (select 1 from unnest(v_refs, v_card_ids) as u(r, c) where coalesce(r, '') = '' or c is null) then
    raise exception 'apply_create_verses: an op needs the per-op path';
  end if;
  -- A resend (its card or ledger row exists) is not probed for: its insert below raises a
  -- unique violation, which hands the batch to the loop. Probing cost more than a fifth of a
  -- fresh batch, the common case.

  -- ESV-managed verses first (what esv_verse_for gives the loop), then the catalogue's rows,
  -- and ensure_verses only for what it lacks: looking every reference up through ensure_verses
  -- cost 2.5-3x a join (0.8 vs 0.2 ms for 500 references among 500 verses, 2.6 vs 1.1 ms among
  -- 50,000, plpgsql timings).
  select array_agg(r) into v_esv_refs
    from unnest(v_refs, v_translations, v_customs) as u(r, t, c) where upper(t) = 'ESV' and c is null;
  select array_agg(coalesce(e.verse_id, v.id) order by u.i) into v_verse_ids
    from unnest(v_refs, v_translations, v_customs) with ordinality as u(r, t, c, i)
    left join private.esv_verses_for(coalesce(v_esv_refs, '{}')) e
      on e.reference = u.r and upper(u.t) = 'ESV' and u.c is null
    left join public.verses v on e.verse_id is null and v.reference = u.r and v.translation = u.t;
  select array_agg(r), array_agg(t) into v_missing_refs, v_missing_translations
    from unnest(v_refs, v_translations, v_verse_ids) as u(r, t, v) where v is null;
  if v_missing_refs is not null then
    select array_agg(coalesce(u.v, c.id) order by u.i) into v_verse_ids
      from unnest(v_verse_ids, v_refs, v_translations) with ordinality as u(v, r, t, i)
      left join private.ensure_verses(v_missing_refs, v_missing_translations) c
        on u.v is null and c.reference = u.r and c.translation = u.t;
  end if;

  insert into public.verse_cards (id, user_id, verse_id, custom_text)
  select c, p_user, v, t from unnest(v_card_ids, v_verse_ids, v_customs) as u(c, v, t);

  with answered as (
    -- Built without nulls (stripping them cost ~0.4 ms of a 500-op batch); jsonb orders its
    -- keys itself, so both shapes are the ones the loop answers.
    select u.i, u.op_id, u.digest,
           case when v.text_status is null then
             jsonb_build_object('id', u.id, 'success', true, 'remoteId', u.verse_id, 'appliedAt', now())
           else
             jsonb_build_object('id', u.id, 'success', true, 'remoteId', u.verse_id, 'appliedAt', now(),
               'verse', jsonb_strip_nulls(jsonb_build_object(
                 'reference', v.reference,
                 'text', v.text,
                 'textPending', case when v.text_status = 'ready' then null else true end)))
           end as result
      from unnest(v_ids, v_op_ids, v_digests, v_verse_ids) with ordinality as u(id, op_id, digest, verse_id, i)
      join public.verses v on v.id = u.verse_id
  ), ledger as (
    insert into public.sync_ledger (op_id, user_id, batch_id, type, digest, result)
    select op_id, p_user, p_batch_id, 'CREATE_VERSE', digest, result from answered
  )
  select jsonb_agg(result order by i) into v_results from answered;

  if coalesce(jsonb_array_length(v_results), 0) <> cardinality(v_ids) then
    raise exception 'apply_create_verses: not every op was answered';
  end if;
  return jsonb_build_object('batchId', p_batch_id, 'results', v_results);
end;
$$;

-- A batch of RECORD_REVIEW ops, all new, on the caller's live cards: the reviews, the cards'
-- counters and the ledger in one statement each, answered as the loop would. Raises on
-- anything else (the caller then runs the loop).
-- Planned afresh on every call: the generic plan plpgsql switches to after five calls reads
-- every card of the user for a batch's reviews, so a batch's cost grew with the user's cards.
create or replace function private.apply_record_reviews(p_user uuid, p_batch_id uuid, p_operations jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  v_ids text[];
  v_op_ids uuid[];
  v_digests uuid[];
  v_review_ids uuid[];
  v_card_ids uuid[];
  v_corrects boolean[];
  v_dates timestamptz[];
  v_cards integer;
  v_results jsonb;
begin
  -- In the loop's order: seq, then position (one sort; the aggregates read the sorted rows).
  select array_agg(lower(value ->> 'id')), array_agg((value ->> 'id')::uuid), array_agg(private.op_digest(value)),
         array_agg((value -> 'payload' ->> 'reviewId')::uuid), array_agg((value -> 'payload' ->> 'verseCardId')::uuid),
         array_agg((value -> 'payload' ->> 'correct')::boolean), array_agg((value -> 'payload' ->> 'reviewDate')::timestamptz)
    into v_ids, v_op_ids, v_digests, v_review_ids, v_card_ids, v_corrects, v_dates
    from (select o.value from jsonb_array_elements(p_operations) with ordinality as o(value, ordinality)
           order by (o.value ->> 'seq')::numeric nulls last, o.ordinality) sorted;

  if array_position(v_op_ids, null) is not null or array_position(v_review_ids, null) is not null
     or array_position(v_card_ids, null) is not null or array_position(v_corrects, null) is not null
     or array_position(v_dates, null) is not null then
    raise exception 'apply_record_reviews: an op needs the per-op path';
  end if;
  -- A resend is not probed for, as in apply_create_verses: its review or ledger insert raises.
  -- The cards, locked as the loop locks them; every one must be the caller's and live.
  -- Looked up card by card (a lateral probe by id, kept apart by offset 0): as a join, the
  -- statistics of a user whose cards had just grown tenfold made it a nested loop of every card
  -- of the user against every id.
  select count(*) into v_cards
    from (select distinct d from unnest(v_card_ids) d) u
    cross join lateral (select c.id from public.verse_cards c
                         where c.id = u.d and c.deleted_at is null offset 0 for update) live;
  if v_cards <> (select count(distinct c) from unnest(v_card_ids) c) then
    raise exception 'apply_record_reviews: a card needs the per-op path';
  end if;

  insert into public.review_logs (id, user_id, verse_card_id, correct, review_date)
  select r, p_user, c, k, d from unnest(v_review_ids, v_card_ids, v_corrects, v_dates) as u(r, c, k, d);
  update public.verse_cards v
     set review_count = v.review_count + a.reviews,
         correct_count = v.correct_count + a.correct,
         last_reviewed_at = greatest(v.last_reviewed_at, a.latest),
         updated_at = now()
    from (select c, count(*)::integer as reviews, (count(*) filter (where k))::integer as correct, max(d) as latest
            from unnest(v_card_ids, v_corrects, v_dates) as u(c, k, d) group by c) a
   where v.id = a.c;
  with answered as (
    select u.i, u.op_id, u.digest, jsonb_build_object('id', u.id, 'success', true, 'appliedAt', now()) as result
      from unnest(v_ids, v_op_ids, v_digests) with ordinality as u(id, op_id, digest, i)
  ), ledger as (
    insert into public.sync_ledger (op_id, user_id, batch_id, type, digest, result)
    select op_id, p_user, p_batch_id, 'RECORD_REVIEW', digest, result from answered
  )
  select jsonb_agg(result order by i) into v_results from answered;
  return jsonb_build_object('batchId', p_batch_id, 'results', v_results);
end;
$$;

create or replace function public.apply_batch(p_batch_id uuid, p_operations jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_user uuid := auth.uid();
  v_type text;
  v_op jsonb;
  v_op_id uuid;
  v_digest uuid;
  v_recorded uuid;
  v_result jsonb;
  v_results jsonb[] := '{}';
  v_added integer := 0;
  v_state text;
  v_message text;
  v_hint text;
  v_constraint text;
begin
  if v_user is null then
    raise exception using errcode = '28000', message = 'apply_batch needs a signed-in user';
  end if;
  if p_batch_id is null or jsonb_typeof(p_operations) is distinct from 'array' then
    raise exception using errcode = '22023', message = 'apply_batch needs a batch id and an array of operations';
  end if;

  -- The caller's lock for the transaction: one user's batches apply one at a time. An advisory
  -- lock on the user id writes nothing (a row lock would dirty a page every batch).
  perform pg_advisory_xact_lock(hashtextextended('sync_ledger:' || v_user::text, 0));

  -- A batch of one type that is the volume goes set-based; if any op would fail, that attempt
  -- is rolled back and the loop below answers each op on its own.
  v_type := p_operations -> 0 ->> 'type';
  if jsonb_array_length(p_operations) > 1 and v_type in ('CREATE_VERSE', 'RECORD_REVIEW')
     and not exists (select 1 from jsonb_array_elements(p_operations) e where e ->> 'type' is distinct from v_type) then
    begin
      if v_type = 'CREATE_VERSE' then
        v_result := private.apply_create_verses(v_user, p_batch_id, p_operations);
      else
        v_result := private.apply_record_reviews(v_user, p_batch_id, p_operations);
      end if;
      perform private.ledger_leave(jsonb_array_length(p_operations));
      return v_result;
    exception when others then
      null; -- the loop answers each op on its own
    end;
  end if;

  for v_op in
    select value from jsonb_array_elements(p_operations) with ordinality as o(value, ordinality)
    order by (value ->> 'seq')::numeric nulls last, ordinality
  loop
    begin
      v_op_id := (v_op ->> 'id')::uuid;
    exception when others then
      v_results := v_results || jsonb_build_object('id', v_op ->> 'id', 'success', false,
        'error', jsonb_build_object('code', 'VALIDATION_FAILED', 'message', 'operation id must be a UUID', 'retryable', false));
      continue;
    end;
    -- The canonical form (lowercase), so 'A1…' and 'a1…' are one op in the ledger and the answer.
    if v_op ->> 'id' <> v_op_id::text then
      v_op := jsonb_set(v_op, '{id}', to_jsonb(v_op_id::text));
    end if;
    v_digest := private.op_digest(v_op);

    select result, digest into v_result, v_recorded from public.sync_ledger where op_id = v_op_id;
    if found then
      v_results := v_results || case when v_recorded = v_digest then v_result else
        jsonb_build_object('id', v_op ->> 'id', 'success', false,
          'error', private.classify_error('23505', null, null, 'sync_ledger_pkey')) end;
      continue;
    end if;

    begin
      v_result := private.apply_operation(v_user, v_op);
      insert into public.sync_ledger (op_id, user_id, batch_id, type, digest, result)
      values (v_op_id, v_user, p_batch_id, v_op ->> 'type', v_digest, v_result);
      v_added := v_added + 1;
    exception when others then
      get stacked diagnostics
        v_state = returned_sqlstate, v_message = message_text,
        v_hint = pg_exception_hint, v_constraint = constraint_name;
      v_result := jsonb_build_object('id', v_op ->> 'id', 'success', false,
        'error', private.classify_error(v_state, v_message, v_hint, v_constraint));
    end;
    v_results := v_results || v_result;
  end loop;

  perform private.ledger_leave(v_added);
  return jsonb_build_object('batchId', p_batch_id, 'results', to_jsonb(v_results));
end;
$$;

revoke all on function private.fail(text, text) from public;
revoke all on function private.classify_error(text, text, text, text) from public;
revoke all on function private.op_digest(jsonb) from public;
revoke all on function private.ledger_leave(integer) from public;
revoke all on function private.owned_card(uuid, boolean) from public;
revoke all on function private.created_verse_result(text, uuid) from public;
revoke all on function private.apply_operation(uuid, jsonb) from public;
revoke all on function private.apply_create_verses(uuid, uuid, jsonb) from public;
revoke all on function private.apply_record_reviews(uuid, uuid, jsonb) from public;
revoke all on function public.apply_batch(uuid, jsonb) from public, anon;
grant execute on function private.fail(text, text) to authenticated;
grant execute on function private.classify_error(text, text, text, text) to authenticated;
grant execute on function private.op_digest(jsonb) to authenticated;
grant execute on function private.ledger_leave(integer) to authenticated;
grant execute on function private.owned_card(uuid, boolean) to authenticated;
grant execute on function private.created_verse_result(text, uuid) to authenticated;
grant execute on function private.apply_operation(uuid, jsonb) to authenticated;
grant execute on function private.apply_create_verses(uuid, uuid, jsonb) to authenticated;
grant execute on function private.apply_record_reviews(uuid, uuid, jsonb) to authenticated;
grant execute on function public.apply_batch(uuid, jsonb) to authenticated;
