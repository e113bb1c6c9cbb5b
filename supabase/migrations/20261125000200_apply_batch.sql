-- verses-sync: the exactly-once batch RPC.
--
-- public.apply_batch applies a batch's operations in seq order, each under its
-- own savepoint (a plpgsql exception block), so one failing operation gets its
-- own error and the rest commit. Every applied operation is written to
-- sync_ledger in the same subtransaction; a replayed operation id returns the
-- recorded result and changes nothing. Failed operations are not recorded: they
-- wrote nothing, so running them again is harmless and a user's retry works.
-- Everything runs with the caller's rights: RLS and auth.uid() decide whose rows.

-- The catalogue is shared, so users may not insert into it directly.
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

-- Raises the application error `code` (carried in HINT) with a message a person can act on.
create or replace function private.fail(p_code text, p_message text)
returns void
language plpgsql
as $$
begin
  raise exception using errcode = 'P0001', message = p_message, hint = p_code;
end;
$$;

-- Maps an error caught around one operation to { code, message, retryable }.
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
      jsonb_build_object('code', 'DUPLICATE_ID', 'message', p_message, 'retryable', false)
    when p_state = '23503' then
      jsonb_build_object('code', 'REFERENCE_NOT_FOUND', 'message', p_message, 'retryable', false)
    when p_state = '42501' then
      jsonb_build_object('code', 'FORBIDDEN', 'message', p_message, 'retryable', false)
    when left(p_state, 2) = '23' then
      jsonb_build_object('code', 'CONSTRAINT_VIOLATION', 'message', p_message, 'retryable', false)
    when left(p_state, 2) = '22' then
      jsonb_build_object('code', 'INVALID_VALUE', 'message', p_message, 'retryable', false)
    when left(p_state, 2) in ('40', '53', '55', '57', '58') then
      jsonb_build_object('code', 'TRANSIENT', 'message', p_message, 'retryable', true)
    else
      jsonb_build_object('code', 'APPLY_FAILED', 'message', p_message, 'retryable', false)
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
    perform private.fail('CARD_NOT_FOUND', format('verse card %s does not exist', p_card_id));
  end if;
  if v_card.deleted_at is not null and not p_allow_deleted then
    perform private.fail('CARD_DELETED', format('verse card %s was deleted', p_card_id));
  end if;
  return v_card;
end;
$$;

-- Applies one operation for p_user; returns its success result. Raises on failure.
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
  v_remote_id uuid;
  v_updated_at timestamptz;
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
      v_verse_id := private.ensure_verse(v_reference, v_translation);
      insert into public.verse_cards (id, user_id, verse_id, custom_text)
      values ((v_payload ->> 'verseCardId')::uuid, p_user, v_verse_id, v_payload ->> 'customText');
      v_remote_id := v_verse_id;

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
    'appliedAt', now()));
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
  v_op jsonb;
  v_op_id uuid;
  v_result jsonb;
  v_results jsonb := '[]'::jsonb;
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

  for v_op in
    select value from jsonb_array_elements(p_operations) with ordinality as o(value, ordinality)
    order by (value ->> 'seq')::numeric nulls last, ordinality
  loop
    begin
      v_op_id := (v_op ->> 'id')::uuid;
    exception when others then
      v_results := v_results || jsonb_build_array(jsonb_build_object('id', v_op ->> 'id', 'success', false,
        'error', jsonb_build_object('code', 'VALIDATION_FAILED', 'message', 'operation id must be a UUID', 'retryable', false)));
      continue;
    end;

    select result into v_result from public.sync_ledger where op_id = v_op_id;
    if found then
      v_results := v_results || jsonb_build_array(v_result);
      continue;
    end if;

    begin
      v_result := private.apply_operation(v_user, v_op);
      insert into public.sync_ledger (op_id, user_id, batch_id, type, result)
      values (v_op_id, v_user, p_batch_id, v_op ->> 'type', v_result);
    exception when others then
      get stacked diagnostics
        v_state = returned_sqlstate, v_message = message_text,
        v_hint = pg_exception_hint, v_constraint = constraint_name;
      v_result := null;
      -- A resend that raced the original request waited for it to commit and then
      -- hit its rows: the ledger now holds the original's result, which is the answer.
      if v_state = '23505' then
        select result into v_result from public.sync_ledger where op_id = v_op_id;
      end if;
      if v_result is null then
        v_result := jsonb_build_object('id', v_op ->> 'id', 'success', false,
          'error', private.classify_error(v_state, v_message, v_hint, v_constraint));
      end if;
    end;
    v_results := v_results || jsonb_build_array(v_result);
  end loop;

  return jsonb_build_object('batchId', p_batch_id, 'results', v_results);
end;
$$;

revoke all on function private.ensure_verse(text, text) from public;
revoke all on function private.fail(text, text) from public;
revoke all on function private.classify_error(text, text, text, text) from public;
revoke all on function private.owned_card(uuid, boolean) from public;
revoke all on function private.apply_operation(uuid, jsonb) from public;
revoke all on function public.apply_batch(uuid, jsonb) from public, anon;

grant usage on schema private to authenticated;
grant execute on function private.ensure_verse(text, text) to authenticated;
grant execute on function private.fail(text, text) to authenticated;
grant execute on function private.classify_error(text, text, text, text) to authenticated;
grant execute on function private.owned_card(uuid, boolean) to authenticated;
grant execute on function private.apply_operation(uuid, jsonb) to authenticated;
grant execute on function public.apply_batch(uuid, jsonb) to authenticated;
