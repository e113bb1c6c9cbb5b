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
