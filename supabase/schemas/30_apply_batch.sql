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
