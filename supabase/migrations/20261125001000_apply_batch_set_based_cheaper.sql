-- verses-sync: the set-based bulk path, cheaper.
--
-- Timed statement by statement on PostgreSQL 15 here (a 500-op CREATE_VERSE batch, catalogue
-- rows already present, 18.5 ms in all): parsing the ops sorted them six times (2.4 ms), and
-- ensure_verses sent every pair through INSERT ... ON CONFLICT DO NOTHING (3.6 ms) though
-- nearly all exist. Now the ops are sorted once, and only the missing pairs are inserted.

-- Only the pairs the catalogue lacks go to INSERT (an ON CONFLICT probe per row costs more
-- than one anti-join); a racing insert of the same pair is still absorbed by ON CONFLICT.
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

create or replace function private.apply_create_verses(p_user uuid, p_batch_id uuid, p_operations jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_profile_translation text := (select translation from public.profiles where user_id = p_user);
  v_ids text[];          -- op ids as sent (the loop answers with them)
  v_op_ids uuid[];
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
  select array_agg(id), array_agg(id::uuid), array_agg(card_id), array_agg(reference), array_agg(translation), array_agg(custom_text)
    into v_ids, v_op_ids, v_card_ids, v_refs, v_translations, v_customs
    from (
      select o.value ->> 'id' as id,
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
  if exists (select 1 from public.sync_ledger where op_id = any (v_op_ids)) then
    raise exception 'apply_create_verses: a replayed op needs the per-op path';
  end if;

  -- ESV-managed verses first (what esv_verse_for gives the loop), then the catalogue.
  select array_agg(r) into v_esv_refs
    from unnest(v_refs, v_translations, v_customs) as u(r, t, c) where upper(t) = 'ESV' and c is null;
  select array_agg(e.verse_id order by u.i) into v_verse_ids
    from unnest(v_refs, v_translations, v_customs) with ordinality as u(r, t, c, i)
    left join private.esv_verses_for(coalesce(v_esv_refs, '{}')) e
      on e.reference = u.r and upper(u.t) = 'ESV' and u.c is null;
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
    select u.i, u.op_id,
           jsonb_strip_nulls(jsonb_build_object(
             'id', u.id,
             'success', true,
             'remoteId', u.verse_id,
             'verse', case when v.text_status is not null then jsonb_strip_nulls(jsonb_build_object(
                 'reference', v.reference,
                 'text', v.text,
                 'textPending', case when v.text_status = 'ready' then null else true end)) end,
             'appliedAt', now())) as result
      from unnest(v_ids, v_op_ids, v_verse_ids) with ordinality as u(id, op_id, verse_id, i)
      join public.verses v on v.id = u.verse_id
  ), ledger as (
    insert into public.sync_ledger (op_id, user_id, batch_id, type, result)
    select op_id, p_user, p_batch_id, 'CREATE_VERSE', result from answered
  )
  select jsonb_agg(result order by i) into v_results from answered;

  if coalesce(jsonb_array_length(v_results), 0) <> cardinality(v_ids) then
    raise exception 'apply_create_verses: not every op was answered';
  end if;
  return jsonb_build_object('batchId', p_batch_id, 'results', v_results);
end;
$$;
