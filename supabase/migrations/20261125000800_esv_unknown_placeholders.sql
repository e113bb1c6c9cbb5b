-- verses-sync: a placeholder the ESV later answers "no such passage" for stops waiting.
--
-- A CREATE_VERSE made while the ESV was out of reach lands on a pending placeholder; if the
-- ESV then does not know the reference, refilling it would cost a query with every batch of
-- that user, forever. An 'unknown' entry makes the placeholder a plain catalogue row (no
-- ESV text) and forgets the key, so the next CREATE_VERSE of that reference is checked anew.
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

revoke all on function private.esv_forget(text[]) from public;
