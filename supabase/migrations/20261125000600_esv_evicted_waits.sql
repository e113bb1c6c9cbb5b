-- verses-sync: evicted ESV text that a new card asks for while the ESV is out of reach
-- (budget spent, 429, down) becomes 'pending', so the user's next batch fetches it again;
-- before, only never-fetched text was refilled and such a card stayed without text.

-- Records the ESV's answers for references as typed. p_entries: [{ key, reference, status,
-- text? }] where status 'ready' carries the ESV's canonical reference and text, and 'pending'
-- the reference as typed (the ESV was not reached). Returns { key: verse id } for every entry.
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
