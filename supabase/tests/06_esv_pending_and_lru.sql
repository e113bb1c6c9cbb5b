-- ESV text in the catalogue: references as typed share the canonical verse, a pending
-- placeholder moves its cards to the canonical verse when the text arrives, the storage cap
-- evicts the least recently used text (never a card's customText), and users cannot write
-- what the function records.
begin;
select plan(17);

update private.esv_settings set storage_cap = 500;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';

-- The function records the ESV's answer for 'jn3.16' and, ESV down, a placeholder for 'JOHN 3 16'.
select private.esv_record('11111111-1111-4111-8111-111111111111', $j$[{"key":"jn3.16","status":"ready","reference":"John 3:16","text":"For God so loved the world (ESV)"},
                             {"key":"JOHN 3 16","status":"pending"}]$j$);
select is((select count(*)::int from public.verses where reference in ('John 3:16', 'JOHN 3 16')), 2, 'a canonical verse and a placeholder');

set local role authenticated;
select is(public.apply_batch('b0000000-0000-4000-8000-000000000001', $j$[
  {"id":"0e000000-0000-4000-8000-000000000001","seq":1,"type":"CREATE_VERSE","payload":{"verseCardId":"ce000000-0000-4000-8000-000000000001","reference":"jn3.16"}},
  {"id":"0e000000-0000-4000-8000-000000000002","seq":2,"type":"CREATE_VERSE","payload":{"verseCardId":"ce000000-0000-4000-8000-000000000002","reference":"JN3.16"}},
  {"id":"0e000000-0000-4000-8000-000000000003","seq":3,"type":"CREATE_VERSE","payload":{"verseCardId":"ce000000-0000-4000-8000-000000000003","reference":"JOHN 3 16"}},
  {"id":"0e000000-0000-4000-8000-000000000004","seq":4,"type":"CREATE_VERSE","payload":{"verseCardId":"ce000000-0000-4000-8000-000000000004","reference":"jn3.16","customText":"my words"}}
]$j$) -> 'results' -> 0 -> 'verse', '{"reference":"John 3:16","text":"For God so loved the world (ESV)"}'::jsonb,
  'CREATE_VERSE answers with the canonical reference and the ESV text');
select is((select verse_id from public.verse_cards where id = 'ce000000-0000-4000-8000-000000000002'),
          (select verse_id from public.verse_cards where id = 'ce000000-0000-4000-8000-000000000001'),
  'another spelling of a known reference lands on the same verse');
select is((select v.text_status from public.verse_cards c join public.verses v on v.id = c.verse_id where c.id = 'ce000000-0000-4000-8000-000000000003'),
  'pending', 'a reference the ESV could not be asked about lands on a pending placeholder');
select is((select result -> 'verse' from public.sync_ledger where op_id = '0e000000-0000-4000-8000-000000000003'),
  '{"reference":"JOHN 3 16","textPending":true}'::jsonb, 'and its result says the text is pending');
select is((select result -> 'verse' from public.sync_ledger where op_id = '0e000000-0000-4000-8000-000000000004'), null,
  'a card with customText does not take ESV text');

-- Users can neither record ESV answers nor read the reference map.
select throws_ok($$ select private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"x 1:1","status":"ready","reference":"X 1:1","text":"injected"}]') $$,
  '42501', null, 'authenticated may not record ESV text');
select throws_ok($$ select * from private.esv_references $$, '42501', null, 'authenticated may not read the reference map');
select throws_ok($$ update public.verses set text = 'injected' $$, '42501', null, 'authenticated may not write catalogue text');
reset role;

select is((select reference from private.esv_waiting_for('11111111-1111-4111-8111-111111111111', 10)), 'JOHN 3 16',
  'the placeholder waits for text for its user');
-- The ESV answers later: the placeholder's card moves to the canonical verse and the placeholder goes.
select private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"JOHN 3 16","status":"ready","reference":"John 3:16","text":"For God so loved the world (ESV)"}]');
select is((select v.reference from public.verse_cards c join public.verses v on v.id = c.verse_id where c.id = 'ce000000-0000-4000-8000-000000000003'),
  'John 3:16', 'the card now names the canonical verse');
select is((select count(*)::int from public.verses where reference = 'JOHN 3 16'), 0, 'the placeholder is gone');
select is((select count(*)::int from private.esv_waiting_for('11111111-1111-4111-8111-111111111111', 10)), 0, 'nothing waits any more');

-- The cap: three texts used at known times, a cap of 2 evicts the least recently used.
update public.verses set text_status = null where text_status is not null and reference <> 'John 3:16';
select private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"Ps 23:1","status":"ready","reference":"Psalm 23:1","text":"The LORD is my shepherd (ESV)"},
                            {"key":"Rom 8:28","status":"ready","reference":"Romans 8:28","text":"And we know (ESV)"}]');
update public.verses set text_used_at = case reference when 'John 3:16' then '2026-01-01'::timestamptz when 'Psalm 23:1' then '2026-01-03'::timestamptz else '2026-01-02'::timestamptz end
 where text_status = 'ready';
update public.verses set text_status = null where text_status = 'ready' and reference not in ('John 3:16', 'Psalm 23:1', 'Romans 8:28');
select is(private.esv_enforce_cap(2), 1, 'a cap of 2 over 3 texts evicts one');
select is((select text_status || ':' || coalesce(text, '-') from public.verses where reference = 'John 3:16'), 'evicted:-',
  'the least recently used text went');
select is((select custom_text from public.verse_cards where id = 'ce000000-0000-4000-8000-000000000004'), 'my words',
  'a customText on a card of the evicted verse stays');
-- Asked again later, the text comes back under the same verse.
select private.esv_record('11111111-1111-4111-8111-111111111111', '[{"key":"jn3.16","status":"ready","reference":"John 3:16","text":"For God so loved the world (ESV)"}]');
select is((select text_status from public.verses where reference = 'John 3:16'), 'ready', 'evicted text fetched again is ready');

select * from finish();
rollback;
