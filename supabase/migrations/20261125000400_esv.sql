-- verses-sync: verse text from the ESV API.
--
-- The function (never the client) talks to the ESV: before apply_batch it resolves the
-- batch's new references in one ESV query and records the answers here, as the database
-- owner, in private tables no user can write. apply_batch then only reads them, so the
-- RPC's transaction holds no HTTP and a client payload can never inject "ESV text".
--
--   private.esv_references  a reference as typed (its key) → the catalogue verse it names,
--                           so 'jn3.16', 'John 3:16' and 'john 3 16' share one verses row
--   verses.text_status      'ready' (ESV text stored), 'pending' (ESV not reached yet),
--                           'evicted' (dropped by the storage cap); null: not ESV-managed
--   private.esv_calls       one row per ESV query of every function instance: the shared
--                           sliding-window limiter (60/min, 1,000/h, 5,000/day)

alter table public.verses
  add column text_status text check (text_status in ('ready', 'pending', 'evicted')),
  add column text_used_at timestamptz;
create index verses_esv_lru_idx on public.verses (text_used_at) where text_status = 'ready';

-- The key of a reference as typed: what apply_operation stores, lower-cased.
create or replace function private.reference_key(p_reference text)
returns text
language sql
immutable
as $$
  select lower(regexp_replace(btrim(p_reference), '\s+', ' ', 'g'));
$$;

create table private.esv_references (
  key text primary key,
  verse_id uuid not null references public.verses (id) on delete cascade
);
create index esv_references_verse_id_idx on private.esv_references (verse_id);

create table private.esv_settings (
  id boolean primary key default true check (id),
  per_minute integer not null default 60 check (per_minute > 0),
  per_hour integer not null default 1000 check (per_hour > 0),
  per_day integer not null default 5000 check (per_day > 0),
  storage_cap integer not null default 500 check (storage_cap >= 0),
  -- Set when the ESV answered 429: no instance asks again before this.
  blocked_until timestamptz
);
insert into private.esv_settings default values;

create table private.esv_calls (
  id bigserial primary key,
  at timestamptz not null
);
create index esv_calls_at_idx on private.esv_calls (at);

-- Takes one ESV query from the shared budget, or says how long to wait. The settings row
-- is locked for the call, so concurrent instances queue here and never overspend.
create or replace function private.esv_take_token(p_at timestamptz default null)
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
         count(*)
    into v_minute, v_hour, v_day
    from private.esv_calls;
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
  insert into private.esv_calls (at) values (p_at);
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

-- Records the ESV's answers for references as typed. p_entries: [{ key, reference, status,
-- text? }] where status 'ready' carries the ESV's canonical reference and text, and 'pending'
-- the reference as typed (the ESV was not reached). Returns { key: verse id } for every entry.
-- Evicted text a new card asks for while the ESV is out of reach (budget spent, 429, down)
-- becomes 'pending' again, so the user's next batch fetches it (not only never-fetched text).
create or replace function private.esv_record(p_entries jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_entry jsonb;
  v_key text;
  v_verse uuid;
  v_old uuid;
  v_out jsonb := '{}'::jsonb;
begin
  for v_entry in select value from jsonb_array_elements(p_entries) loop
    v_key := private.reference_key(v_entry ->> 'key');
    select verse_id into v_old from private.esv_references where key = v_key;
    if v_entry ->> 'status' = 'ready' then
      insert into public.verses as v (reference, translation, text, text_status, text_used_at)
      values (v_entry ->> 'reference', 'ESV', v_entry ->> 'text', 'ready', now())
      on conflict (reference, translation) do update
         set text = excluded.text, text_status = 'ready', text_used_at = now()
      returning id into v_verse;
      if v_old is not null and v_old <> v_verse then
        -- The key named a placeholder while the ESV was out of reach: its cards and keys
        -- move to the canonical verse, and the placeholder goes.
        update public.verse_cards set verse_id = v_verse where verse_id = v_old;
        update private.esv_references set verse_id = v_verse where verse_id = v_old;
        delete from public.verses where id = v_old and text_status is distinct from 'ready';
      end if;
    else
      if v_old is not null then
        v_verse := v_old;
        -- Evicted text asked for again while the ESV is out of reach now waits like new text.
        update public.verses set text_status = 'pending' where id = v_old and text_status = 'evicted';
      else
        insert into public.verses as v (reference, translation, text_status)
        values (regexp_replace(btrim(v_entry ->> 'key'), '\s+', ' ', 'g'), 'ESV', 'pending')
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

-- Verses whose ESV text one user's live cards never got (pending), oldest first. Evicted
-- text is not refilled here: its cards had it once, and the next CREATE_VERSE fetches it again.
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
     and exists (select 1 from public.verse_cards c where c.verse_id = v.id and c.user_id = p_user and c.deleted_at is null)
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

-- CREATE_VERSE without customText in the ESV translation takes the verse the function
-- resolved for its reference (canonical, with text or pending), and its result tells the
-- client the verse's text or that it is pending. Everything else is as before.
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
  v_verse public.verses;
  v_remote_id uuid;
  v_updated_at timestamptz;
  v_verse_result jsonb;
begin
  case v_type
    when 'CREATE_VERSE' then
      v_reference := regexp_replace(btrim(v_payload ->> 'reference'), '\s+', ' ', 'g');
      if coalesce(v_reference, '') = '' then
        perform private.fail('VALIDATION_FAILED', 'CREATE_VERSE: reference must not be empty');
      end if;
      v_translation := coalesce(
        nullif(btrim(v_payload ->> 'translation'), ''),
        (select translation from public.profiles where user_id = p_user),
        'ESV');
      if upper(v_translation) = 'ESV' and v_payload ->> 'customText' is null then
        v_verse_id := private.esv_verse_for(v_reference);
      end if;
      if v_verse_id is null then
        v_verse_id := private.ensure_verse(v_reference, v_translation);
      end if;
      insert into public.verse_cards (id, user_id, verse_id, custom_text)
      values ((v_payload ->> 'verseCardId')::uuid, p_user, v_verse_id, v_payload ->> 'customText');
      v_remote_id := v_verse_id;
      select * into v_verse from public.verses where id = v_verse_id;
      if v_verse.text_status is not null then
        v_verse_result := jsonb_strip_nulls(jsonb_build_object(
          'reference', v_verse.reference,
          'text', v_verse.text,
          'textPending', case when v_verse.text_status = 'ready' then null else true end));
      end if;

    when 'RECORD_REVIEW' then
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

    when 'UPDATE_PROFILE' then
      v_updated_at := (v_payload ->> 'updatedAt')::timestamptz;
      insert into public.profiles as p (user_id, display_name, translation, daily_goal, updated_at)
      values (p_user, v_payload ->> 'displayName', v_payload ->> 'translation',
              (v_payload ->> 'dailyGoal')::integer, v_updated_at)
      on conflict (user_id) do update
         set display_name = case when v_payload ? 'displayName' then excluded.display_name else p.display_name end,
             translation = case when v_payload ? 'translation' then excluded.translation else p.translation end,
             daily_goal = case when v_payload ? 'dailyGoal' then excluded.daily_goal else p.daily_goal end,
             updated_at = excluded.updated_at
       where p.updated_at <= excluded.updated_at;

    when 'CREATE_ALIAS' then
      v_card := private.owned_card((v_payload ->> 'verseCardId')::uuid, false);
      if coalesce(btrim(v_payload ->> 'alias'), '') = '' then
        perform private.fail('VALIDATION_FAILED', 'CREATE_ALIAS: alias must not be empty');
      end if;
      insert into public.verse_aliases (id, user_id, verse_card_id, alias)
      values ((v_payload ->> 'aliasId')::uuid, p_user, v_card.id, btrim(v_payload ->> 'alias'));

    when 'DELETE_VERSE' then
      v_card := private.owned_card((v_payload ->> 'verseCardId')::uuid, true);
      update public.verse_cards
         set deleted_at = coalesce(deleted_at, now()), updated_at = now()
       where id = v_card.id;

    else
      perform private.fail('UNKNOWN_TYPE', format('unknown operation type %L', v_type));
  end case;

  return jsonb_strip_nulls(jsonb_build_object(
    'id', p_op ->> 'id',
    'success', true,
    'remoteId', v_remote_id,
    'verse', v_verse_result,
    'appliedAt', now()));
end;
$$;

revoke all on table private.esv_references, private.esv_settings, private.esv_calls from public, anon, authenticated;
revoke all on function private.reference_key(text) from public;
revoke all on function private.esv_take_token(timestamptz) from public;
revoke all on function private.esv_throttled(integer, timestamptz) from public;
revoke all on function private.esv_record(jsonb) from public;
revoke all on function private.esv_known(text[]) from public;
revoke all on function private.esv_waiting_for(uuid, integer) from public;
revoke all on function private.esv_enforce_cap(integer) from public;
revoke all on function private.esv_verse_for(text) from public;
revoke all on function private.apply_operation(uuid, jsonb) from public;
-- A user may only look a reference up (and mark it used); the budget, the recording of ESV
-- answers and eviction belong to the function's own connection.
grant execute on function private.reference_key(text) to authenticated;
grant execute on function private.esv_verse_for(text) to authenticated;
grant execute on function private.apply_operation(uuid, jsonb) to authenticated;
